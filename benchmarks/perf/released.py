"""The released table's workload at real size, on synthetic audio of the real durations (no data needed).

    python -m benchmarks.perf.released [--scale 0.01] [--device cpu|cuda] [--model random-base] [--tasks mtat,…]
                                       [--cache-dtype float32|float16] [--dir DIR] [--json]

Every task of the released-models table, with its real file count and durations (``--scale`` takes that fraction of
the files, at least one; the durations stay real):

==============  ======================  ========  =====================================================
task            files x seconds         frontend  probe (as the runner trains it)
==============  ======================  ========  =====================================================
mtat            21,105 x 29.1           clip 30 s 50 tags, one split
nsynth-pitch    305,979 x 4             clip 4 s  128 classes, one split (289,205 / 12,678 / 4,096)
chords          1,217 x 240             frame     25 classes, 5 folds
structure       912 x 220               frame     7 classes, 8 folds
beats-gtzan     999 x 30                frame     beat / no beat, 8 folds
difficulty      7,901 x 120 (assumed)   clip 30 s 10 ordinal outputs, 5 folds
==============  ======================  ========  =====================================================

PianoSyllabus's piece lengths are not published with the set; 120 s per piece is this script's assumption.

For each task it runs the real extraction path (:func:`benchmarks.extract.extract`: decoding of WAV files written
for it, the encoder on every layer, the cache) and prints:

- extraction time, real-time factor (audio seconds per second), achieved TFLOP/s (the encoder's FLOPs per audio
  second, counted once with ``torch.utils.flop_counter.FlopCounterMode`` on a 30 s window, times the audio
  extracted, over the time) and the share of the extraction the encoder was busy;
- bytes stored (measured on disk: entries + index), and at full size (divided by ``--scale``);
- the probe stage's FLOP floor at full size (:func:`probes.flops.head_flops` for every training row of the
  schedule — the 12-point grid, every layer, every fold, 100 epochs for clip tasks, 8,000 steps of 256 frames for
  frame tasks — plus one validation pass per epoch or per 500 steps) over the device's measured matmul rate, and the
  measured time of one epoch of that sweep on the scaled set, every layer (the engine's own FLOP count gives its
  achieved rate; the full-size probe time is extrapolated at that rate);
- the total (extraction + extrapolated probe time) at full size; where the scaled epoch is too small to measure the
  engine's rate (< 10 GFLOP), the probe floor stands in and the total is a lower bound (``>=``).

The figures at full size are extrapolations from the scaled run, marked as such.
"""
from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np


@dataclass(frozen=True)
class Workload:
    name: str
    files: int
    seconds: float
    mode: str              # clip | frame
    chunk: float | None
    kind: str              # the probe kind
    n_out: int
    folds: int
    train_fraction: float  # of the files, per fold


WORKLOADS = [
    Workload("mtat", 21_105, 29.1, "clip", 30.0, "multilabel", 50, 1, 15_244 / 21_105),
    Workload("nsynth-pitch", 305_979, 4.0, "clip", 4.0, "multiclass", 128, 1, 289_205 / 305_979),
    Workload("chords", 1_217, 240.0, "frame", None, "framewise-multiclass", 25, 5, 0.8 * 0.9),
    Workload("structure", 912, 220.0, "frame", None, "framewise-multiclass", 7, 8, 6 / 8),
    Workload("beats-gtzan", 999, 30.0, "frame", None, "framewise", 1, 8, 6 / 8),
    Workload("difficulty", 7_901, 120.0, "clip", 30.0, "multilabel", 10, 5, 0.8 * 0.9),
]
GRID_POINTS = 12
CLIP_EPOCHS = 100
FRAME_STEPS, FRAME_BATCH, FRAME_VALIDATE_EVERY = 8_000, 256, 500


