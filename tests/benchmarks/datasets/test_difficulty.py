"""The PianoSyllabus reader (benchmarks.datasets.difficulty) on a small tree in the real layout, with its pitfalls."""
from __future__ import annotations

import pytest

from benchmarks.datasets import DatasetLayoutError
from benchmarks.datasets.difficulty import load_pianosyllabus
from layouts import silent_wav


# ------------------------------------------------------------------------------------------------------------------
# difficulty
# ------------------------------------------------------------------------------------------------------------------
def test_pianosyllabus_metadata(tmp_path):
    (tmp_path / "metadata.csv").write_text("id,grade,split\nAbsil J.Humoresque Op 126 No 3,4,train\n"
                                           "Arens B.Ciorsdan Mhòr,10,test\nAdeleIll Be Waiting,0,valid\n"
                                           "Missing Audio,3,train\n", encoding="utf-8")
    for pid in ("Absil J.Humoresque Op 126 No 3", "Arens B.Ciorsdan Mhòr", "AdeleIll Be Waiting"):
        silent_wav(tmp_path / "audio" / f"{pid}.wav")
    index = load_pianosyllabus(tmp_path)
    assert index.split_name == "given" and [e.target for e in index.examples] == [4, 0, 10]  # sorted by id
    assert index.info["n_without_audio"] == 1 and index.info["grade_counts"][10] == 1
    (tmp_path / "metadata.csv").write_text("id,grade\nA,11\n")
    with pytest.raises(DatasetLayoutError, match="row 2: grade 11"):
        load_pianosyllabus(tmp_path)
    (tmp_path / "metadata.csv").write_text("piece,level\n")
    with pytest.raises(DatasetLayoutError, match="no rows|id and grade"):
        load_pianosyllabus(tmp_path)
