"""Decoding audio files (benchmarks and pretraining): mono float32 at the model's rate, with errors that name file and cause.

Every dataset goes through :func:`load_audio`, so a corrupt, empty or truncated file is reported the same way
everywhere (:class:`AudioLoadError`) and the caller can skip it and list it in the result record.
"""
from __future__ import annotations

import os
import struct
from pathlib import Path

import numpy as np
import soundfile as sf
import torch

from .errors import UserError
from .resample import resample

__all__ = ["AudioLoadError", "load_audio", "audio_info", "header_frames", "AUDIO_EXTENSIONS", "TRUNCATION_TOLERANCE"]

AUDIO_EXTENSIONS = (".wav", ".mp3", ".flac", ".au", ".ogg", ".aiff", ".aif")

#: A file whose decoded length falls short of its header's declared length by more than this fraction is truncated.
TRUNCATION_TOLERANCE = 0.05


class AudioLoadError(UserError):
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


#: Bytes per sample of the Sun/NeXT AU encodings (header field 3): mu-law, 8/16/24/32-bit PCM, float, double, A-law.
_AU_SAMPLE_BYTES = {1: 1, 2: 1, 3: 2, 4: 3, 5: 4, 6: 4, 7: 8, 27: 1}


def header_frames(path: str | os.PathLike) -> int | None:
    """The number of frames the header of a WAV (RIFF) or AU file promises, read from its raw bytes; None for other
    formats and for headers that leave the length open (0 or 0xFFFFFFFF, as streaming writers do).

    libsndfile clips a WAV's or AU's frame count to the bytes the file holds, so a file cut short inside its data
    would otherwise read as a shorter valid file.
    """
    try:
        with open(path, "rb") as f:
            head = f.read(12)
            if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
                block, size = None, None
                while True:
                    chunk = f.read(8)
                    if len(chunk) < 8:
                        return None
                    cid, n = chunk[:4], struct.unpack("<I", chunk[4:])[0]
                    if cid == b"fmt ":
                        fmt = f.read(n)
                        block = struct.unpack("<H", fmt[12:14])[0] if len(fmt) >= 14 else None
                        if n & 1:
                            f.seek(1, os.SEEK_CUR)
                    elif cid == b"data":
                        size = n
                        break
                    else:
                        f.seek(n + (n & 1), os.SEEK_CUR)
                if not block or size in (0, 0xFFFFFFFF):
                    return None
                return size // block
            if head[:4] == b".snd":
                # big-endian: magic, data offset, data size, encoding, sample rate, channels
                _, size, enc, _, channels = struct.unpack(">IIIII", head[4:] + f.read(12))
                width = _AU_SAMPLE_BYTES.get(enc)
                if not width or not channels or size in (0, 0xFFFFFFFF):
                    return None
                return size // (width * channels)
    except (OSError, struct.error):
        return None
    return None


def _check_complete(path: Path, frames: int, file_sr: int) -> None:
    promised = header_frames(path)
    if promised is not None and frames < promised:
        raise AudioLoadError(path, f"truncated: the file holds {frames / file_sr:.2f} s of the "
                                   f"{promised / file_sr:.2f} s its header declares")


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
    _check_complete(path, info.frames, info.samplerate)
    return info


def load_audio(path: str | os.PathLike, sr: int, mono: bool = True, min_seconds: float = 0.0) -> torch.Tensor:
    """Decode ``path`` to a float32 tensor ``(T,)`` (mono) or ``(C, T)`` at ``sr`` Hz.

    Channels are averaged for mono; resampling uses the sinc kernel of :mod:`omar_rq.resample`. Raises
    :class:`AudioLoadError` for a missing, undecodable, empty, truncated (decoded length short of the header's by more
    than :data:`TRUNCATION_TOLERANCE`; for WAV and AU, any frame short of what the raw header's data size promises,
    :func:`header_frames`) or non-finite file, or one shorter than ``min_seconds``.
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
    _check_complete(path, data.shape[0], file_sr)
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