def encoder_flops_per_second(encoder, device) -> float:
    """FLOPs of the encoder's forward (every layer) per second of audio, counted on one 30 s window."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    x = torch.randn(1, int(30 * encoder.sr), generator=torch.Generator().manual_seed(0)).to(device) * 0.1
    with torch.inference_mode(), FlopCounterMode(display=False) as fc:
        encoder.model.extract_embeddings(x, list(range(encoder.num_layers)))
    return fc.get_total_flops() / 30.0


def probe_floor_flops(w: Workload, dim: int, n_layers: int, rows_per_file: float) -> float:
    """The matmul FLOPs of the full-size probe schedule (see the module docstring): half the grid linear, half an
    MLP with 512 hidden units."""
    from probes.flops import head_flops

    lin_t, lin_f = head_flops(dim, 0, w.n_out)
    mlp_t, mlp_f = head_flops(dim, 512, w.n_out)
    train_per_row = GRID_POINTS / 2 * (lin_t + mlp_t)
    eval_per_row = GRID_POINTS / 2 * (lin_f + mlp_f)
    n_train = w.files * w.train_fraction * rows_per_file
    n_valid = w.files * (1 - w.train_fraction) / 2 * rows_per_file
    if w.mode == "clip":
        rows_trained, validations = n_train * CLIP_EPOCHS, CLIP_EPOCHS
    else:
        rows_trained = min(FRAME_STEPS * FRAME_BATCH, n_train * CLIP_EPOCHS)
        validations = max(1, rows_trained // (FRAME_VALIDATE_EVERY * FRAME_BATCH))
    return float(n_layers * w.folds * (rows_trained * train_per_row + validations * n_valid * eval_per_row))


def write_audio(folder: Path, w: Workload, n: int, sr: int = 16000) -> list:
    """``n`` WAV files of ``w.seconds`` of quiet noise (16-bit): the examples the extraction reads."""
    import soundfile as sf

    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    out = []
    for i in range(n):
        p = folder / f"{w.name}-{i:05d}.wav"
        sf.write(p, (0.05 * rng.standard_normal(int(w.seconds * sr))).astype(np.float32), sr, subtype="PCM_16")
        out.append(_Example(f"{w.name}-{i}", p))
    return out


@dataclass(frozen=True)
class _Example:
    id: str
    audio_path: Path


def tree_bytes(root: Path) -> int:
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file()) if root.exists() else 0


def measure(w: Workload, encoder, args, work: Path, rate: float, flops_per_s: float) -> dict:
    import torch

    from probes.kinds import get_kind
    from benchmarks.arrays import consolidate
    from benchmarks.cache import EmbeddingCache
    from benchmarks.extract import Frontend, extract
    from probes.flops import count_flops
    from probes.layers import LayerInputs, sweep_layers

    n = max(1, int(round(w.files * args.scale)))
    examples = write_audio(work / "audio" / w.name, w, n)
    cache = EmbeddingCache(work / "cache", dtype=args.cache_dtype)
    front = Frontend(w.mode, chunk_seconds=w.chunk)
    layers = list(range(encoder.num_layers))
    ext = extract(encoder, examples, layers, front, cache, progress=False)
    ids = [e.id for e in examples]
    arrays = consolidate(cache, ext.entries, ids, layers)
    stored = tree_bytes(work / "cache" / "embeddings") + tree_bytes(work / "cache" / "arrays")
    audio_s = n * w.seconds
    rows_per_file = arrays.n_rows / n
    dim = arrays.dim(layers[-1])
    # one epoch of the protocol's sweep on the scaled set, every layer (train on all but one file, validate on it)
    n_tr = max(1, n - 1)
    tr, va = ids[:n_tr], ids[n_tr:] or ids[:1]
    rng = np.random.default_rng(0)

    def targets(split_ids):
        rows = int(arrays.counts(split_ids).sum())
        if get_kind(w.kind).target_dtype == torch.long:  # class ids
            return rng.integers(0, w.n_out, rows)
        return (rng.random((rows, w.n_out)) < 0.2).astype(np.float32)

    segs = {s: np.concatenate([[0], np.cumsum(arrays.counts(x))]) for s, x in (("train", tr), ("valid", va))}
    inputs = LayerInputs(layers=layers, rows=lambda layer, s: arrays.take(layer, tr if s == "train" else va),
                         y={"train": targets(tr), "valid": targets(va)}, segments=segs, dim=dim)
    kw = {"max_epochs": 1} if w.mode == "clip" else {"max_epochs": 1, "steps_per_round": FRAME_VALIDATE_EVERY,
                                                     "max_steps": FRAME_STEPS, "patience_steps": 2000}
    t = time.perf_counter()
    with count_flops() as fl:
        sweep_layers(w.kind, inputs, seeds=[0], n_out=w.n_out, device=args.device, **kw)
    probe_epoch_s = time.perf_counter() - t
    probe_epoch_flops = fl["train"] + fl["eval"]
    achieved = probe_epoch_flops / probe_epoch_s if probe_epoch_s > 0 else float("nan")
    floor = probe_floor_flops(w, dim, len(layers), rows_per_file)
    full_extract_s = ext.seconds / args.scale if n < w.files else ext.seconds
    # the engine's achieved rate means something only when the scaled epoch did real work (>= 10 GFLOP)
    full_probe_s = floor / achieved if probe_epoch_flops >= 10e9 else None
    return {
        "task": w.name, "files": n, "files_full": w.files, "seconds_per_file": w.seconds,
        "audio_s": audio_s, "extract_s": round(ext.seconds, 3), "rtf": round(audio_s / ext.seconds, 2),
        "tflops": round(flops_per_s * audio_s / ext.seconds / 1e12, 4),
        "encoder_busy_share": round(ext.busy_seconds / ext.seconds, 3),
        "stored_bytes": stored, "stored_bytes_full": int(stored * w.files / n),
        "rows": arrays.n_rows, "dim": dim, "layers": len(layers),
        "probe_epoch_s": round(probe_epoch_s, 3), "probe_epoch_gflop": round(probe_epoch_flops / 1e9, 2),
        "probe_floor_tflop_full": round(floor / 1e12, 2), "probe_floor_s_full": round(floor / rate, 1),
        "probe_s_full_extrapolated": round(full_probe_s, 1) if full_probe_s is not None else None,
        "extract_s_full_extrapolated": round(full_extract_s, 1),
        "total_s_full_extrapolated": round(full_extract_s + (full_probe_s if full_probe_s is not None
                                                             else floor / rate), 1),
        "total_is_lower_bound": full_probe_s is None,
    }


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scale", type=float, default=0.01, help="fraction of each task's files (default 0.01)")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--model", default="random-base")
    ap.add_argument("--tasks", default=",".join(w.name for w in WORKLOADS))
    ap.add_argument("--cache-dtype", default="float32", choices=["float32", "float16"])
    ap.add_argument("--dir", default=None, help="work folder (default: a temporary one, deleted afterwards)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    import torch

    from benchmarks.encoders import load_encoder
    from benchmarks.perf.probes import matmul_rate
    from benchmarks.storage import human

    dev = torch.device(args.device)
    encoder = load_encoder(args.model, device=args.device)
    rate = matmul_rate(dev)
    fps = encoder_flops_per_second(encoder, dev)
    name = torch.cuda.get_device_name(dev) if dev.type == "cuda" else f"CPU, {torch.get_num_threads()} threads"
    print(f"== {args.model} ({encoder.num_layers} layers) on {name}; torch {torch.__version__}; encoder "
          f"{fps / 1e9:.1f} GFLOP per audio second; matmul rate {rate / 1e9:.1f} GFLOP/s; scale {args.scale:g}; "
          f"cache {args.cache_dtype}")
    chosen = [w for w in WORKLOADS if w.name in args.tasks.split(",")]
    results = []
    work_root = Path(tempfile.mkdtemp(dir=args.dir, prefix="released-"))
    try:
        for w in chosen:
            r = measure(w, encoder, args, work_root / w.name, rate, fps)
            results.append(r)
            shutil.rmtree(work_root / w.name, ignore_errors=True)
            print(f"{w.name:13s} {r['files']:>6d}/{w.files} files x {w.seconds:g} s: extract {r['extract_s']:.1f} s "
                  f"(RTF {r['rtf']:.1f}, {r['tflops']:.3f} TFLOP/s, encoder busy {r['encoder_busy_share']:.0%}); "
                  f"stored {human(r['stored_bytes'])} (full size {human(r['stored_bytes_full'])}); "
                  f"probe: one epoch {r['probe_epoch_s']:.1f} s ({r['probe_epoch_gflop']:.0f} GFLOP), full-size "
                  f"floor {r['probe_floor_s_full']:.0f} s ({r['probe_floor_tflop_full']:.1f} TFLOP); full size "
                  f"(extrapolated): extract {r['extract_s_full_extrapolated'] / 3600:.2f} h + probe "
                  + (f"{r['probe_s_full_extrapolated'] / 3600:.2f} h" if r["probe_s_full_extrapolated"] is not None
                     else f">= {r['probe_floor_s_full'] / 3600:.2f} h (floor)")
                  + f" = {'>= ' if r['total_is_lower_bound'] else ''}{r['total_s_full_extrapolated'] / 3600:.2f} h",
                  flush=True)
    finally:
        shutil.rmtree(work_root, ignore_errors=True)
    total = sum(r["total_s_full_extrapolated"] for r in results)
    print(f"total at full size (extrapolated): {total / 3600:.1f} h; stored "
          f"{human(sum(r['stored_bytes_full'] for r in results))}")
    if args.json:
        print(json.dumps({"model": args.model, "device": name, "scale": args.scale, "tasks": results}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
