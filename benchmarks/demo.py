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


#: Pretraining steps of the demo's tiny model (``cfg/pretrain/tiny.gin`` binds 800, the run of ``notes/pretraining.md``;
#: the demo shows the pipeline, not what pretraining achieves, and 300 steps keep it within its 10 minutes).
DEMO_PRETRAIN_STEPS = 300

#: The frame tasks' step schedule in the demo (``--frame-schedule``): validate every 20 steps, stop a probe after 60
#: steps without a better validation, at most 300 steps (the synthesised frame sets have 25-30 steps an epoch).
DEMO_FRAME_SCHEDULE = "20,60,300"

README_START, README_END = "<!-- demo-table:start -->", "<!-- demo-table:end -->"


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
                         filelist_val=valid, output=out, max_steps=DEMO_PRETRAIN_STEPS))



def summary_table(records) -> str:
    """The offline table as the README shows it: one row per model, one column per synthesised task, the measured
    primary metric and (in brackets) the layer chosen on validation."""
    from .leaderboard import build_table

    t = build_table("offline", records)
    cols = t.definition.columns
    head = "| model | " + " | ".join(f"{c.task.removeprefix('synth-')} ({c.metric})" for c in cols) + " |"
    rule = "|:--|" + "--:|" * len(cols)
    rows = []
    for m in t.rows:
        cells = [t.cell(m, c.label) for c in cols]
        rows.append(f"| {m} | " + " | ".join("—" if c.measured is None else f"{c.measured:.3f} ({c.layer})"
                                            for c in cells) + " |")
    return "\n".join([head, rule, *rows])


def update_readme(path: Path, table: str, seconds: float) -> None:
    """Replace the README's block between the demo-table markers with this run's table and time."""
    from omar_rq.files import atomic_write

    text = path.read_text(encoding="utf-8")
    if README_START not in text or README_END not in text:
        print(f"[demo] {path}: no {README_START} … {README_END} block; README left as it is", file=sys.stderr)
        return
    head, rest = text.split(README_START, 1)
    _, tail = rest.split(README_END, 1)
    block = (f"{README_START}\n_Written by `make demo` ({time.strftime('%Y-%m-%d')}): {seconds / 60:.1f} min on this "
             f"machine ({os.cpu_count()} cores), install excluded. Value (layer chosen on validation)._\n\n"
             f"{table}\n{README_END}")
    atomic_write(path, head + block + tail, mode=0o644)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cache-dir", default=None, help="default: $OMAR_BENCH_CACHE or ~/.cache/omar-bench")
    ap.add_argument("--results-dir", default=None, help="default: $OMAR_BENCH_RESULTS or ./results")
    ap.add_argument("--readme", default=None, metavar="PATH",
                    help="rewrite the table block of this README with the run's table and time (make demo: README.md)")
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
              "--results-dir", str(results), "--cache-dir", str(cache), "--plots", str(results / "plots"),
              "--frame-schedule", DEMO_FRAME_SCHEDULE])
    tables = results / "tables"
    cli(["table", "--tables", "offline", "--results-dir", str(results), "--out", str(tables / "offline.md")])
    cli(["table", "--tables", "offline", "--results-dir", str(results), "--format", "csv",
         "--out", str(tables / "offline.csv")])
    cli(["report", "--out", str(results / "report"), "--results-dir", str(results)])
    if args.readme:
        from .records import load_records

        update_readme(Path(args.readme), summary_table(load_records(results)), time.perf_counter() - t0)
    print(f"[demo] done in {time.perf_counter() - t0:.0f} s — tables: {tables}, plots: {results / 'plots'}, "
          f"records: {results / 'records'}, report: {(results / 'report' / 'index.html').resolve()}")
    return rc


if __name__ == "__main__":
    sys.exit(main())
