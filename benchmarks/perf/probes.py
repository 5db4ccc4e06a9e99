"""Probe-engine speed and memory, measured as ratios within one run (CPU, and CUDA when a GPU is available).

    python -m benchmarks.perf.probes [--device cpu|cuda|all] [--epochs 5] [--layer-epochs 2] [--threads N]
                                     [--skip-beats] [--skip-layers]

The workload has the shape of MTAT tagging: 15,244 training and 1,529 validation chunk vectors of 1024 dims, 50
tags (synthetic, learnable), batch 256, AdamW; every probe trains exactly ``--epochs`` epochs (patience above the
epoch cap), so every case does a known amount of arithmetic. Printed, in one run:

1. one fit (MLP 512, and linear) on the engine vs a plain PyTorch loop doing the same math (same batches, AdamW,
   validation every epoch with the same metric, best weights kept);
2. the 12-point grid sweep vs one MLP fit;
3. all layers of a 24-layer model (24 × 12 probes, inputs read from per-layer memory-mapped arrays, chunked to the
   memory budget) vs one layer — and the peak resident memory of that run (a fresh process);
4. beat sets end to end (``omar-bench run --model mel``, fresh embedding cache) vs their extraction time: the
   synthesised set (``synth-beats``, 32 tracks, its own split) and a 24-track x 20 s set with 8-fold cross-validation
   (``beats-gtzan`` layout, rendered once under ``<cache>/perf/beats-24x20``), the latter twice: one fit per fold
   (the engine before folds shared fits; ``--separate-folds``) and folds in one fit (the default), with the F-measure
   of every fold side by side;
5. each case's FLOP floor, two ways, measured in the same run at the same thread count:
   - *peak*: its floating-point operations (forward and weight-gradient matmuls of every step, validation forwards)
     divided by the machine's matmul rate on the probe's dominant GEMM, (256 × 1024) @ (1024 × 512);
   - *GEMM floor*: the time the very matmuls the case needs take when run alone, each shape timed at the machine's
     rate for that shape (the second MLP layer and the linear heads, with 50 outputs, run far below peak). This is
     what remains if every non-matmul cost (optimizer, dropout, losses, data movement, framework) were zero; the
     targets are stated against it.
   For the beat sets (whose probes stop early at data-dependent steps) the engine counts the arithmetic it actually
   did (:func:`probes.flops.count_flops`), and the peak floor is that count at the machine's matmul rate;
6. per case, the optimizer steps taken, the time per step (the case's probe time over its steps) and the launch
   count of a step (``torch.profiler`` over 5 steps after 3 warm-up steps: kernels on CUDA, dispatched operators
   that run a kernel on CPU; :func:`probes.flops.launches`);
7. issue 19's targets beside the measured figures (the GPU ones only from a CUDA run).
"""
from __future__ import annotations

import argparse
import contextlib
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from benchmarks.memory import peak_rss_mb, reset_peak

N_TRAIN, N_VALID, DIM, TAGS, BATCH = 15244, 1529, 1024, 50, 256
ROOT = Path(__file__).resolve().parents[2]


# ---------------------------------------------------------------------------------------------------------------
# workload
# ---------------------------------------------------------------------------------------------------------------
def mtat_like(n: int, seed: int, dim: int = DIM) -> tuple[np.ndarray, np.ndarray]:
    """Chunk vectors whose 50 tags are linearly (and noisily) visible: y ~ Bernoulli(0.1), x = 0.3 y W + noise."""
    rng = np.random.default_rng(seed)
    y = (rng.random((n, TAGS)) < 0.1).astype(np.float32)
    w = np.random.default_rng(1).normal(size=(TAGS, dim)).astype(np.float32)
    x = (0.3 * y @ w + rng.normal(size=(n, dim))).astype(np.float32)
    return x, y


