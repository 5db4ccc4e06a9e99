"""Issue 13: chords, structure, difficulty and key run end to end — on generated trees in each real layout (with
its pitfalls), and on their synthesised sets, well above chance with the mel floor."""
from __future__ import annotations

import json

import pytest

from benchmarks.cli import main as cli
from benchmarks.records import load_records
from layouts import write_chords, write_giantsteps, write_harmonix, write_pianosyllabus

FAST = ["--probe", "linear", "--max-epochs", "8", "--json", "--quiet"]


def assert_sidecar_reproduces(rec: dict) -> None:
    """Issue 21: the record's per-track sidecar rebuilds every test metric it holds (folds and pooled ones too)."""
    from benchmarks import sidecar, stats
    from benchmarks.tasks import get_task

    ivs = stats.intervals(get_task(rec["task"]), sidecar.load(rec), n_resamples=20)
    numeric = {k for k in rec["metrics"] if not k.startswith("n_")}
    assert numeric <= set(ivs), numeric - set(ivs)
    for k in numeric:
        assert ivs[k].value == pytest.approx(rec["metrics"][k], abs=1e-9, nan_ok=True), k


def run_json(capsys, tmp_path, task, data, *extra) -> dict:
    rc = cli(["run", "--model", "mel", "--task", task, "--data-dir", str(data), "--cache-dir", str(tmp_path / "c"),
              "--results-dir", str(tmp_path / "r"), *FAST, *extra])
    captured = capsys.readouterr()
    assert rc == 0, captured.err[-3000:]
    return json.loads(captured.out.strip().splitlines()[-1])


@pytest.mark.parametrize("layout", ["isophonics", "billboard", "rwc", "chords1217"])
def test_chords_on_each_real_layout(tmp_path, capsys, layout):
    data = write_chords(tmp_path / "chords", layout, n_tracks=6 if layout != "chords1217" else 10)
    out = run_json(capsys, tmp_path, "chords", data)
    m = out["metrics"]
    for k in ("majmin", "root", "majmin_wcsr", "root_wcsr", "frame_accuracy"):
        assert 0.0 <= m[k] <= 1.0, (k, m)
    rec = load_records(tmp_path / "r")[0]
    assert rec["protocol"]["folds"] == 5 and rec["primary_metric"] == {"name": "majmin", "lower_is_better": False}
    assert rec["protocol"]["split"] == ("Chords1217 fold files" if layout == "chords1217" else
                                        "5-fold cross-validation by track")
    assert m["majmin"] > 0.4, m  # four sine triads and silence: far above the 1/25 of chance
    assert_sidecar_reproduces(rec)


def test_structure_on_the_harmonix_layout(tmp_path, capsys):
    out = run_json(capsys, tmp_path, "structure", write_harmonix(tmp_path / "harmonix", n_songs=8))
    m = out["metrics"]
    assert m["accuracy"] > 0.5 and 0 <= m["hr_f_0_5"] <= 1 and 0 <= m["hr_f_3"] <= 1, m
    assert load_records(tmp_path / "r")[0]["protocol"]["folds"] == 8
    assert_sidecar_reproduces(load_records(tmp_path / "r")[0])


def test_difficulty_on_the_pianosyllabus_layout_and_lower_is_better(tmp_path, capsys):
    out = run_json(capsys, tmp_path, "difficulty", write_pianosyllabus(tmp_path / "ps"), "--layers", "0")
    m = out["metrics"]
    assert {"mse_macro", "balanced_accuracy", "kendall_tau"} <= set(m)
    rec = load_records(tmp_path / "r")[0]
    assert rec["validation"]["lower_is_better"] is True and rec["validation"]["metric"] == "mse_macro"
    assert rec["validation"]["value"] >= 0  # stored as the MSE itself, not its negation
    assert all(p["val_score"] >= 0 for p in rec["sweep"])
    assert_sidecar_reproduces(rec)


def test_key_on_the_giantsteps_layouts(tmp_path, capsys):
    out = run_json(capsys, tmp_path, "key", write_giantsteps(tmp_path / "gs"))
    m = out["metrics"]
    assert 0 <= m["weighted_score"] <= 1 and 0 <= m["accuracy"] <= 1
    rec = load_records(tmp_path / "r")[0]
    assert rec["dataset"]["n_examples"]["test"] == 24
    assert rec["dataset"]["info"]["train"]["dropped"] == {"confidence_below_2": 2, "no_or_multiple_keys": 1,
                                                       "no_audio": 0}
    assert_sidecar_reproduces(rec)
