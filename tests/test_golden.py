"""A golden record. The synthesised data is deterministic, so `mel` on a small synthesised task under the
default protocol (grid, early stopping, seed 0) must give the stored metrics and chosen point; a change of protocol,
data or metric shows up here as a failing test instead of a silent drift.

Tolerances (BLAS and thread-count differences move float sums in the last bits, which can flip a borderline
argmax): each accuracy-type metric within one test track (``1 / n_test``), the validation score within one
validation track (``1 / n_valid``), the dataset sizes and the chosen point (probe family, lr, dropout) exactly, and
the 95 % bootstrap interval's ends within two test tracks.

Regenerate after an intended change (and say why in the commit):
``OMAR_BENCH_REGENERATE_GOLDEN=1 python -m pytest tests/test_golden.py``.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from benchmarks import sidecar, stats
from benchmarks.cli import main as cli
from benchmarks.records import load_records
from benchmarks.tasks import get_task

GOLDEN = Path(__file__).with_name("golden") / "mel-synth-nsynth-pitch.json"
TINY_SYNTH = "[nsynth]\nmax_instruments_per_family = 3\nnotes_per_instrument = 2\n"
TASK = "synth-nsynth-pitch"


def summary(rec: dict) -> dict:
    hp = rec["hyperparameters"]
    iv = stats.intervals(get_task(rec["task"]), sidecar.load(rec))[get_task(rec["task"]).primary.key]
    return {"model": rec["model"], "task": rec["task"], "layer": rec["layer"],
            "n_examples": rec["dataset"]["n_examples"], "dataset_fingerprint": rec["dataset"]["fingerprint"],
            "chosen": {"probe": "mlp" if hp.get("hidden") else "linear", "lr": hp["lr"], "dropout": hp["dropout"]},
            "validation": rec["validation"]["value"],
            "metrics": {k: v for k, v in sorted(rec["metrics"].items()) if not k.startswith("n_")},
            "interval": [iv.low, iv.high]}


def test_mel_on_a_small_synthesised_task_matches_the_golden_record(tmp_path, monkeypatch):
    cfg = tmp_path / "synth.toml"
    cfg.write_text(TINY_SYNTH)
    monkeypatch.setenv("OMAR_BENCH_SYNTH_CONFIG", str(cfg))
    assert cli(["run", "--model", "mel", "--task", TASK, "--quiet", "--cache-dir", str(tmp_path / "cache"),
                "--results-dir", str(tmp_path / "results")]) == 0
    (rec,) = load_records(tmp_path / "results")
    got = summary(rec)
    if os.environ.get("OMAR_BENCH_REGENERATE_GOLDEN"):
        GOLDEN.parent.mkdir(exist_ok=True)
        GOLDEN.write_text(json.dumps(got, indent=2) + "\n")
        pytest.skip(f"regenerated {GOLDEN}")
    want = json.loads(GOLDEN.read_text())
    n_test, n_valid = want["n_examples"]["test"], want["n_examples"]["valid"]
    assert got["n_examples"] == want["n_examples"] and got["dataset_fingerprint"] == want["dataset_fingerprint"]
    assert got["chosen"] == want["chosen"] and got["layer"] == want["layer"]
    assert got["validation"] == pytest.approx(want["validation"], abs=1.0 / n_valid + 1e-9)
    assert set(got["metrics"]) == set(want["metrics"])
    for k, v in want["metrics"].items():
        assert got["metrics"][k] == pytest.approx(v, abs=1.0 / n_test + 1e-9), k
    assert got["interval"] == pytest.approx(want["interval"], abs=2.0 / n_test + 1e-9)