def matmul_rate(device: torch.device) -> float:
    """FLOP/s of a (256 × 1024) @ (1024 × 512) float32 GEMM (the MLP probe's first layer), best of several runs."""
    a, b = torch.randn(BATCH, DIM, device=device), torch.randn(DIM, 512, device=device)
    for _ in range(5):
        a @ b
    best = float("inf")
    for _ in range(5):
        _sync(device)
        t, n = time.perf_counter(), 0
        while time.perf_counter() - t < 0.3:
            a @ b
            n += 1
        _sync(device)
        best = min(best, (time.perf_counter() - t) / n)
    return 2 * BATCH * DIM * 512 / best


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


_GEMM_CACHE: dict = {}


def gemm_seconds(m: int, k: int, n: int, device: torch.device, transpose_a: bool = False) -> float:
    """Seconds of one (m × k) @ (k × n) float32 GEMM on ``device`` (best of several timed loops; memoised)."""
    key = (m, k, n, transpose_a, device.type)
    if key not in _GEMM_CACHE:
        a = torch.randn(k, m, device=device).T if transpose_a else torch.randn(m, k, device=device)
        b = torch.randn(k, n, device=device)
        for _ in range(3):
            a @ b
        best = float("inf")
        for _ in range(5):
            _sync(device)
            t, reps = time.perf_counter(), 0
            while time.perf_counter() - t < 0.1:
                a @ b
                reps += 1
            _sync(device)
            best = min(best, (time.perf_counter() - t) / reps)
        _GEMM_CACHE[key] = best
    return _GEMM_CACHE[key]


def gemm_floor(points: list[dict], epochs: int, device: torch.device, n_train: int = N_TRAIN,
               n_valid: int = N_VALID, dim: int = DIM, out: int = TAGS) -> float:
    """Seconds the matmuls of ``epochs`` epochs of every probe in ``points`` take alone (see the module docstring):
    per training step an MLP needs x@W1, h@W2 (forward), x^T@dZ, h^T@dY (weight gradients) and dY@W2^T (hidden
    gradient); a linear head x@W and x^T@dY; every epoch ends with the validation forward."""
    b = BATCH
    full, last = divmod(n_train, b)
    total = 0.0
    for p in points:
        h = p["hidden"]
        if h:
            step = (gemm_seconds(b, dim, h, device) + gemm_seconds(b, h, out, device)
                    + gemm_seconds(dim, b, h, device, True) + gemm_seconds(h, b, out, device, True)
                    + gemm_seconds(b, out, h, device))
            val = gemm_seconds(n_valid, dim, h, device) + gemm_seconds(n_valid, h, out, device)
        else:
            step = gemm_seconds(b, dim, out, device) + gemm_seconds(dim, b, out, device, True)
            val = gemm_seconds(n_valid, dim, out, device)
        total += epochs * (step * (full + last / b) + val)
    return total


def fit_flops(points: list[dict], epochs: int, n_train: int = N_TRAIN, n_valid: int = N_VALID,
              dim: int = DIM, out: int = TAGS) -> float:
    from probes.flops import head_flops

    total = 0.0
    for p in points:
        train, fwd = head_flops(dim, p["hidden"], out)
        total += epochs * (n_train * train + n_valid * fwd)
    return total


