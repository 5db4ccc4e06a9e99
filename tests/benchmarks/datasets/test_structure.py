"""The Harmonix reader (benchmarks.datasets.structure): segment files with the pitfalls the spec lists and the
Harmonix layout, on small trees written in it."""
from __future__ import annotations

import pytest

from benchmarks.datasets import DatasetLayoutError
from benchmarks.datasets.structure import SegmentFileError, load_harmonix, read_segments
from layouts import silent_wav


# ------------------------------------------------------------------------------------------------------------------
# structure
# ------------------------------------------------------------------------------------------------------------------
def test_segments_pitfalls(tmp_path):
    p = tmp_path / "0287_therewasatime.txt"
    p.write_text("2.950812 intro\n8.495568 verse2\n25.486704 chorus\n308.306344 end\n354.029435252 end\n")
    s = read_segments(p)
    assert s.labels == ("intro", "verse2", "chorus") and s.end == pytest.approx(308.306344)
    assert s.boundaries[0] == pytest.approx(2.950812)  # starts after 0: the gap keeps no label
    p.write_text("0.0 silence\n1.0 outro\n2.0 instrumental\n")  # no `end`: runs to the end of the audio
    s = read_segments(p)
    assert s.end is None and s.intervals(duration=5.0)[-1].tolist() == [2.0, 5.0]
    p.write_text("0.0 intro\n3.0 verse\n2.0 chorus\n")
    with pytest.raises(SegmentFileError, match="line 3"):
        read_segments(p)


def test_harmonix_layout(tmp_path):
    ds = tmp_path / "harmonixset-main" / "dataset"
    (ds / "segments").mkdir(parents=True)
    (ds / "segments" / "0001_12step.txt").write_text("0.0 intro\n1.5 verse\n3.0 end\n")
    (ds / "segments" / "0037_breakyourheart.txt").write_text("0.5 intro\n2.0 chorus\n")
    (ds / "segments" / "0099_noaudio.txt").write_text("0.0 intro\n1.0 end\n")
    (ds / "metadata.csv").write_text("File,Title,Artist,Release,Duration,BPM,Ratio Bars in 4,Time Signature,Genre,"
                                     'MusicBrainz Id,Acoustid Id\n0001_12step,"1, 2 Step",Ciara,Goodies,142.47,113,'
                                     "100.0,4|4,R&B,x,y\n")
    silent_wav(tmp_path / "harmonixset-main" / "audio" / "0001_12step.mp3".replace(".mp3", ".wav"))
    silent_wav(tmp_path / "harmonixset-main" / "audio" / "0037_breakyourheart.wav")
    index = load_harmonix(tmp_path / "harmonixset-main")
    assert [e.id for e in index.examples] == ["0001_12step", "0037_breakyourheart"]
    assert index.split_name == "none" and index.info["n_without_audio"] == 1
    assert index.info["n_start_after_zero"] == 1 and index.info["genres"] == {"R&B": 1}
    with pytest.raises(DatasetLayoutError, match="segments"):
        load_harmonix(tmp_path)
