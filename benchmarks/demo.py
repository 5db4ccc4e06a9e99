"""The offline demo behind ``make demo``: the whole pipeline on a fresh machine, no internet, no datasets, no weights.

1. synthesise the offline sets in the real layouts of NSynth, the beat sets, MTAT, Chords1217, Harmonix,
   PianoSyllabus and GiantSteps (cached; ``omar-bench data synth``);
2. pretrain the tiny OMAR-RQ model (``cfg/pretrain/tiny.gin``) on the *training-split* audio of those sets only
   (test audio stays unseen), keeping its own initial weights beside it (``…/tiny/init``);
3. ``omar-bench reproduce --table offline`` for the ``mel`` floor, the tiny model's initialisation (``tiny-init``)
   and the pretrained tiny model (``tiny``) on every synth task;
4. print the table and where the records, tables, plots and the HTML report (``omar-bench report``) are.

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
from .pretrain_data import train_filelists
from .resources import pretrain_configs_dir
from .runner import SYNTH_CONFIG_ENV, default_results_dir



def pretrained_tiny(cache: Path, synth_root: Path) -> Path:
    """The tiny model pretrained on the synthesised training audio (trained once, then reused)."""
    from omar_rq.train import pretrain

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
    return Path(pretrain(pretrain_configs_dir() / "tiny.gin", data_dir=synth_root, filelist_train=train,
                         filelist_val=valid, output=out))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cache-dir", default=None, help="default: $OMAR_BENCH_CACHE or ~/.cache/omar-bench")
    ap.add_argument("--results-dir", default=None, help="default: $OMAR_BENCH_RESULTS or ./results")
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    cache = Path(args.cache_dir).expanduser() if args.cache_dir else default_cache_dir()
    results = Path(args.results_dir) if args.results_dir else default_results_dir()

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
    cli(["report", "--out", str(results / "report"), "--results-dir", str(results)])
    print(f"[demo] done in {time.perf_counter() - t0:.0f} s — tables: {tables}, plots: {results / 'plots'}, "
          f"records: {results / 'records'}, report: {(results / 'report' / 'index.html').resolve()}")
    return rc


if __name__ == "__main__":
    sys.exit(main())