# ---------------------------------------------------------------------------------------------------------------
# the plain reference
# ---------------------------------------------------------------------------------------------------------------
def plain_fit(x_tr, y_tr, x_va, y_va, *, hidden, dropout, lr, epochs, device, profile: dict | None = None) -> float:
    """The same math as one engine fit, in a plain PyTorch loop: standardised inputs, nn.Linear head(s), AdamW,
    randperm batches, per-epoch validation (chunked forward + the same batched PR-AUC) and a best-weights copy.
    ``profile``: a dict that receives the launch count of steps 4-8 (:func:`probes.flops.launches`; the timing is then
    meaningless)."""
    from probes import batched_metrics as bm
    from probes.data import Standardizer
    from probes.optim import make_adamw

    t0 = time.perf_counter()
    std = Standardizer.fit(x_tr)
    xt, xv = torch.from_numpy(std(x_tr)).to(device), torch.from_numpy(std(x_va)).to(device)
    yt = torch.from_numpy(y_tr).to(device)
    seg = np.arange(len(x_va) + 1)
    g = torch.Generator().manual_seed(0)
    if hidden:
        net = torch.nn.Sequential(torch.nn.Linear(DIM, hidden), torch.nn.ReLU(), torch.nn.Dropout(dropout),
                                  torch.nn.Linear(hidden, TAGS))
    else:
        net = torch.nn.Sequential(torch.nn.Dropout(dropout), torch.nn.Linear(DIM, TAGS))
    net = net.to(device)
    opt = make_adamw(net.parameters(), 1e-2, lr=lr)  # the engine's optimizer implementation: the same math
    best, best_state = -np.inf, None
    for _ in range(epochs):
        net.train()
        perm = torch.randperm(len(xt), generator=g).to(device)
        for i in range(0, len(xt), BATCH):
            step = i // BATCH
            prof = _profiler(device) if profile is not None and 3 <= step < 3 + PROFILED_STEPS else None
            with prof or contextlib.nullcontext():
                idx = perm[i:i + BATCH]
                loss = torch.nn.functional.binary_cross_entropy_with_logits(net(xt[idx]), yt[idx])
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                _sync(torch.device(device))
            if prof is not None:
                from probes.flops import launches

                profile["launches"] = profile.get("launches", 0) + launches(prof.events(), device.startswith("cuda"))
                profile["steps"] = profile.get("steps", 0) + 1
        net.eval()
        with torch.no_grad():
            probs = torch.cat([torch.sigmoid(net(xv[i:i + 8192])) for i in range(0, len(xv), 8192)])
            score = float(bm.pr_auc_macro(bm.segment_mean(probs[None], seg), y_va)[0])
        if score > best:
            best, best_state = score, {k: v.clone() for k, v in net.state_dict().items()}
    net.load_state_dict(best_state)
    _sync(torch.device(device))
    return time.perf_counter() - t0


def _profiler(device: str):
    from torch.profiler import ProfilerActivity, profile

    return profile(activities=[ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if device.startswith("cuda") else []))


def engine_sweep(x_tr, y_tr, x_va, y_va, grid, epochs, device,
                 profile_steps: int = 0) -> tuple[float, object, dict]:
    """Seconds of one engine sweep of ``grid``, its result, and its counts (:func:`probes.flops.count_flops`:
    steps, and the launch count of ``profile_steps`` profiled steps — those make the timing meaningless)."""
    from probes.data import ProbeData
    from probes.flops import count_flops
    from probes.training import sweep

    with count_flops(profile_steps=profile_steps) as flops:
        t0 = time.perf_counter()
        res = sweep("multilabel", ProbeData(x_tr, y_tr, None), ProbeData(x_va, y_va, None), grid=grid,
                    max_epochs=epochs, patience=epochs + 1, device=device)
        _sync(torch.device(device))
        seconds = time.perf_counter() - t0
    return seconds, res, flops


def launches_per_step(x_tr, y_tr, x_va, y_va, grid, device) -> float:
    """The launch count of one training step of ``grid``'s sweep (a separate, untimed one-epoch run)."""
    flops = engine_sweep(x_tr, y_tr, x_va, y_va, grid, 1, device, profile_steps=PROFILED_STEPS)[2]
    return flops["launches"] / max(flops["profiled_steps"], 1)


