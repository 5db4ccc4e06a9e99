"""The offline demo behind ``make demo``: the whole pipeline on a fresh machine, no internet, no datasets, no weights.

1. synthesise the NSynth-, beat- and MTAT-layout sets (cached; ``omar-bench data synth``);
2. pretrain the tiny OMAR-RQ model (``cfg/pretrain/tiny.gin``) on the *training-split* audio of those sets only
   (test audio stays unseen), keeping its own initial weights beside it (``…/tiny/init``);
3. ``omar-bench reproduce --table offline`` for the ``mel`` floor, the tiny model's initialisation (``tiny-init``)
   and the pretrained tiny model (``tiny``) on every synth task;
4. print the table and where the records, tables and plots are.

Every step is resumable: a second ``make demo`` reuses the data, the model, the embeddings and the records.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

from .cache import default_cache_dir
from .runner import SYNTH_CONFIG_ENV

ROOT = Path(__file__).resolve().parents[1]


def train_filelists(synth_root: Path, out_dir: Path) -> tuple[Path, Path]:
    """File lists (relative to ``synth_root``) of the train and valid splits' audio of the three synthesised sets."""
    from .datasets import load_beats, load_mtat, load_nsynth

    indexes = [load_nsynth(synth_root / "nsynth"), load_mtat(synth_root / "mtat"), load_beats(synth_root / "beats")]
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for split in ("train", "valid"):
        files = sorted(str(Path(e.audio_path).resolve().relative_to(synth_root.resolve()))
                       for idx in indexes for e in idx.split(split))
        p = out_dir / f"pretrain-{split}.txt"
        p.write_text("\n".join(files) + "\n")
        paths.append(p)
    return paths[0], paths[1]


def pretrained_tiny(cache: Path, synth_root: Path) -> Path:
    """The tiny model pretrained on the synthesised training audio (trained once, then reused)."""
    from omar_rq.pretraining import pretrain

    out = cache / "models" / "tiny"
    summary = out / "run.json"
    if summary.is_file() and (out / "init" / "model.ckpt").is_file():
        info = json.loads(summary.read_text())
        if info.get("global_step", 0) >= info.get("max_steps", 1):
            print(f"[demo] pretrained tiny model found: {out}", file=sys.stderr)
            return out
    train, valid = train_filelists(synth_root, cache / "models")
    print(f"[demo] pretraining the tiny model on the synthesised training audio → {out} (a few minutes)",
          file=sys.stderr, flush=True)
    return Path(pretrain(ROOT / "cfg" / "pretrain" / "tiny.gin", data_dir=synth_root, filelist_train=train,
                         filelist_val=valid, output=out))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cache-dir", default=None, help="default: $OMAR_BENCH_CACHE or ~/.cache/omar-bench")
    ap.add_argument("--results-dir", default=str(ROOT / "results"))
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    cache = Path(args.cache_dir).expanduser() if args.cache_dir else default_cache_dir()
    results = Path(args.results_dir)

    from .synth import synthesize

    print(f"[demo] synthesising the offline datasets → {cache / 'synth'}", file=sys.stderr, flush=True)
    synthesize(cache / "synth", config=os.environ.get(SYNTH_CONFIG_ENV) or None, progress=True)
    tiny = pretrained_tiny(cache, cache / "synth")

    from .cli import main as cli

    rc = cli(["reproduce", "--table", "offline", "--models", f"mel,{tiny / 'init'},{tiny}",
              "--results-dir", str(results), "--cache-dir", str(cache), "--plots", str(results / "plots")])
    tables = results / "tables"
    cli(["table", "--tables", "offline", "--results-dir", str(results), "--out", str(tables / "offline.md")])
    cli(["table", "--tables", "offline", "--results-dir", str(results), "--format", "csv",
         "--out", str(tables / "offline.csv")])
    print(f"[demo] done in {time.perf_counter() - t0:.0f} s — tables: {tables}, plots: {results / 'plots'}, "
          f"records: {results / 'records'}")
    return rc


if __name__ == "__main__":
    sys.exit(main())
