"""``--device cuda`` end to end: extraction under bf16 autocast, probes on the GPU, same record as on CPU.

Skipped, with the reason, on a machine without a usable CUDA device (the project's CI machine has none); run on a GPU
machine with ``python -m pytest tests/test_cuda.py``.
"""
from __future__ import annotations

import json

import pytest
import torch

from benchmarks.cli import main as cli
from benchmarks.records import load_records
from layouts import write_beats, write_nsynth

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(),
                                reason=f"no CUDA device here (torch {torch.__version__}, "
                                       f"built for CUDA {torch.version.cuda or 'none'}): --device cuda is not tested")


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("data")
    beats = write_beats(root / "beats", n_tracks=10, seconds=12.0)
    (beats / "splits.tsv").write_text("".join(f"track{i:02d}\t{'test' if i < 3 else 'valid' if i < 5 else 'train'}\n"
                                              for i in range(10)))
    return {"nsynth": write_nsynth(root / "nsynth"), "beats": beats}


def _run(capsys, *args) -> dict:
    assert cli(["run", *args, "--json", "--quiet"]) == 0
    return json.loads(capsys.readouterr().out.strip().splitlines()[-1])


@pytest.mark.parametrize("model, task, layout, metric, floor", [
    ("random-tiny", "nsynth-pitch", "nsynth", "accuracy", 0.3),   # OMAR-RQ architecture: bf16 autocast extraction
    ("mel", "beats", "beats", "f_measure", 0.5),                  # framewise probes on the GPU
])
def test_run_on_cuda_end_to_end(tmp_path, capsys, data, model, task, layout, metric, floor):
    common = ["--model", model, "--task", task, "--data-dir", str(data[layout]), "--max-epochs", "30"]
    gpu = _run(capsys, *common, "--device", "cuda", "--cache-dir", str(tmp_path / "cg"),
               "--results-dir", str(tmp_path / "rg"))
    assert gpu["metrics"][metric] > floor, gpu["metrics"]
    rec = load_records(tmp_path / "rg")[0]
    assert rec["timings"]["device"] == "cuda"
    assert rec["timings"]["extraction_precision"] == ("bf16-autocast" if model == "random-tiny" else "float32")
    import torch

    assert rec["timings"]["device_name"] == torch.cuda.get_device_name(0)     # the cost columns' device
    assert rec["timings"]["peak_device_mb"] > 0 and rec["timings"]["audio_s_extracted"] > 0
    again = _run(capsys, *common, "--device", "cuda", "--cache-dir", str(tmp_path / "cg"),
                 "--results-dir", str(tmp_path / "rg"))
    assert again["metrics"] == gpu["metrics"]  # same cache, same seed -> same scores on the GPU too
    cpu = _run(capsys, *common, "--device", "cpu", "--cache-dir", str(tmp_path / "cc"),
               "--results-dir", str(tmp_path / "rc"))
    # bf16 extraction and GPU kernels change the numbers a little, not the result
    assert abs(cpu["metrics"][metric] - gpu["metrics"][metric]) < 0.15, (cpu["metrics"], gpu["metrics"])


def test_batched_probes_match_one_point_fits_on_cuda():
    from probes.grid import GRID, grid_points
    from probes.training import fit_probe, sweep
    from helpers import clusters

    train, valid = clusters(120, 1), clusters(40, 2)
    kw = dict(max_epochs=12, patience=4, batch_size=32, device="cuda")
    res = sweep("multiclass", train, valid, seed=5, **kw)
    again = sweep("multiclass", train, valid, seed=5, **kw)
    assert res.points == again.points  # same seed -> same scores on the GPU
    for i, point in enumerate(grid_points(GRID)):
        one = fit_probe("multiclass", train, valid, seed=5, **point, **kw)
        assert res.points[i]["val_score"] == pytest.approx(one.val_score, abs=1e-6), point