# ---------------------------------------------------------------------------------------------------------------
# cases
# ---------------------------------------------------------------------------------------------------------------
def case_fits(device: str, epochs: int, rate: float, x_tr, y_tr, x_va, y_va, repeats: int = 2) -> dict:
    """Cases 1, 2 and their floors; each timing is the best of ``repeats`` runs (the least disturbed)."""
    from probes.grid import GRID, grid_points

    out = {}
    dev = torch.device(device)
    for name, hidden in (("MLP 512", 512), ("linear", 0)):
        grid = {"lr": [1e-3], "hidden": [hidden], "dropout": [0.2]}
        plain_fit(x_tr[:2048], y_tr[:2048], x_va, y_va, hidden=hidden, dropout=0.2, lr=1e-3, epochs=1,
                  device=device)  # warm-up
        t_plain = min(plain_fit(x_tr, y_tr, x_va, y_va, hidden=hidden, dropout=0.2, lr=1e-3, epochs=epochs,
                                device=device) for _ in range(repeats))
        runs = [engine_sweep(x_tr, y_tr, x_va, y_va, grid, epochs, device) for _ in range(repeats)]
        t_eng = min(r[0] for r in runs)
        plain_prof: dict = {}
        plain_fit(x_tr, y_tr, x_va, y_va, hidden=hidden, dropout=0.2, lr=1e-3, epochs=1, device=device,
                  profile=plain_prof)
        floor, gfloor = fit_flops(grid_points(grid), epochs) / rate, gemm_floor(grid_points(grid), epochs, dev)
        out[name] = {"engine_s": t_eng, "plain_s": t_plain, "floor_s": floor, "gemm_floor_s": gfloor,
                     **_step_figures({**runs[0][2], "launches": 0, "profiled_steps": 0}, t_eng),
                     "launches_per_step": launches_per_step(x_tr, y_tr, x_va, y_va, grid, device),
                     "plain_launches_per_step": plain_prof["launches"] / plain_prof["steps"]}
        print(f"  one {name} fit, {epochs} epochs:  engine {t_eng:6.2f} s   plain loop {t_plain:6.2f} s   "
              f"ratio {t_eng / t_plain:4.2f}x   floor: peak {floor:5.2f} s ({t_eng / floor:4.2f}x), "
              f"GEMM {gfloor:5.2f} s ({t_eng / gfloor:4.2f}x)   {_steps_text(out[name])} "
              f"(plain loop: {out[name]['plain_launches_per_step']:.0f})", flush=True)
    runs = [engine_sweep(x_tr, y_tr, x_va, y_va, GRID, epochs, device) for _ in range(repeats)]
    t_sweep = min(r[0] for r in runs)
    floor, gfloor = fit_flops(grid_points(GRID), epochs) / rate, gemm_floor(grid_points(GRID), epochs, dev)
    one = out["MLP 512"]["engine_s"]
    out["sweep"] = {"engine_s": t_sweep, "floor_s": floor, "gemm_floor_s": gfloor, "vs_one_fit": t_sweep / one,
                    **_step_figures({**runs[0][2], "launches": 0, "profiled_steps": 0}, t_sweep),
                    "launches_per_step": launches_per_step(x_tr, y_tr, x_va, y_va, GRID, device)}
    print(f"  12-point sweep, {epochs} epochs:  engine {t_sweep:6.2f} s = {t_sweep / one:4.2f}x one MLP fit   "
          f"floor: peak {floor:5.2f} s ({t_sweep / floor:4.2f}x), GEMM {gfloor:5.2f} s ({t_sweep / gfloor:4.2f}x)   "
          f"{_steps_text(out['sweep'])}", flush=True)
    return out


