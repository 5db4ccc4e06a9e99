"""The ``difficulty`` task end to end with the ``mel`` floor on a generated PianoSyllabus tree: its scores, the
validation metric stored as the MSE itself (lower is better) and the per-track sidecar that rebuilds the scores."""
from __future__ import annotations

import pytest

from benchmarks.records import load_records
from helpers import assert_sidecar_reproduces, run_mel
from layouts import write_pianosyllabus


def test_difficulty_on_the_pianosyllabus_layout_and_lower_is_better(tmp_path, capsys):
    m = run_mel(capsys, tmp_path, "difficulty", write_pianosyllabus(tmp_path / "ps"), "--layers", "0")["metrics"]
    assert {"mse_macro", "balanced_accuracy", "kendall_tau"} <= set(m)
    rec = load_records(tmp_path / "r")[0]
    assert rec["validation"]["lower_is_better"] is True and rec["validation"]["metric"] == "mse_macro"
    # stored as the MSE itself, not its negation: the chosen point is the sweep's smallest validation MSE
    assert rec["validation"]["value"] >= 0 and all(p["val_score"] >= 0 for p in rec["sweep"])
    assert rec["validation"]["value"] == pytest.approx(min(p["val_score"] for p in rec["sweep"]))
    assert_sidecar_reproduces(rec)
