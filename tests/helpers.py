"""Helpers shared by test files (test files never import each other): where the checkout and ``../shared`` are,
skipping cleanly when ``../shared`` is absent, and small synthetic probe problems with a known answer."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from probes.beat_tracking import beat_targets
from probes.data import ProbeData

#: The checkout's root (the folder holding ``pyproject.toml``).
ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
FIXTURES = SHARED / "fixtures" / "omar-rq"


def shared_or_skip(*parts: str) -> Path:
    """Path under ``../shared``; skips the test (saying why) when it is absent."""
    p = SHARED.joinpath(*parts)
    if not p.exists():
        pytest.skip(f"{p} is absent: the team's shared specs/fixtures (../shared beside the checkout) are not here")
    return p


def clusters(n_tracks, seed, n_classes=8, dim=16, chunks=2, spread=1.0):
    """Gaussian clusters: track label c, each of its chunks = centre_c + noise."""
    centres = np.random.default_rng(123).normal(size=(n_classes, dim)) * 2.0
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, n_classes, n_tracks)
    y = np.repeat(labels, chunks)
    groups = np.repeat(rng.permutation(n_tracks) * 7 + 3, chunks)  # arbitrary, non-contiguous track ids
    x = centres[y] + spread * rng.normal(size=(len(y), dim))
    return ProbeData(x.astype(np.float32), y, groups)


def tags(n_tracks, seed, n_tags=5, dim=12, chunks=2):
    """Multi-label: each tag adds its own feature direction to the track's chunks."""
    directions = np.random.default_rng(321).normal(size=(n_tags, dim))
    rng = np.random.default_rng(seed)
    y_track = (rng.random((n_tracks, n_tags)) < 0.3).astype(np.float32)
    y = np.repeat(y_track, chunks, axis=0)
    x = 1.5 * y @ directions + rng.normal(size=(len(y), dim))
    return ProbeData(x.astype(np.float32), y, np.repeat(np.arange(n_tracks), chunks))


def beat_sequences(n_tracks, seed, dim=6, fps=10.0):
    """Framewise: frames that carry a beat have a feature signature (dimension 0 raised)."""
    rng = np.random.default_rng(seed)
    xs, ys = [], []
    for _ in range(n_tracks):
        T = int(rng.integers(80, 120))
        period = rng.uniform(0.45, 0.7)
        times = np.arange(rng.uniform(0, period), T / fps, period)
        y = beat_targets(times, T, fps)
        x = rng.normal(size=(T, dim))
        x[:, 0] += 3.0 * (y == 1.0)
        xs.append(x.astype(np.float32))
        ys.append(y[:, None])
    return ProbeData(xs, ys, None)


def run_mel(capsys, tmp_path: Path, task: str, data: Path, *extra: str) -> dict:
    """``omar-bench run`` of the ``mel`` floor on ``task`` with a fast linear probe; the ``--json`` summary."""
    import json

    from benchmarks.cli import main as cli

    rc = cli(["run", "--model", "mel", "--task", task, "--data-dir", str(data), "--cache-dir", str(tmp_path / "c"),
              "--results-dir", str(tmp_path / "r"), "--probe", "linear", "--max-epochs", "8", "--json", "--quiet",
              *extra])
    captured = capsys.readouterr()
    assert rc == 0, captured.err[-3000:]
    return json.loads(captured.out.strip().splitlines()[-1])


def assert_sidecar_reproduces(rec: dict) -> None:
    """The record's per-track sidecar rebuilds every test metric it holds (folds and pooled ones too)."""
    from benchmarks import sidecar, stats
    from benchmarks.tasks import get_task

    ivs = stats.intervals(get_task(rec["task"]), sidecar.load(rec), n_resamples=20)
    numeric = {k for k in rec["metrics"] if not k.startswith("n_")}
    assert numeric <= set(ivs), numeric - set(ivs)
    for k in numeric:
        assert ivs[k].value == pytest.approx(rec["metrics"][k], abs=1e-9, nan_ok=True), k


#: The quick `mel` run of the task tests: a linear probe, 30 epochs at most, one JSON line.
FAST_MEL = ["--model", "mel", "--probe", "linear", "--max-epochs", "30", "--json", "--quiet"]


def run_json(capsys, tmp_path: Path, *args: str) -> dict:
    """``omar-bench run`` in-process with :data:`FAST_MEL` and ``args``; asserts exit 0 and returns its JSON line."""
    import json

    from benchmarks.cli import main as cli

    rc = cli(["run", *FAST_MEL, "--cache-dir", str(tmp_path / "c"), "--results-dir", str(tmp_path / "r"), *args])
    captured = capsys.readouterr()
    assert rc == 0, captured.err[-3000:]
    return json.loads(captured.out.strip().splitlines()[-1])


class PidTask:
    """A stand-in frame task for :mod:`benchmarks.postprocess`: its ``decode`` says which process ran it (a module
    class, so a spawned worker can unpickle it)."""

    def evaluate(self, prep, fitted, data, examples, eps):
        return self.decode(prep, fitted.predict(data), data.y, examples, eps)

    def decode(self, prep, acts, y, examples, eps):
        import os

        return {"pid": os.getpid(), "sum": float(sum(float(a.sum()) for a in acts)), "n": len(examples)}


def tree_digests(root) -> dict[str, str]:
    """``{relative path: sha256}`` of every file under ``root`` (a rendered set's bytes, for determinism checks)."""
    import hashlib
    from pathlib import Path

    root = Path(root)
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}
