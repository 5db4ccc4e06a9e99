"""Split files (``benchmarks.datasets.splits``), read the same way by every reader that takes one."""
from __future__ import annotations

import pytest

from benchmarks.datasets import DatasetLayoutError
from benchmarks.datasets.splits import read_split_file


def test_split_file_formats(tmp_path):
    p = tmp_path / "splits.tsv"
    p.write_bytes("\ufeffid\tsplit\r\n# a comment\r\n\r\nt01\ttrain\r\nt02  valid\r\nt03\ttest\r\n".encode())
    assert read_split_file(p) == {"t01": "train", "t02": "valid", "t03": "test"}


@pytest.mark.parametrize("text, why", [
    ("t01\ttrain\nt01\ttest\n", r"splits.tsv, line 2: id 't01' listed twice"),
    ("t01\ttraining\n", r"splits.tsv, line 1: split 'training' is not one of train, valid, test"),
    ("t01\ttrain\textra\n", r"splits.tsv, line 1: 't01\\ttrain\\textra': expected"),
])
def test_split_file_errors_name_the_file_and_line(tmp_path, text, why):
    p = tmp_path / "splits.tsv"
    p.write_text(text)
    with pytest.raises(DatasetLayoutError, match=why):
        read_split_file(p)


def test_the_structure_reader_rejects_a_duplicate_id_as_the_beat_reader_does(tmp_path):
    """Both layouts read ``splits.tsv`` through the one reader: a duplicate is an error in each (the structure reader
    used to keep the last line silently)."""
    from benchmarks.datasets.beats import load_beats
    from benchmarks.datasets.structure import load_harmonix

    for make, load in ((_harmonix, load_harmonix), (_beats, load_beats)):
        root = make(tmp_path / load.__name__)
        (root / "splits.tsv").write_text("a\ttrain\nb\tvalid\na\ttest\n")
        with pytest.raises(DatasetLayoutError, match=r"line 3: id 'a' listed twice"):
            load(root)


def _harmonix(root):
    import numpy as np
    import soundfile as sf

    (root / "dataset" / "segments").mkdir(parents=True)
    (root / "audio").mkdir()
    for stem in ("a", "b"):
        (root / "dataset" / "segments" / f"{stem}.txt").write_text("0.0 intro\n10.0 verse\n20.0 end\n")
        sf.write(root / "audio" / f"{stem}.wav", np.zeros(8000, dtype=np.float32), 8000)
    return root


def _beats(root):
    import numpy as np
    import soundfile as sf

    (root / "annotations").mkdir(parents=True)
    (root / "audio").mkdir()
    for stem in ("a", "b"):
        (root / "annotations" / f"{stem}.beats").write_text("0.5\t1\n1.0\t2\n")
        sf.write(root / "audio" / f"{stem}.wav", np.zeros(8000, dtype=np.float32), 8000)
    return root
