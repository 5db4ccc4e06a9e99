"""Decoding audio files (benchmarks and pretraining): mono float32 at the model's rate, with errors that name file and cause.

Every dataset goes through :func:`load_audio`, so a corrupt, empty or truncated file is reported the same way
everywhere (:class:`AudioLoadError`) and the caller can skip it and list it in the result record.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import soundfile as sf
import torch

from .resample import resample

__all__ = ["AudioLoadError", "load_audio", "audio_info", "AUDIO_EXTENSIONS", "TRUNCATION_TOLERANCE"]

AUDIO_EXTENSIONS = (".wav", ".mp3", ".flac", ".au", ".ogg", ".aiff", ".aif")

#: A file whose decoded length falls short of its header's declared length by more than this fraction is truncated.
TRUNCATION_TOLERANCE = 0.05


class AudioLoadError(Exception):
    """An audio file could not be used; ``path`` and ``reason`` say which and why."""

    def __init__(self, path: str | os.PathLike, reason: str):
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")


def _check_file(path: Path) -> None:
    if not path.is_file():
        raise AudioLoadError(path, "file not found")
    if path.stat().st_size == 0:
        raise AudioLoadError(path, "empty file (0 bytes)")


def _undecodable(path: Path, error: Exception) -> AudioLoadError:
    return AudioLoadError(path, f"not a decodable audio file ({path.stat().st_size} bytes; libsndfile: {error})")


def audio_info(path: str | os.PathLike):
    """The header (``soundfile`` info: ``frames``, ``samplerate``, ``channels``) of a usable-looking audio file, with
    the checks of :func:`load_audio` that need no decoding; raises :class:`AudioLoadError`."""
    path = Path(path)
    _check_file(path)
    try:
        info = sf.info(str(path))
    except (sf.LibsndfileError, RuntimeError, TypeError, ValueError) as e:
        raise _undecodable(path, e) from None
    if info.frames <= 0:
        raise AudioLoadError(path, "no audio samples (0 frames)")
    return info


def load_audio(path: str | os.PathLike, sr: int, mono: bool = True, min_seconds: float = 0.0) -> torch.Tensor:
    """Decode ``path`` to a float32 tensor ``(T,)`` (mono) or ``(C, T)`` at ``sr`` Hz.

    Channels are averaged for mono; resampling uses the sinc kernel of :mod:`omar_rq.resample`. Raises
    :class:`AudioLoadError` for a missing, undecodable, empty, truncated (decoded length short of the header's by more
    than :data:`TRUNCATION_TOLERANCE`) or non-finite file, or one shorter than ``min_seconds``.
    """
    path = Path(path)
    _check_file(path)
    try:
        with sf.SoundFile(str(path)) as f:  # one open: the header's length and the samples
            declared, file_sr = f.frames, f.samplerate
            data = f.read(dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError, TypeError, ValueError) as e:
        raise _undecodable(path, e) from None
    if data.shape[0] == 0:
        raise AudioLoadError(path, "no audio samples (0 frames)")
    if declared > 0 and data.shape[0] < (1 - TRUNCATION_TOLERANCE) * declared:
        raise AudioLoadError(path, f"truncated: decoded {data.shape[0] / file_sr:.2f} s of the "
                                   f"{declared / file_sr:.2f} s its header declares")
    if not np.isfinite(data).all():
        raise AudioLoadError(path, "contains NaN or infinite samples")
    x = torch.from_numpy(np.ascontiguousarray(data.T))  # (C, T)
    if mono:
        x = x.mean(dim=0)
    if file_sr != sr:
        x = resample(x, int(file_sr), int(sr))
    if x.shape[-1] < min_seconds * sr:
        raise AudioLoadError(path, f"too short: {x.shape[-1] / sr:.2f} s < {min_seconds:.2f} s")
    return x.contiguous()
