"""Issue 20: a WAV or AU file cut short inside its data (the header promises more frames than the file holds) is
corrupt: decoding reports it, and extraction skips and lists it instead of reading a shorter valid file."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from benchmarks.cache import EmbeddingCache
from benchmarks.datasets import Example
from benchmarks.encoders import load_encoder
from benchmarks.extract import Frontend, extract
from omar_rq.audio import AudioLoadError, audio_info, header_frames, load_audio

SR = 16000


def _write(path: Path, seconds: float = 1.0, fmt: str = "WAV") -> Path:
    x = 0.1 * np.sin(2 * np.pi * 440 * np.arange(int(seconds * SR)) / SR).astype(np.float32)
    sf.write(str(path), x, SR, subtype="PCM_16", format=fmt)
    return path


def _cut(path: Path, keep: float) -> Path:
    data = path.read_bytes()
    path.write_bytes(data[:int(len(data) * keep)])
    return path


@pytest.mark.parametrize("suffix, fmt", [(".wav", "WAV"), (".au", "AU")])
def test_header_frames_and_truncation(tmp_path, suffix, fmt):
    whole = _write(tmp_path / f"whole{suffix}", fmt=fmt)
    assert header_frames(whole) == SR
    assert load_audio(whole, SR).shape == (SR,)
    cut = _cut(_write(tmp_path / f"cut{suffix}", fmt=fmt), 0.6)
    assert header_frames(cut) == SR                # the header still promises 1 s
    assert sf.info(str(cut)).frames < SR           # libsndfile alone sees a shorter valid file
    with pytest.raises(AudioLoadError, match="truncated: the file holds 0.[0-9]+ s of the 1.00 s"):
        load_audio(cut, SR)
    with pytest.raises(AudioLoadError, match="truncated"):
        audio_info(cut)


def test_open_length_headers_and_other_formats(tmp_path):
    flac = _write(tmp_path / "a.flac", fmt="FLAC")
    assert header_frames(flac) is None
    # a streaming writer's WAV: data size 0xFFFFFFFF means "unknown", not a promise
    w = _write(tmp_path / "stream.wav")
    data = bytearray(w.read_bytes())
    i = data.index(b"data")
    data[i + 4:i + 8] = b"\xff\xff\xff\xff"
    w.write_bytes(bytes(data))
    assert header_frames(w) is None
    assert load_audio(w, SR).shape == (SR,)


def test_extraction_skips_and_lists_a_cut_wav(tmp_path):
    good = _write(tmp_path / "good.wav", 2.0)
    bad = _cut(_write(tmp_path / "bad.wav", 2.0), 0.5)
    examples = [Example("good", good, "train", {}), Example("bad", bad, "train", {})]
    out = extract(load_encoder("mel"), examples, [0], Frontend("clip", 1.0, overlap=0.0),
                  EmbeddingCache(tmp_path / "c"), progress=False)
    assert set(out.entries) == {"good"}
    assert [s["id"] for s in out.skipped] == ["bad"]
    assert "truncated" in out.skipped[0]["reason"]
