"""The ``chords`` task end to end with the ``mel`` floor, on generated trees in each real layout (Isophonics,
Billboard, RWC-Pop, Chords1217 with its fold files): the protocol it records, its scores well above chance, and the
per-track sidecar that rebuilds them."""
from __future__ import annotations

import pytest

from benchmarks.records import load_records
from helpers import assert_sidecar_reproduces, run_mel
from layouts import write_chords

SCORES = ("majmin", "root", "majmin_wcsr", "root_wcsr", "frame_accuracy")


@pytest.mark.parametrize("layout", ["isophonics", "billboard", "rwc", "chords1217"])
def test_chords_on_each_real_layout(tmp_path, capsys, layout):
    data = write_chords(tmp_path / "chords", layout, n_tracks=6 if layout != "chords1217" else 10)
    m = run_mel(capsys, tmp_path, "chords", data)["metrics"]
    assert set(m) == {*SCORES, "n_tracks", "n_tracks_scored"}, m
    rec = load_records(tmp_path / "r")[0]
    assert rec["protocol"]["folds"] == 5 and rec["primary_metric"] == {"name": "majmin", "lower_is_better": False}
    assert rec["protocol"]["split"] == ("Chords1217 fold files" if layout == "chords1217" else
                                        "5-fold cross-validation by track")
    # four sine triads and silence: every score far above the 1/25 of chance (each measured near 0.7-0.8)
    assert all(m[k] > 0.6 for k in SCORES), m
    # the generated chords are all major, minor or N, so a right majmin label has the right root as well
    assert m["root"] >= m["majmin"] and m["root_wcsr"] >= m["majmin_wcsr"], m
    assert_sidecar_reproduces(rec)
