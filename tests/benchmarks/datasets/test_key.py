"""The GiantSteps readers (benchmarks.datasets.key): key-string normalisation and both real layouts (GiantSteps Key
for test, GiantSteps MTG Key for training) with the pitfalls the spec lists."""
from __future__ import annotations

import pytest

from benchmarks.datasets.key import load_giantsteps, normalise_key
from layouts import silent_wav


# ------------------------------------------------------------------------------------------------------------------
# key
# ------------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("text, key", [("Eb minor", "Eb minor"), ("d# minor", "Eb minor"), ("F#:major", "Gb major"),
                                       (" c minor ", "C minor"), ("-", None), ("C minor / F# minor", None),
                                       ("G minor/major", None), ("A Minor", "A minor"), ("X", None), ("", None)])
def test_key_normalisation(text, key):
    assert normalise_key(text) == key


def test_giantsteps_layouts(tmp_path):
    test = tmp_path / "giantsteps-key-dataset"
    (test / "annotations" / "key").mkdir(parents=True)
    (test / "annotations" / "key" / "10089.LOFI.key").write_text("Db major")          # no trailing newline
    (test / "annotations" / "key" / "10090.LOFI.key").write_text("E minor")
    silent_wav(test / "audio" / "10089.LOFI.wav")
    silent_wav(test / "audio" / "10090.LOFI.mp3".replace(".mp3", ".wav"))
    train = tmp_path / "giantsteps-mtg-key-dataset"
    (train / "annotations").mkdir(parents=True)
    rows = ["ID\tMANUAL KEY\tC", "5061\tD# minor\t2", "10981\t-\t0", "3\tc minor / f# minor\t2", "4\ta major\t1",
            "5\tf# major\t2", "6\tg minor\t2"]
    (train / "annotations" / "annotations.txt").write_text("\n".join(rows) + "\n")
    for tid in ("5061", "10981", "3", "4", "5", "6"):
        silent_wav(train / "audio" / f"{tid}.LOFI.wav")
    index = load_giantsteps(tmp_path)
    by = {e.id: e for e in index.examples}
    assert set(by) == {"test/10089", "test/10090", "train/5061", "train/5", "train/6"}
    assert by["train/5061"].target == "Eb minor" and by["train/5"].target == "Gb major"
    assert by["test/10089"].split == "test" and {by[i].split for i in ("train/5061", "train/5", "train/6")} <= \
        {"train", "valid"}
    assert index.info["train"]["dropped"] == {"confidence_below_2": 2, "no_or_multiple_keys": 1, "no_audio": 0}