def case_layers(device: str, epochs: int, rate: float, n_layers: int, threads: int | None) -> dict:
    """Runs in a fresh process (peak memory): one layer, then ``n_layers`` layers read from memory maps."""
    cmd = [sys.executable, "-m", "benchmarks.perf.probes", "--_layers-child", str(n_layers), "--device", device,
           "--layer-epochs", str(epochs)] + (["--threads", str(threads)] if threads else [])
    res = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=True)
    info = json.loads(res.stdout.strip().splitlines()[-1])
    from probes.grid import GRID, grid_points

    floor = n_layers * fit_flops(grid_points(GRID), epochs) / rate
    gfloor = n_layers * gemm_floor(grid_points(GRID), epochs, torch.device(device))
    info["floor_s"], info["gemm_floor_s"] = floor, gfloor
    print(f"  {n_layers} layers x 12 points, {epochs} epochs:  {info['all_s']:7.2f} s = "
          f"{info['all_s'] / info['one_s']:5.2f}x one layer ({info['one_s']:.2f} s; ideal {n_layers}x)   "
          f"floor: peak {floor:6.2f} s ({info['all_s'] / floor:4.2f}x), GEMM {gfloor:6.2f} s "
          f"({info['all_s'] / gfloor:4.2f}x)   {info['fits']} fits {info['layers_per_fit']}   "
          f"peak RSS {info['peak_rss_mb']:.0f} MB", flush=True)
    return info


def _layers_child(n_layers: int, device: str, epochs: int) -> None:
    from probes.grid import GRID
    from probes.layers import LayerInputs, sweep_layers

    x_tr, y_tr = mtat_like(N_TRAIN, 1)
    x_va, y_va = mtat_like(N_VALID, 2)
    with tempfile.TemporaryDirectory() as tmp:
        maps = {}
        rng = np.random.default_rng(3)
        for layer in range(n_layers):  # per-layer arrays on disk, as the runner's consolidated store
            for split, x in (("train", x_tr), ("valid", x_va)):
                m = np.lib.format.open_memmap(f"{tmp}/{split}-{layer}.npy", mode="w+", dtype=np.float32,
                                              shape=x.shape)
                m[:] = x * (1 + 0.01 * layer) + 0.01 * rng.standard_normal(x.shape[1], dtype=np.float32)
                m.flush()
                maps[(layer, split)] = f"{tmp}/{split}-{layer}.npy"
        del x_tr, x_va
        reset_peak()

        def inputs(layers):
            return LayerInputs(layers=layers, rows=lambda l, s: np.load(maps[(l, s)], mmap_mode="r"),
                               y={"train": y_tr, "valid": y_va},
                               segments={"train": np.arange(N_TRAIN + 1), "valid": np.arange(N_VALID + 1)},
                               dim=DIM)

        kw = dict(grid=GRID, n_out=TAGS, device=device, max_epochs=epochs, patience=epochs + 1)
        t = time.perf_counter()
        sweep_layers("multilabel", inputs([0]), **kw)
        one = time.perf_counter() - t
        fits = []
        t = time.perf_counter()
        sweep_layers("multilabel", inputs(list(range(n_layers))), progress=fits.append, **kw)
        all_s = time.perf_counter() - t
    print(json.dumps({"one_s": one, "all_s": all_s, "fits": len(fits), "layers_per_fit": fits,
                      "peak_rss_mb": peak_rss_mb()}))






def _run_beats(task: str, data: Path, device: str, rate: float, joint_folds: bool = True) -> dict:
    from benchmarks.runner import RunOptions, run
    from probes.flops import count_flops

    with tempfile.TemporaryDirectory() as tmp, count_flops(profile_steps=PROFILED_STEPS) as flops:
        t = time.perf_counter()
        res = run(RunOptions(model="mel", task=task, data_dir=str(data), cache_dir=tmp, results_dir=tmp,
                             device=device, progress=False, joint_folds=joint_folds))
        total = time.perf_counter() - t
    rec = res.records[0]
    probe_s = rec["timings"]["probe_s"]
    return {"task": task, "folds": rec["protocol"]["folds"], "total_s": total, "extract_s": res.extraction_seconds,
            "probe_s": probe_s, "f_measure": rec["metrics"]["f_measure"],
            "f_measure_folds": [r["metrics"]["f_measure"] for r in rec["runs"]],
            "probe_gflop": (flops["train"] + flops["eval"]) / 1e9,
            "floor_s": (flops["train"] + flops["eval"]) / rate, **_step_figures(flops, probe_s)}


