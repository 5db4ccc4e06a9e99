"""GTZAN audio discovery (benchmarks.datasets.discovery): the audio roots and extensions of the real layouts, WAV
preferred over AU, and the recursive fallback."""
from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks.datasets.discovery import find_gtzan_audio, gtzan_genre


def touch(p: Path) -> Path:
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_bytes(b"x")
    return p


@pytest.mark.parametrize("top, ext", [("genres", "au"), ("genres_original", "wav"), ("Data/genres_original", "WAV")])
def test_gtzan_audio_roots_and_extensions(tmp_path, top, ext):
    for g, n in (("blues", 0), ("jazz", 54), ("Rock", 99)):
        touch(tmp_path / top / g.lower() / f"{g}.{n:05d}.{ext}")
    touch(tmp_path / top / "blues" / "blues.00001.mp3")           # not GTZAN audio
    touch(tmp_path / top / "blues" / "notes.txt")
    found = find_gtzan_audio(tmp_path)
    assert sorted(found.files) == ["blues.00000", "jazz.00054", "rock.00099"]
    assert found.where == top and found.duplicates == {}
    assert found.files["jazz.00054"] == tmp_path / top / "jazz" / f"jazz.00054.{ext}"
    assert gtzan_genre("rock.00099") == "rock"


def test_gtzan_wav_preferred_over_au_and_recursive_fallback(tmp_path):
    au = touch(tmp_path / "somewhere" / "else" / "blues" / "blues.00000.au")
    wav = touch(tmp_path / "somewhere" / "else" / "blues" / "blues.00000.wav")
    files, dups, where = find_gtzan_audio(tmp_path)
    assert where == "recursive search"
    assert files == {"blues.00000": wav} and dups == {"blues.00000": [au]}
    assert find_gtzan_audio(tmp_path / "empty-folder-that-does-not-exist").files == {}
