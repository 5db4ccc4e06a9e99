"""A WAV or AU file cut short inside its data (the header promises more frames than the file holds) is corrupt:
decoding (omar_rq.audio) reports it instead of reading a shorter valid file; headers of open length are read too."""
from __future__ import annotations


import pytest
import soundfile as sf

from layouts import cut_file, sine_file
from omar_rq.audio import AudioLoadError, audio_info, header_frames, load_audio

SR = 16000


@pytest.mark.parametrize("suffix, fmt", [(".wav", "WAV"), (".au", "AU")])
def test_header_frames_and_truncation(tmp_path, suffix, fmt):
    whole = sine_file(tmp_path / f"whole{suffix}", fmt=fmt)
    assert header_frames(whole) == SR
    assert load_audio(whole, SR).shape == (SR,)
    cut = cut_file(sine_file(tmp_path / f"cut{suffix}", fmt=fmt), 0.6)
    assert header_frames(cut) == SR                # the header still promises 1 s
    assert sf.info(str(cut)).frames < SR           # libsndfile alone sees a shorter valid file
    with pytest.raises(AudioLoadError, match="truncated: the file holds 0.[0-9]+ s of the 1.00 s"):
        load_audio(cut, SR)
    with pytest.raises(AudioLoadError, match="truncated"):
        audio_info(cut)


def test_open_length_headers_and_other_formats(tmp_path):
    flac = sine_file(tmp_path / "a.flac", fmt="FLAC")
    assert header_frames(flac) is None
    # a streaming writer's WAV: data size 0xFFFFFFFF means "unknown", not a promise
    w = sine_file(tmp_path / "stream.wav")
    data = bytearray(w.read_bytes())
    i = data.index(b"data")
    data[i + 4:i + 8] = b"\xff\xff\xff\xff"
    w.write_bytes(bytes(data))
    assert header_frames(w) is None
    assert load_audio(w, SR).shape == (SR,)
