"""The ``key`` task end to end with the ``mel`` floor on generated GiantSteps trees (both layouts, with the rows the
training set drops): its counts, its scores (``mir_eval.key`` credits) and the per-track sidecar that rebuilds them."""
from __future__ import annotations

import numpy as np
import pytest

from benchmarks import sidecar
from benchmarks.records import load_records
from helpers import assert_sidecar_reproduces, run_mel
from layouts import write_giantsteps


def test_key_on_the_giantsteps_layouts(tmp_path, capsys):
    m = run_mel(capsys, tmp_path, "key", write_giantsteps(tmp_path / "gs"))["metrics"]
    assert set(m) == {"weighted_score", "accuracy", "n_tracks"} and m["n_tracks"] == 24, m
    rec = load_records(tmp_path / "r")[0]
    assert rec["dataset"]["n_examples"]["test"] == 24
    assert rec["dataset"]["info"]["train"]["dropped"] == {"confidence_below_2": 2, "no_or_multiple_keys": 1,
                                                       "no_audio": 0}
    # 24 test tracks: accuracy counts whole tracks; mir_eval's credits (1, 0.5, 0.3, 0.2, 0) are tenths
    assert m["accuracy"] * 24 == pytest.approx(round(m["accuracy"] * 24))
    assert m["weighted_score"] * 240 == pytest.approx(round(m["weighted_score"] * 240))
    assert m["weighted_score"] >= m["accuracy"] > 0.5, m     # chance is 1/24; measured 0.875
    tracks = sidecar.load(rec).runs[0]
    weighted, right = tracks["mean.weighted_score"], tracks["mean.accuracy"]
    assert set(np.unique(weighted)) <= {0.0, 0.2, 0.3, 0.5, 1.0}
    np.testing.assert_array_equal(weighted == 1.0, right == 1.0)   # full credit exactly for the right key
    assert weighted.mean() == pytest.approx(m["weighted_score"]) and right.mean() == pytest.approx(m["accuracy"])
    assert_sidecar_reproduces(rec)
