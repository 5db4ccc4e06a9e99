"""Reading the embedding cache at real size: consolidating entries into per-layer arrays, measured in one run.

    python -m benchmarks.perf.arrays [--entries 20000] [--layers 25] [--dim 1024] [--dir DIR]

Writes ``--entries`` cache entries shaped like NSynth's (one 4 s chunk: ``(1, dim)`` per layer, ``--layers``
layers each, as :class:`benchmarks.cache.EmbeddingCache` writes them), then times, with a warm page cache as the
issue measured it:

1. ``np.load`` of every layer of every entry (what the runner did before: one ``np.load`` per entry and layer);
2. :func:`benchmarks.arrays.consolidate` building the per-layer arrays (each entry read once, CRC-checked);
3. a second ``consolidate`` (the arrays are reused: a stat per entry) and reading one layer's rows back.

and extrapolates 1 and 2 linearly to 300,000 entries (NSynth's 305,979 notes).
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time

import numpy as np


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--entries", type=int, default=20000)
    ap.add_argument("--layers", type=int, default=25)
    ap.add_argument("--dim", type=int, default=1024)
    ap.add_argument("--dir", default=None, help="work folder (default: a temporary one, deleted afterwards)")
    args = ap.parse_args(argv)
    from benchmarks.arrays import consolidate
    from benchmarks.cache import EmbeddingCache

    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        cache = EmbeddingCache(tmp)
        rng = np.random.default_rng(0)
        entries = {}
        t = time.perf_counter()
        for i in range(args.entries):
            path = cache.entry("f" * 40, "clip-c4-o0.5-m0.1-sr16000-mean", f"{i:040x}")
            cache.write(path, {layer: rng.standard_normal((1, args.dim), dtype=np.float32)
                               for layer in range(args.layers)}, {"n_chunks": 1, "sr": 16000})
            entries[f"e{i}"] = path
        write_s = time.perf_counter() - t
        ids = list(entries)
        for p in entries.values():  # warm the page cache, as the measurement did
            p.read_bytes()
        t = time.perf_counter()
        for p in entries.values():
            with np.load(p) as z:
                for layer in range(args.layers):
                    z[f"layer_{layer}"]
        npload_s = time.perf_counter() - t
        t = time.perf_counter()
        arrays = consolidate(cache, entries, ids, list(range(args.layers)))
        build_s = time.perf_counter() - t
        t = time.perf_counter()
        again = consolidate(cache, entries, ids, list(range(args.layers)))
        reuse_s = time.perf_counter() - t
        t = time.perf_counter()
        rows = np.array(again.rows(args.layers // 2))
        read_s = time.perf_counter() - t
        assert rows.shape == (args.entries, args.dim) and arrays.n_rows == args.entries
    scale = 300_000 / args.entries
    report = {"entries": args.entries, "layers": args.layers, "dim": args.dim, "write_s": round(write_s, 1),
              "np_load_every_layer_s": round(npload_s, 2), "consolidate_s": round(build_s, 2),
              "reuse_s": round(reuse_s, 3), "read_one_layer_s": round(read_s, 3),
              "per_entry_ms": {"np_load": round(npload_s / args.entries * 1e3, 3),
                               "consolidate": round(build_s / args.entries * 1e3, 3)},
              "extrapolated_300k_min": {"np_load": round(npload_s * scale / 60, 1),
                                        "consolidate": round(build_s * scale / 60, 1)}}
    print(f"{args.entries} entries x {args.layers} layers x {args.dim} (warm page cache):")
    print(f"  np.load of every layer      {npload_s:7.1f} s  ({report['per_entry_ms']['np_load']:.3f} ms/entry) "
          f"-> 300k entries: {report['extrapolated_300k_min']['np_load']:.1f} min")
    print(f"  consolidate (all layers)    {build_s:7.1f} s  ({report['per_entry_ms']['consolidate']:.3f} ms/entry) "
          f"-> 300k entries: {report['extrapolated_300k_min']['consolidate']:.1f} min")
    print(f"  consolidate again (reuse)   {reuse_s:7.2f} s;  one layer's rows read back {read_s:.2f} s")
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
