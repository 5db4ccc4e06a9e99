"""Extraction speed and memory of a full-size OMAR-RQ encoder on CPU, measured within one run.

    python -m benchmarks.perf.extract [--config cfg/models/base.gin] [--seconds 30] [--long-minutes 10,20]

1. Early stop: time of ``extract_embeddings(layers=[5])`` vs ``layers=[-1]`` on ``--seconds`` of audio (the best of
   ``--repeats`` runs after a warm-up: the least disturbed by other processes); the ratio shows the encoder stopping
   after block 5.
2. Bounded memory: peak resident memory *during extraction* of a ``--long-minutes`` input with windowing (the
   default) versus one whole-clip pass, each case in a fresh subprocess. The kernel's peak-RSS counter is reset after
   the model is loaded (``/proc/self/clear_refs``), so loading does not count. Random weights: speed and memory do
   not depend on their values.
3. One clip batch (``--clip-batch`` clips of ``--seconds``, every layer, the runner's path:
   :func:`benchmarks.extract.forward` with the mean over time on the device) on ``--device`` (``cpu`` or ``cuda``),
   float32 against bf16 autocast: time, real-time factor, achieved TFLOP/s (``FlopCounterMode``'s count of the
   forward) and the encoder-busy share of the batch (forward time / time including the copy back). ``--clip-only``
   runs just this case.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
import warnings
from pathlib import Path

import torch
from benchmarks.memory import peak_rss_mb, reset_peak, rss_mb

ROOT = Path(__file__).resolve().parents[2]




def _load(config: str, window_seconds: float):
    from omar_rq import get_model

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return get_model(config_file=config, load_weights=False, window_seconds=window_seconds)


def _time(model, audio, layers, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        model.extract_embeddings(audio, layers)
        times.append(time.perf_counter() - t)
    return min(times)






def memory_case(config: str, minutes: float, windowed: bool, layers: list[int]) -> dict:
    """Run in a subprocess: load, then one extraction of ``minutes`` of audio; peak RSS of this process."""
    model = _load(config, window_seconds=30.0 if windowed else 1e9)
    audio = torch.randn(1, int(minutes * 60 * model.sr)) * 0.1
    after_load = rss_mb()
    reset_peak()
    t = time.perf_counter()
    out = model.extract_embeddings(audio, layers)
    seconds = time.perf_counter() - t
    peak = peak_rss_mb()
    return {"windowed": windowed, "after_load_mb": after_load, "peak_mb": peak, "seconds": seconds,
            "shape": list(out.shape)}


def clip_batch(args) -> list[dict]:
    """Case 3 of the module docstring; prints one line per precision and returns the figures."""
    from torch.utils.flop_counter import FlopCounterMode

    from benchmarks.encoders import Encoder
    from benchmarks.extract import forward

    device = torch.device(args.device)
    model = _load(args.config, 30.0).to(device).eval()
    enc = Encoder(model=model, name=Path(args.config).stem, kind="random", source=args.config, fingerprint="perf")
    layers = list(range(model.num_layers))
    audio = (torch.randn(args.clip_batch, int(args.seconds * model.sr)) * 0.1).to(device)
    with torch.inference_mode(), FlopCounterMode(display=False) as fc:
        model.extract_embeddings(audio[:1], layers)
    flops = fc.get_total_flops() * args.clip_batch
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else f"CPU, {torch.get_num_threads()} threads"
    print(f"one clip batch: {args.clip_batch} x {args.seconds:g} s, {len(layers)} layers, on {name} "
          f"({flops / 1e12:.2f} TFLOP per batch):")
    out = []
    for bf16 in (False, True):
        class Timer:
            busy_seconds = 0.0

        with torch.inference_mode():
            forward(enc, audio[:1, : model.sr], layers, pool=True, bf16=bf16)   # warm-up
            times = []
            for _ in range(max(1, args.repeats // 2)):
                timer = Timer()
                if device.type == "cuda":
                    torch.cuda.synchronize(device)
                t = time.perf_counter()
                emb = forward(enc, audio, layers, pool=True, timer=timer, bf16=bf16)
                times.append((time.perf_counter() - t, timer.busy_seconds))
        wall, busy = min(times)
        r = {"precision": "bf16-autocast" if bf16 else "float32", "seconds": wall,
             "rtf": args.clip_batch * args.seconds / wall, "tflops": flops / wall / 1e12, "busy_share": busy / wall,
             "copied_bytes": sum(e.numel() * e.element_size() for e in emb)}
        out.append(r)
        print(f"  {r['precision']:14s} {wall:7.3f} s  RTF {r['rtf']:7.1f}  {r['tflops']:.3f} TFLOP/s  encoder busy "
              f"{r['busy_share']:.0%}  copied off the device {r['copied_bytes'] / 1e3:.0f} kB")
    print(json.dumps({"clip_batch": out}))
    return out


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", default=str(ROOT / "cfg" / "models" / "base.gin"),
                    help="model config (default: the released base architecture, 24 blocks x 1024)")
    ap.add_argument("--seconds", type=float, default=30.0, help="audio length for the early-stop timing")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--long-minutes", default="10,20",
                    help="audio length(s) in minutes for the memory comparison (comma list)")
    ap.add_argument("--memory-layers", default="23", help="layers extracted in the memory cases (comma list)")
    ap.add_argument("--skip-memory", action="store_true")
    ap.add_argument("--device", default="cpu", help="device of the clip-batch case (cpu or cuda)")
    ap.add_argument("--clip-batch", type=int, default=8, help="clips per batch in the clip-batch case")
    ap.add_argument("--clip-only", action="store_true", help="only the clip-batch case (float32 vs bf16)")
    ap.add_argument("--memory-case", choices=["windowed", "whole"], help=argparse.SUPPRESS)
    ap.add_argument("--minutes", type=float, default=10.0, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    mem_layers = [int(x) for x in args.memory_layers.split(",")]
    if args.memory_case:
        print(json.dumps(memory_case(args.config, args.minutes, args.memory_case == "windowed", mem_layers)))
        return

    if args.clip_only:
        clip_batch(args)
        return
    model = _load(args.config, 30.0)
    n_params = sum(p.numel() for p in model.encoder_state_dict().values())
    print(f"model: {args.config} — {model.num_layers} blocks x {model.embed_dim}, {n_params / 1e6:.0f} M parameters, "
          f"{model.sr} Hz, {model.eps:g} embeddings/s; torch {torch.__version__}, {torch.get_num_threads()} threads")
    audio = torch.randn(1, int(args.seconds * model.sr)) * 0.1
    model.extract_embeddings(audio[:, : model.sr], [-1])  # warm-up
    t5 = _time(model, audio, [5], args.repeats)
    tl = _time(model, audio, [-1], args.repeats)
    print(f"early stop on {args.seconds:g} s of audio (best of {args.repeats}):")
    print(f"  layers=[5]  {t5:7.2f} s")
    print(f"  layers=[-1] {tl:7.2f} s")
    print(f"  ratio {tl / t5:.2f}x faster when stopping after block 5 of {model.num_layers}")
    del model
    clip_batch(args)
    if args.skip_memory:
        return
    print(f"memory, layers={mem_layers} (each case in a fresh process; windows of 30 s, 10 s overlap, 2 in flight):")
    for minutes in [float(m) for m in str(args.long_minutes).split(",")]:
        for case in ("windowed", "whole"):
            cmd = [sys.executable, "-m", "benchmarks.perf.extract", "--memory-case", case, "--config", args.config,
                   "--minutes", str(minutes), "--memory-layers", args.memory_layers]
            res = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
            if res.returncode != 0:
                print(f"  {minutes:g} min {case:8s} failed: "
                      f"{res.stderr.strip().splitlines()[-1] if res.stderr else res.returncode}")
                continue
            r = json.loads(res.stdout.strip().splitlines()[-1])
            print(f"  {minutes:g} min {case:8s} peak RSS during extraction {r['peak_mb']:6.0f} MB = model and audio "
                  f"{r['after_load_mb']:.0f} MB + {r['peak_mb'] - r['after_load_mb']:.0f} MB working memory; "
                  f"{r['seconds']:.1f} s; output {r['shape']}")

if __name__ == "__main__":
    main()
