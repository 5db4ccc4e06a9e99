"""Extraction (benchmarks.extract) of a set holding a WAV cut short inside its data: the file is skipped and listed,
never read as a shorter valid file."""
from __future__ import annotations

from benchmarks.cache import EmbeddingCache
from benchmarks.datasets import Example
from benchmarks.encoders import load_encoder
from benchmarks.extract import Frontend, extract
from layouts import cut_file, sine_file


def test_extraction_skips_and_lists_a_cut_wav(tmp_path):
    good = sine_file(tmp_path / "good.wav", 2.0)
    bad = cut_file(sine_file(tmp_path / "bad.wav", 2.0), 0.5)
    examples = [Example("good", good, "train", {}), Example("bad", bad, "train", {})]
    out = extract(load_encoder("mel"), examples, [0], Frontend("clip", 1.0, overlap=0.0),
                  EmbeddingCache(tmp_path / "c"), progress=False)
    assert set(out.entries) == {"good"}
    assert [s["id"] for s in out.skipped] == ["bad"]
    assert "truncated" in out.skipped[0]["reason"]