#: Training steps profiled per case for the launch count (after 3 warm-up steps; see probes.flops.count_flops).
PROFILED_STEPS = 5


def _step_figures(flops: dict, seconds: float) -> dict:
    """Steps, seconds per step (the case's probe time, validation included, over its optimizer steps) and the
    launch count per step (kernels on CUDA, dispatched operators that run a kernel on CPU; the profiled steps'
    mean, :func:`probes.flops.launches`)."""
    steps = int(flops["steps"])
    return {"steps": steps, "ms_per_step": 1e3 * seconds / max(steps, 1),
            "launches_per_step": flops["launches"] / flops["profiled_steps"] if flops["profiled_steps"] else None}


def _steps_text(info: dict) -> str:
    launches = info.get("launches_per_step")
    return (f"{info['steps']} steps, {info['ms_per_step']:.2f} ms/step, "
            f"{'-' if launches is None else f'{launches:.0f}'} launches/step")


def case_beats(device: str, rate: float) -> dict:
    """Two beat sets end to end with a fresh embedding cache (the rendered audio is reused): ``synth-beats`` (32
    tracks x 24 s, its own split) and a 24-track x 20 s set with 8-fold cross-validation (the issue-11 set, rendered
    by :mod:`benchmarks.perf.gtzan_beats` in the GTZAN layout). The floor is the arithmetic the engine counted
    (:func:`probes.flops.count_flops`: every training step's and validation pass's head matmuls) at the machine's
    peak matmul rate."""
    from benchmarks.cache import default_cache_dir
    from benchmarks.perf.gtzan_beats import render
    from benchmarks.synth import synthesize

    sets = {"synth-beats": synthesize(default_cache_dir() / "synth", sets=("beats",), progress=False)["beats"],
            "beats-gtzan": render(default_cache_dir() / "perf" / "beats-24x20", n_tracks=24, seconds=20.0,
                                  progress=False)}
    out = {}
    for task, data in sets.items():
        runs = [("", True)] if task == "synth-beats" else [(" one fit per fold", False), (" folds in one fit", True)]
        for suffix, joint in runs:
            info = _run_beats(task, data, device, rate, joint_folds=joint)
            label = ("synth-beats (32 x 24 s, own split)" if task == "synth-beats" else "24 x 20 s, 8-fold CV") + suffix
            print(f"  {label:42s} end to end (mel): {info['total_s']:6.2f} s = "
                  f"{info['total_s'] / max(info['extract_s'], 1e-9):5.1f}x its extraction "
                  f"({info['extract_s']:.2f} s); probes {info['probe_s']:.2f} s ({_steps_text(info)}; "
                  f"{info['probe_s'] / info['floor_s']:.1f}x their floor); F-measure {info['f_measure']:.3f}; "
                  f"floor: peak {info['floor_s']:.2f} s ({info['total_s'] / info['floor_s']:.2f}x; "
                  f"{info['probe_gflop']:.0f} GFLOP counted)", flush=True)
            out[task + ("" if joint else "/separate")] = info
    sep, joint = out["beats-gtzan/separate"], out["beats-gtzan"]
    print(f"  folds in one fit vs one fit per fold: probes {joint['probe_s'] / sep['probe_s']:.2f}x the time, "
          f"{joint['steps'] / sep['steps']:.2f}x the steps; F per fold "
          + " ".join(f"{a:.3f}/{b:.3f}" for a, b in zip(sep["f_measure_folds"], joint["f_measure_folds"])),
          flush=True)
    return out


