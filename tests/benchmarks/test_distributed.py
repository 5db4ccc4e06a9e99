"""``run --devices 2`` (two CPU processes joined by gloo through Lightning Fabric): extraction sharded by
rank into the shared cache, rank 0 probing and writing the records; metrics equal a one-process run's, and a killed
multi-process run resumes."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from benchmarks.cli import main as cli
from benchmarks.records import load_records
from layouts import write_nsynth

from helpers import ROOT


@pytest.fixture(scope="module")
def nsynth(tmp_path_factory) -> Path:
    return write_nsynth(tmp_path_factory.mktemp("data") / "nsynth", pitches=range(48, 54))


def _env() -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("LOCAL_RANK", "RANK", "WORLD_SIZE", "NODE_RANK")}
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def _entries(cache: Path) -> list[Path]:
    """The cache's entries (not the hidden temporary files a killed writer leaves)."""
    return sorted(p for p in cache.glob("embeddings/*/*/*/*.npz") if not p.name.startswith("."))


def _cmd(model: str, data: Path, cache: Path, results: Path, *extra) -> list[str]:
    return [sys.executable, "-m", "benchmarks.cli", "run", "--model", model, "--task", "nsynth-pitch", "--data-dir",
            str(data), "--cache-dir", str(cache), "--results-dir", str(results), "--probe", "linear",
            "--max-epochs", "5", "--json", "--quiet", *extra]


def test_two_processes_equal_one(tmp_path, capsys, nsynth):
    assert cli(_cmd("mel", nsynth, tmp_path / "c1", tmp_path / "r1")[3:]) == 0
    one = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    proc = subprocess.run(_cmd("mel", nsynth, tmp_path / "c2", tmp_path / "r2", "--devices", "2", "--strategy",
                               "ddp"), cwd=tmp_path, env=_env(), capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    two = json.loads(proc.stdout.strip().splitlines()[-1])         # rank 0 alone prints
    assert two["metrics"] == one["metrics"]
    recs = load_records(tmp_path / "r2")
    assert len(recs) == 1                                          # rank 0 alone writes
    t = recs[0]["timings"]
    assert t["processes"] == 2 and t["files_extracted"] == 120 and t["files_from_cache"] == 0
    assert len(list((tmp_path / "c2" / "embeddings").rglob("*.npz"))) == 120
    # the entries both ranks wrote equal the one-process run's, byte for byte in their values
    a = sorted((tmp_path / "c1" / "embeddings").rglob("*.npz"))
    b = sorted((tmp_path / "c2" / "embeddings").rglob("*.npz"))
    assert [p.name for p in a] == [p.name for p in b]
    for x, y in zip(a[::10], b[::10]):
        with np.load(x) as zx, np.load(y) as zy:
            np.testing.assert_array_equal(zx["layer_0"], zy["layer_0"])


def test_a_killed_two_process_run_resumes(tmp_path, nsynth):
    cache = tmp_path / "c"
    proc = subprocess.Popen(_cmd("random-tiny", nsynth, cache, tmp_path / "r", "--layers", "1", "--devices", "2"),
                            cwd=tmp_path, env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            start_new_session=True)
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and proc.poll() is None:
        if len(_entries(cache)) >= 5:      # kill early: both ranks write 120 small entries within a second or so
            break
        time.sleep(0.005)
    assert proc.poll() is None, proc.stderr.read().decode()[-2000:]
    os.killpg(proc.pid, signal.SIGKILL)                            # every rank, mid-extraction
    proc.wait()
    written = _entries(cache)
    assert 5 <= len(written) < 120
    for p in written:                                              # nothing half-written is an entry
        with np.load(p) as z:
            assert z["layer_1"].shape[0] >= 1
    rerun = subprocess.run(_cmd("random-tiny", nsynth, cache, tmp_path / "r", "--layers", "1", "--devices", "2"),
                           cwd=tmp_path, env=_env(), capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    rec = load_records(tmp_path / "r")
    assert len(rec) == 1
    done = len(written)
    assert rec[0]["timings"]["files_extracted"] == 120 - done     # only what no rank had written
    assert rec[0]["timings"]["files_from_cache"] == done
    assert len(_entries(cache)) == 120
