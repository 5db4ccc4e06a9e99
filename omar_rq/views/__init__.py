"""Input views: audio ``(B, T)`` → features ``(B, F, frames)``, each with the exact numerics of the released models."""
from .base import View, z_normalise
from .cqt import CQT
from .encodec import EnCodec
from .melspectrogram import MelSpectrogram
from .waveform import Waveform

__all__ = ["View", "Waveform", "MelSpectrogram", "CQT", "EnCodec", "z_normalise"]