def print_targets(device: str, info: dict) -> None:
    """Issue 19's targets beside this run's figures (GPU targets: only measured on CUDA)."""
    beats, fits = info.get("beats", {}), info
    rows = []
    if device == "cuda":
        if "beats-gtzan" in beats:
            b = beats["beats-gtzan"]
            rows.append(("24 x 20 s 8-fold: <= 5 s of probes", f"{b['probe_s']:.1f} s", b["probe_s"] <= 5))
        for name, b in beats.items():
            if "/" not in name:
                ratio = b["probe_s"] / b["floor_s"]
                rows.append((f"{name}: probes within 10x their FLOP floor", f"{ratio:.1f}x", ratio <= 10))
        ratio = fits["MLP 512"]["engine_s"] / fits["MLP 512"]["plain_s"]
        rows.append(("one MLP fit <= 1.3x the plain PyTorch loop", f"{ratio:.2f}x", ratio <= 1.3))
        rows.append(("GTZAN-size beats <= 60 s end to end", "python -m benchmarks.perf.gtzan_beats --device cuda",
                     None))
    else:
        if "beats-gtzan" in beats:
            ratio = beats["beats-gtzan"]["probe_s"] / beats["beats-gtzan/separate"]["probe_s"]
            rows.append(("CPU not slower: folds in one fit vs one fit per fold", f"{ratio:.2f}x", ratio <= 1.0))
        rows.append(("CPU: GTZAN-size set <= 20 min on 2 cores", "python -m benchmarks.perf.gtzan_beats", None))
        rows.append(("GPU targets (24 x 20 s <= 5 s, 10x floor, MLP <= 1.3x, GTZAN <= 60 s)",
                     "need --device cuda", None))
    print(f"targets ({device}):")
    for what, value, met in rows:
        print(f"  {what:70s} {value:24s} {'-' if met is None else 'met' if met else 'NOT met'}")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--device", default="all", help="cpu, cuda, or all (cpu, then cuda when available)")
    ap.add_argument("--epochs", type=int, default=5, help="epochs of every fit in cases 1-2 (default 5)")
    ap.add_argument("--layer-epochs", type=int, default=2, help="epochs of every fit in case 3 (default 2)")
    ap.add_argument("--layers", type=int, default=24, help="layers of case 3 (default 24)")
    ap.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's, all cores)")
    ap.add_argument("--repeats", type=int, default=2, help="timings of cases 1-2 are the best of N runs (default 2)")
    ap.add_argument("--skip-beats", action="store_true")
    ap.add_argument("--skip-layers", action="store_true")
    ap.add_argument("--_layers-child", type=int, default=None, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    if args._layers_child is not None:
        _layers_child(args._layers_child, args.device, args.layer_epochs)
        return 0
    devices = ["cpu", "cuda"] if args.device == "all" else [args.device]
    devices = [d for d in devices if d == "cpu" or torch.cuda.is_available()]
    if args.device == "all" and not torch.cuda.is_available():
        print("(no CUDA device here: CPU only)")
    x_tr, y_tr = mtat_like(N_TRAIN, 1)
    x_va, y_va = mtat_like(N_VALID, 2)
    report = {}
    for device in devices:
        dev = torch.device(device)
        rate = matmul_rate(dev)
        name = torch.cuda.get_device_name(dev) if dev.type == "cuda" else f"CPU, {torch.get_num_threads()} threads"
        print(f"== {device}: {name}; torch {torch.__version__}; matmul rate {rate / 1e9:.1f} GFLOP/s "
              f"(256x1024 @ 1024x512 float32)", flush=True)
        print(f"MTAT shape: {N_TRAIN} x {DIM} train, {N_VALID} valid, {TAGS} tags, batch {BATCH}", flush=True)
        report[device] = {"matmul_gflops": rate / 1e9, **case_fits(device, args.epochs, rate, x_tr, y_tr, x_va, y_va,
                                                                           args.repeats)}
        if not args.skip_layers:
            report[device]["layers"] = case_layers(device, args.layer_epochs, rate, args.layers, args.threads)
        if not args.skip_beats:
            report[device]["beats"] = case_beats(device, rate)
        print_targets(device, report[device])
    print(json.dumps(report, default=float))
    return 0


if __name__ == "__main__":
    sys.exit(main())
