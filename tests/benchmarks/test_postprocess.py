"""Post-processing beside training (:mod:`benchmarks.postprocess`): frame-level test decoding in worker processes
gives the same records as decoding in line."""
from __future__ import annotations

import os
from types import SimpleNamespace

import numpy as np
import pytest

from benchmarks.postprocess import PostProcessor, default_postprocess_workers
from benchmarks.records import load_records
from layouts import write_beats

from helpers import PidTask


class _Fitted:
    def predict(self, data):
        return [np.full((4, 1), v, dtype=np.float32) for v in data.x]


def test_default_workers_leave_the_cpu_to_training():
    assert default_postprocess_workers("cpu") == 0
    assert 0 <= default_postprocess_workers("cuda") <= 4


def test_decode_runs_in_a_worker_process_and_inline_without_workers():
    data = SimpleNamespace(x=[1.0, 2.0, 3.0], y=[None] * 3)
    with PostProcessor(0) as inline:
        here = inline.submit(PidTask(), None, _Fitted(), data, ["a", "b", "c"], 10.0).result()
    with PostProcessor(1) as post:
        futures = [post.submit(PidTask(), None, _Fitted(), data, ["a", "b", "c"], 10.0) for _ in range(3)]
        there = [f.result(timeout=120) for f in futures]
    assert here == {"pid": os.getpid(), "sum": 24.0, "n": 3}
    assert all(r["pid"] != os.getpid() and {**r, "pid": 0} == {**here, "pid": 0} for r in there)
    with pytest.raises(ValueError, match="workers must be >= 0"):
        PostProcessor(-1)


def test_beat_run_with_postprocess_workers_equals_the_inline_run(tmp_path, capsys):
    """An 8-fold cross-validated beat run: DBN decoding in a worker process while the next fold trains gives the
    same record (every fold's metrics and per-track arrays) as decoding in line."""
    from benchmarks.cli import main as cli

    root = write_beats(tmp_path / "beats", n_tracks=8, seconds=6.0)
    records = {}
    for workers in ("0", "1"):
        rc = cli(["run", "--model", "mel", "--task", "beats", "--data-dir", str(root), "--cache-dir",
                  str(tmp_path / "c"), "--results-dir", str(tmp_path / f"r{workers}"), "--probe", "linear",
                  "--max-epochs", "3", "--postprocess-workers", workers, "--quiet"])
        assert rc == 0, capsys.readouterr().err[-2000:]
        (rec,) = load_records(tmp_path / f"r{workers}")
        records[workers] = rec
    inline, workers = records["0"], records["1"]
    assert inline["protocol"]["folds"] == 8 and inline["protocol"]["fold_fits"] == "joint"
    assert [r["metrics"] for r in inline["runs"]] == [r["metrics"] for r in workers["runs"]]
    assert inline["metrics"] == workers["metrics"]
    assert inline["tracks"] == workers["tracks"]   # the per-track sidecar: same content, same digest


def test_negative_postprocess_workers_is_a_usage_error(tmp_path, capsys):
    from benchmarks.cli import main as cli

    rc = cli(["run", "--model", "mel", "--task", "synth-beats", "--postprocess-workers", "-1",
              "--cache-dir", str(tmp_path), "--quiet"])
    err = capsys.readouterr().err
    assert rc == 2 and "--postprocess-workers -1" in err and "Traceback" not in err


def test_every_registered_task_survives_pickling():
    """Tasks travel to the post-processing workers: each registered task pickles and comes back equal."""
    import pickle

    from benchmarks.tasks import all_tasks

    for name, task in all_tasks().items():
        back = pickle.loads(pickle.dumps(task))
        assert back == task and dict(back.options) == dict(task.options), name
