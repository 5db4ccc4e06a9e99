"""The ``omar-bench`` command line: run a model on a task, list what exists, regenerate tables, reproduce a paper's
grid, synthesise the offline datasets, pretrain.

Every subcommand has ``--help``; errors a user can fix (missing data, unknown model, checkpoint not found) print one
clear message and exit with status 2, without a traceback.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import warnings
from pathlib import Path

EPILOG = """examples:
  omar-bench run --model mel --task synth-nsynth-pitch          # offline, synthesised data, no weights needed
  omar-bench run --model base --task mtat --data-dir ~/data/mtat --layers all
  omar-bench run --model s8 --task nsynth-pitch --checkpoint-root ~/omar-runs --train-subset 20000 --json
  omar-bench table --format latex --out tables.tex
  omar-bench reproduce --table multiview --data-root ~/data --checkpoint-root ~/omar-runs

environment: OMAR_BENCH_DATA (dataset root: mtat/, nsynth/, beats/, gtzan/, ballroom/, chords/, harmonix/,
pianosyllabus/, giantsteps/ — `omar-bench tasks` shows each layout), OMAR_BENCH_CHECKPOINTS
(development run folders), OMAR_BENCH_CACHE (embedding cache, synthesised data), OMAR_BENCH_RESULTS (records),
OMAR_BENCH_ENCODEC_WEIGHTS (EnCodec 24 kHz weights folder for EnCodec-input models), HF_HUB_CACHE / HF_HOME."""


def _common_paths(p: argparse.ArgumentParser) -> None:
    p.add_argument("--results-dir", default=None,
                   help="where result records go (default: $OMAR_BENCH_RESULTS or ./results)")
    p.add_argument("--cache-dir", default=None,
                   help="embedding cache and synthesised data (default: $OMAR_BENCH_CACHE or ~/.cache/omar-bench)")


def _adapter_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model-options", default=None, metavar="JSON",
                   help="keyword arguments for hear: load_model(), py: factories and hf: adapters, as a JSON object "
                        "(e.g. '{\"hop_ms\": 20}')")
    p.add_argument("--weights", default=None, metavar="PATH",
                   help="weights file for hear: (model_file_path) and py: (weights=) encoders")
    p.add_argument("--trust-remote-code", action="store_true",
                   help="hf: allow a model repository's own code to run (MERT-style models); off by default")


def _model_options(args) -> dict:
    from .errors import UsageError

    if not getattr(args, "model_options", None):
        return {}
    try:
        value = json.loads(args.model_options)
    except json.JSONDecodeError as e:
        raise UsageError(f"--model-options is not valid JSON ({e.msg} at column {e.colno})") from None
    if not isinstance(value, dict):
        raise UsageError("--model-options must be a JSON object, e.g. '{\"layer\": 6}'")
    return value


def _model_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--checkpoint-root", default=None,
                   help="folder holding development run folders <run id>/checkpoints/ (default: "
                        "$OMAR_BENCH_CHECKPOINTS)")
    p.add_argument("--encodec-weights", default=None,
                   help="EnCodec 24 kHz weights folder (transformers format) for EnCodec-input models "
                        "(default: $OMAR_BENCH_ENCODEC_WEIGHTS, else the model config's path)")
    p.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N (default: cpu)")


def _extraction_args(p: argparse.ArgumentParser) -> None:
    """Options of extraction and storage (``run``, ``reproduce``)."""
    p.add_argument("--cache-dtype", default="float32", choices=["float32", "float16"],
                   help="storage precision of cached embeddings (default float32, exact; float16 halves the bytes, "
                        "relative error <= 2^-11)")
    p.add_argument("--decode-workers", type=int, default=None,
                   help="processes decoding audio ahead of the encoder (default: 0 on CPU, up to 4 on CUDA)")
    p.add_argument("--compile", action="store_true", help="torch.compile the encoder (off by default)")
    p.add_argument("--devices", type=int, default=1,
                   help="processes / GPUs per node; extraction is sharded across them, rank 0 probes (default 1)")
    p.add_argument("--num-nodes", type=int, default=1, help="nodes (with --devices; default 1)")
    p.add_argument("--strategy", default=None, help="ddp (the default with --devices > 1)")


def _is_secondary_rank() -> bool:
    import torch.distributed as dist

    return dist.is_available() and dist.is_initialized() and dist.get_rank() != 0


def _extraction_options(args) -> dict:
    return {k: getattr(args, k) for k in ("cache_dtype", "decode_workers", "compile", "devices", "num_nodes",
                                          "strategy") if hasattr(args, k)}


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors: a bad flag prints ``omar-bench <cmd>: error: <why> (see … --help)`` and exits
    with status 2, like every other user error."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    ap = _Parser(
        prog="omar-bench", formatter_class=argparse.RawDescriptionHelpFormatter, epilog=EPILOG,
        description="Evaluate frozen music audio encoders (OMAR-RQ and baselines) with linear / MLP probes on MIR "
                    "tasks, regenerate comparison tables, and pretrain OMAR-RQ models.")
    sub = ap.add_subparsers(dest="command", metavar="COMMAND")

    r = sub.add_parser("run", help="probe one model on one task; writes one record per layer",
                       formatter_class=argparse.RawDescriptionHelpFormatter, epilog=EPILOG,
                       description="Extract embeddings (cached), train probes with the protocol's grid sweep and "
                                   "early stopping, score the test split, write one result record per layer. "
                                   "A task's own options (e.g. --train-subset N for NSynth, --split / --split-dir "
                                   "for MTAT) follow the other flags; `omar-bench tasks` lists each task's options.")
    r.add_argument("--model", required=True,
                   help="mel | random-<arch> (e.g. random-tiny, random-base) | registry id (b0 … f1, base, "
                        "multifeature-25hz-fsq …) | Hugging Face id | model folder / config.gin / run folder | "
                        "hear:<module> | hf:<id or path> | py:<module>:<callable>")
    r.add_argument("--task", required=True, help="see `omar-bench tasks` (e.g. mtat, nsynth-pitch, beats, "
                                                 "synth-nsynth-pitch)")
    r.add_argument("--data-dir", default=None,
                   help="dataset folder in its download layout (default: $OMAR_BENCH_DATA/<task folder>; "
                        "synth-* tasks synthesise their data on first use)")
    r.add_argument("--layers", default=None,
                   help="0-based block(s): 6 | 0,6,11 | all (default: 6, or the last block of shallower models)")
    r.add_argument("--probe", default="grid", choices=["grid", "mlp", "linear"],
                   help="grid = lr {1e-4,3e-4,1e-3} x {linear, MLP 512} x dropout {0,0.2} (default); "
                        "mlp / linear restrict the head")
    r.add_argument("--seed", type=int, default=0, help="probe seed (default 0)")
    r.add_argument("--seeds", type=int, default=1, help="repeat with seeds seed..seed+N-1; report mean ± std")
    r.add_argument("--max-bad-fraction", type=float, default=0.25,
                   help="fail when more than this fraction of audio files is unusable (default 0.25); "
                        "fewer are skipped and listed in the record")
    r.add_argument("--max-epochs", type=int, default=None, help="probe training epochs cap (default 100)")
    r.add_argument("--json", action="store_true",
                   help="print one JSON object as the last line of stdout (metrics under \"metrics\")")
    r.add_argument("--quiet", action="store_true", help="no progress output on stderr")
    _common_paths(r)
    _model_args(r)
    _adapter_args(r)
    _extraction_args(r)

    v = sub.add_parser("validate", help="check an encoder against the contract (shapes, frame rate, determinism, "
                                        "long inputs, memory)",
                       description="Check that MODEL keeps the encoder contract before spending hours on it: sample "
                                   "rate, shapes, frame rate vs eps, finite and deterministic output, batch "
                                   "invariance, 1 s inputs, and (unless --quick) 2 min and 10 min inputs. Exit "
                                   "status 0 when every check passes, 1 otherwise.",
                       formatter_class=argparse.RawDescriptionHelpFormatter,
                       epilog="examples:\n  omar-bench validate mel\n  omar-bench validate hf:./my-wav2vec2 --quick\n"
                              "  omar-bench validate py:mypkg.encoders:make --model-options '{\"size\": \"small\"}'")
    v.add_argument("model", help="any --model of `omar-bench run`")
    v.add_argument("--quick", action="store_true", help="only the cheap checks (what `run` does before extracting)")
    v.add_argument("--long-minutes", type=float, default=10.0, help="length of the memory check's input (default 10)")
    v.add_argument("--json", action="store_true", help="print the results as one JSON object")
    _model_args(v)
    _adapter_args(v)

    t = sub.add_parser("tasks", help="list tasks and whether their data is found")
    _common_paths(t)
    t.add_argument("--data-root", default=None, help="dataset root to look in (default: $OMAR_BENCH_DATA)")

    m = sub.add_parser("models", help="list models and whether their checkpoints are found")
    m.add_argument("--checkpoint-root", default=None, help="development run folders (default: "
                                                           "$OMAR_BENCH_CHECKPOINTS)")

    tb = sub.add_parser("table", help="regenerate the comparison tables from the result records",
                        description="Each table side by side with its published reference values and the "
                                    "difference; '—' marks cells with no result. Also writes layer-wise and bar "
                                    "plots (PNG + PDF) with --plots.")
    tb.add_argument("--format", default="md", choices=["md", "latex", "csv"])
    tb.add_argument("--out", default=None, help="write to this file instead of stdout")
    tb.add_argument("--tables", default=None,
                    help="comma-separated subset: baseline, multiview, freesound, released, offline, all "
                         "(every record, one column per task) (default: every table that has results or references)")
    tb.add_argument("--plots", default=None, metavar="DIR", help="also write plots into DIR")
    tb.add_argument("--results-dir", default=None, help="records folder (default: $OMAR_BENCH_RESULTS or "
                                                        "./results)")

    rp = sub.add_parser("reproduce", help="run every missing cell of a table, then print it (resumable)")
    rp.add_argument("--table", required=True, help="baseline | multiview | freesound | released | offline | all")
    rp.add_argument("--models", default=None,
                    help="comma-separated models (default: the table's models; offline: mel,random-tiny)")
    rp.add_argument("--max-epochs", type=int, default=None, help="probe training epochs cap (default 100)")
    rp.add_argument("--data-root", default=None, help="dataset root holding each task's folder (mtat/, nsynth/, beats/, "
                                                      "chords/, harmonix/, pianosyllabus/, giantsteps/ …) "
                                                      "(default: $OMAR_BENCH_DATA)")
    rp.add_argument("--layers", default=None,
                    help="all | 6 | 0,6,11 (default: the table's: layer 6 for the development tables, every layer "
                         "for the released table, the default layer for the offline suite)")
    rp.add_argument("--probe", default="grid", choices=["grid", "mlp", "linear"])
    rp.add_argument("--seed", type=int, default=0)
    rp.add_argument("--plots", default=None, metavar="DIR", help="also write plots into DIR")
    rp.add_argument("--quiet", action="store_true")
    _common_paths(rp)
    _model_args(rp)
    _extraction_args(rp)

    cp = sub.add_parser("compare", help="paired bootstrap of two models on the same test tracks: the difference, its "
                                        "95 %% interval and the p-value",
                        description="Each model's record is the one a table cell would show (best layer by "
                                    "validation, or --layer). Both are scored on the same bootstrap resamples of "
                                    "their shared test tracks (benchmarks.stats: 1000 resamples, fixed seed, within "
                                    "folds).")
    cp.add_argument("model_a", metavar="A")
    cp.add_argument("model_b", metavar="B")
    cp.add_argument("--task", required=True)
    cp.add_argument("--metric", default=None, help="default: the task's primary metric")
    cp.add_argument("--layer", type=int, default=None, help="a fixed layer for both (default: best by validation)")
    cp.add_argument("--results-dir", default=None, help="records folder (default: $OMAR_BENCH_RESULTS or ./results)")

    rpt = sub.add_parser("report", help="write the static HTML report (one page, no server, no network) from the "
                                        "records")
    rpt.add_argument("--out", required=True, metavar="DIR", help="folder receiving index.html and the records")
    rpt.add_argument("--results-dir", default=None, help="records folder (default: $OMAR_BENCH_RESULTS or "
                                                         "./results)")

    d = sub.add_parser("data", help="datasets: `data synth` renders the offline sets in the real layouts")
    dsub = d.add_subparsers(dest="data_command", metavar="ACTION")
    ds = dsub.add_parser("synth", help="render the synthesised sets in the real layouts (deterministic)")
    ds.add_argument("--out", default=None, help="output folder (default: <cache dir>/synth)")
    ds.add_argument("--sets", default="all", help="comma-separated subset of nsynth, beats, mtat, chords, "
                                                  "structure, difficulty, key (default: all)")
    ds.add_argument("--cache-dir", default=None)

    from omar_rq.train.args import build_parser as pretraining_parser

    parent = pretraining_parser(add_help=False)
    pt = sub.add_parser("pretrain", parents=[parent], help="pretrain an OMAR-RQ model from a gin config (writes "
                                                           "config.gin + model.ckpt)",
                        description=parent.description + "\n\nWith no --data-dir / --filelist-train, a config whose "
                        "data_dir is \"synth:\" (cfg/pretrain/tiny.gin) trains on the synthesised offline sets' "
                        "train / valid audio, rendered on first use. --config also takes a shipped config by name "
                        "(tiny, base, …).",
                        epilog="examples:\n  omar-bench pretrain --config tiny --max-steps 800      # synthesised "
                               "audio, ~3 min on 2 CPU cores\n"
                               + parent.epilog.replace("python -m omar_rq.train", "omar-bench pretrain")
                               .replace("Examples:\n", ""),
                        formatter_class=argparse.RawDescriptionHelpFormatter)
    pt.add_argument("--cache-dir", default=None, help="where the synthesised audio is rendered (default: "
                                                       "$OMAR_BENCH_CACHE or ~/.cache/omar-bench)")
    return ap


# -- commands ----------------------------------------------------------------------------------------------------
def cmd_run(args) -> int:
    from .runner import RunOptions, run, summary

    fit = {"max_epochs": args.max_epochs} if args.max_epochs else {}
    result = run(RunOptions(
        model=args.model, task=args.task, data_dir=args.data_dir, layers=args.layers, probe=args.probe,
        results_dir=args.results_dir, cache_dir=args.cache_dir, device=args.device, seed=args.seed, seeds=args.seeds,
        task_options=task_options(args.task, getattr(args, "extra", [])),
        checkpoint_root=args.checkpoint_root, encodec_weights=args.encodec_weights,
        model_options=_model_options(args), weights=args.weights, trust_remote_code=args.trust_remote_code,
        max_bad_fraction=args.max_bad_fraction, progress=not args.quiet, fit_kwargs=fit,
        **_extraction_options(args)))
    if not result.records:   # a rank other than 0 of a multi-process run: rank 0 reports
        return 0
    print(summary(result))
    if args.json:
        best = result.best()
        print(json.dumps({
            "model": best["model"], "task": best["task"], "layer": best["layer"], "probe": best["probe"],
            "metrics": best["metrics"], "metrics_std": best["metrics_std"], "validation": best["validation"],
            "hyperparameters": best["hyperparameters"],
            "layers": {str(r["layer"]): r["metrics"] for r in result.records},
            "skipped_files": result.skipped, "records": [str(p) for p in result.paths]}, default=float))
    return 0


def cmd_validate(args) -> int:
    from .encoders import load_encoder
    from .runner import check_device
    from .validate import validate_encoder

    check_device(args.device)
    enc = load_encoder(args.model, device=args.device, checkpoint_root=args.checkpoint_root,
                       encodec_weights=args.encodec_weights, options=_model_options(args) or None,
                       weights=args.weights, trust_remote_code=args.trust_remote_code)
    checks = validate_encoder(enc, full=not args.quick, long_minutes=args.long_minutes)
    if args.json:
        print(json.dumps({"model": enc.name, "sr": enc.sr, "eps": enc.eps, "num_layers": enc.num_layers,
                          "fingerprint": enc.fingerprint, "ok": all(c.ok for c in checks),
                          "checks": [{"name": c.name, "ok": c.ok, "detail": c.detail,
                                      "seconds": round(c.seconds, 3)} for c in checks]}))
    else:
        print(f"{enc.name}: {enc.kind}, {enc.sr} Hz, {enc.eps:g} frames/s, {enc.num_layers} layer(s)")
        for c in checks:
            print("  " + c.line())
        bad = [c.name for c in checks if not c.ok]
        print(f"{len(checks) - len(bad)} of {len(checks)} checks passed" + (f"; failed: {', '.join(bad)}" if bad else ""))
    return 0 if all(c.ok for c in checks) else 1


def task_options(task_name: str, argv: list[str]) -> dict:
    """The task's own flags (:attr:`benchmarks.tasks.base.Task.load_options`) parsed from what the ``run`` parser
    left over: ``{name: value}``; a flag the task does not declare is a one-line usage error (exit 2)."""
    from .tasks import get_task

    if not argv:
        return {}
    task = get_task(task_name)
    takes = ", ".join(o.flag for o in task.load_options) or "no options of its own"
    p = _Parser(prog="omar-bench run", add_help=False)
    for o in task.load_options:
        p.add_argument(o.flag, dest=o.name, type=o.type, choices=o.choices, default=None, help=o.help)
    ns, rest = p.parse_known_args(argv)
    if rest:
        p.error(f"unrecognized arguments: {' '.join(rest)} (task {task.name} takes {takes})")
    return {k: v for k, v in vars(ns).items() if v is not None}


def cmd_tasks(args) -> int:
    from .data_location import data_status
    from .tasks import all_tasks

    for name, task in all_tasks().items():
        _, status = data_status(task, args.data_root, args.cache_dir)
        metric = f"{task.primary.key}{' (lower is better)' if task.primary.lower_is_better else ''}"
        print(f"{name:24s} {task.description}\n{'':24s} metric: {metric}; data: {status}")
        for o in task.load_options:
            choices = f" {{{','.join(o.choices)}}}" if o.choices else ""
            print(f"{'':24s} option {o.flag}{choices}: {o.help}")
    print("\nlayouts:")
    seen = set()
    for task in all_tasks().values():
        if task.synth_set or (task.data_subdir, task.layout) in seen:
            continue
        seen.add((task.data_subdir, task.layout))
        print(f"  {task.data_subdir + '/':12s} {task.layout}")
    return 0


def cmd_models(args) -> int:
    from .encoders import MODEL_CONFIGS
    from .registry import default_registry

    reg = default_registry()
    status = reg.checkpoint_status(args.checkpoint_root)
    print(f"{'model':24s} {'kind':9s} {'input':7s} present  where")
    print(f"{'mel':24s} {'baseline':9s} {'mel':7s} yes      log-mel patches, no weights")
    for mid in reg.ids():
        e = reg.model(mid)
        st = status.get(mid)
        present = "yes" if st and st.present else "no"
        print(f"{mid:24s} {e.kind:9s} {e.input[:7]:7s} {present:8s} {st.where if st else ''}")
    archs = ", ".join(sorted(p.stem for p in MODEL_CONFIGS.glob("*.gin")))
    print(f"\nrandom-<arch> (random weights, any architecture of cfg/models): {archs}")
    print("Also: a Hugging Face id (mtg-upf/omar-rq-*) or a path to a model folder / config.gin / run folder.")
    return 0


def _records(results_dir):
    from .records import load_records
    from .runner import default_results_dir

    with warnings.catch_warnings():
        warnings.simplefilter("always")
        return load_records(results_dir or default_results_dir())


def _write_plots(records, out_dir) -> list[Path]:
    from .plots import plot_bars, plot_layers

    return plot_layers(records, out_dir) + plot_bars(records, out_dir)


def cmd_table(args) -> int:
    from .leaderboard import render_all, write_tables

    records = _records(args.results_dir)
    tables = args.tables.split(",") if args.tables else None
    if args.out:
        for p in write_tables(args.out, records, formats=[args.format], tables=tables):
            print(f"wrote {p}", file=sys.stderr)
    else:
        print(render_all(records, fmt=args.format, tables=tables))
    if args.plots:
        paths = _write_plots(records, args.plots)
        print(f"wrote {len(paths)} plot files to {args.plots}", file=sys.stderr)
    return 0


def cmd_reproduce(args) -> int:
    from .leaderboard import render_all
    from .reproduce import reproduce
    from .runner import default_results_dir

    results_dir = args.results_dir or str(default_results_dir())
    models = args.models.split(",") if args.models else None
    cells = reproduce(args.table, models=models, data_root=args.data_root, results_dir=results_dir,
                      progress=not args.quiet, probe=args.probe, seed=args.seed, layers=args.layers,
                      cache_dir=args.cache_dir, device=args.device, checkpoint_root=args.checkpoint_root,
                      encodec_weights=args.encodec_weights,
                      fit_kwargs={"max_epochs": args.max_epochs} if args.max_epochs else {},
                      **_extraction_options(args))
    if _is_secondary_rank():
        return 0   # ranks other than 0 of a multi-process reproduction: rank 0 reports
    counts = {s: sum(c.status == s for c in cells) for s in ("done", "ran", "failed")}
    print(f"{args.table}: {counts['ran']} cells run, {counts['done']} already recorded, {counts['failed']} failed",
          file=sys.stderr)
    for c in cells:
        if c.status == "failed":
            print(f"  failed: {c.model} × {c.task}: {c.detail}", file=sys.stderr)
    records = _records(results_dir)
    print(render_all(records, fmt="md", tables=[args.table]))
    print(f"records: {Path(results_dir).resolve() / 'records'}")
    if args.plots:
        paths = _write_plots(records, args.plots)
        print(f"plots: {len(paths)} files in {Path(args.plots).resolve()}")
    return 1 if counts["failed"] else 0


def cmd_compare(args) -> int:
    import warnings as _w

    from . import sidecar, stats
    from .errors import UsageError
    from .leaderboard import choose_record
    from .plots import primary_metric
    from .runner import default_results_dir
    from .tasks import get_task

    task = get_task(args.task)
    records = _records(args.results_dir)
    metric = args.metric or primary_metric(args.task, records)
    chosen = []
    for model in (args.model_a, args.model_b):
        rec = choose_record(records, model, args.task, metric, args.layer)
        if rec is None:
            raise UsageError(f"no record of {model} on {args.task} with {metric}"
                             + (f" at layer {args.layer}" if args.layer is not None else "")
                             + f" in {Path(args.results_dir or default_results_dir()) / 'records'}")
        with _w.catch_warnings(record=True) as caught:
            _w.simplefilter("always", sidecar.SidecarWarning)
            tracks = sidecar.load(rec)
        if tracks is None:
            why = str(caught[-1].message) if caught else "it has no per-track sidecar (an older record)"
            raise UsageError(f"cannot compare: the record {rec.get('_path')} of {model}: {why}")
        chosen.append((model, rec, tracks))
    (na, ra, ta), (nb, rb, tb) = chosen
    c = stats.paired(task, ta, tb, metric)
    lower = task.primary.lower_is_better if metric == task.primary.key else False
    ia, ib = (stats.intervals(task, t, metrics=[metric]).get(metric) for t in (ta, tb))
    print(f"{args.task}: {metric} on {c.n_tracks} shared test tracks ({len(set(ta.folds))} fold(s)); paired bootstrap, "
          f"{c.n_resamples} resamples, seed {c.seed}" + ("; lower is better" if lower else ""))
    for tag, name, rec, v, iv in (("A", na, ra, c.value_a, ia), ("B", nb, rb, c.value_b, ib)):
        ci = f"[{iv.low:.4f}, {iv.high:.4f}]" if iv else "[—]"
        print(f"  {tag} = {name} (layer {rec['layer']}): {v:.4f}  95% CI {ci}")
    print(f"  A − B = {c.diff:+.4f}  95% CI [{c.low:+.4f}, {c.high:+.4f}]  p = {c.p_value:.4f} (two-sided)")
    return 0


def cmd_report(args) -> int:
    from .report import write_report

    path = write_report(args.out, _records(args.results_dir))
    print(f"report: {path.resolve()}")
    return 0


def cmd_data(args) -> int:
    from .cache import default_cache_dir
    from .synth import synthesize

    if args.data_command != "synth":
        print("usage: omar-bench data synth [--out DIR]", file=sys.stderr)
        return 2
    cache = Path(args.cache_dir).expanduser() if args.cache_dir else default_cache_dir()
    out = Path(args.out).expanduser() if args.out else cache / "synth"
    from .synth import SYNTH_SETS

    sets = SYNTH_SETS if args.sets == "all" else tuple(s for s in args.sets.split(",") if s)
    paths = synthesize(out, sets=sets, progress=True)
    for name, p in paths.items():
        print(f"{name}: {p}")
    return 0


def cmd_pretrain(args) -> int:
    from omar_rq.train.build import SYNTH_DATA, config_data_dir
    from omar_rq.train.trainer import run_from_args

    from .resources import project_file

    config = Path(args.config).expanduser()
    if not config.is_file():  # a shipped config by its repository path (cfg/pretrain/tiny.gin) or name (tiny)
        for candidate in (args.config, f"cfg/pretrain/{args.config}", f"cfg/pretrain/{args.config}.gin"):
            try:
                shipped = project_file(candidate)
            except ValueError:
                continue
            if shipped.is_file():
                args.config = str(shipped)
                break
    if args.data_dir is None and args.filelist_train is None and Path(args.config).is_file() \
            and config_data_dir(args.config) == SYNTH_DATA:
        from .pretrain_data import synth_pretraining_data

        data, train, valid = synth_pretraining_data(getattr(args, "cache_dir", None))
        print(f"omar-bench pretrain: no --data-dir: training on the synthesised offline audio (train / valid "
              f"splits) in {data}", file=sys.stderr)
        args.data_dir, args.filelist_train = str(data), str(train)
        args.filelist_val = args.filelist_val or str(valid)
    return run_from_args(args)


COMMANDS = {"run": cmd_run, "validate": cmd_validate, "tasks": cmd_tasks, "models": cmd_models, "table": cmd_table,
            "reproduce": cmd_reproduce, "data": cmd_data, "pretrain": cmd_pretrain, "compare": cmd_compare,
            "report": cmd_report}


def user_errors() -> tuple[type, ...]:
    """Exceptions that mean "fix your input", printed as one line instead of a traceback."""
    from omar_rq.audio import AudioLoadError
    from omar_rq.checkpoint import CheckpointError
    from omar_rq.config import ConfigError
    from omar_rq.hub import ModelNotFound
    from omar_rq.views.encodec import EncodecWeightsNotFound

    from .data_location import DataNotFound
    from .datasets import DatasetLayoutError
    from .adapters import AdapterError
    from .errors import UnknownName, UsageError
    from .validate import EncoderContractError
    from .registry import CheckpointNotFound, UnknownModel
    from .runner import TooManyBadFiles
    from .stats import NotPaired
    from .tasks import EmptySplit, TooFewTracks, UnknownTask
    from .cache import DiskFull, Float16Overflow

    return (DatasetLayoutError, DataNotFound, TooManyBadFiles, UnknownTask, UnknownModel, CheckpointNotFound,
            ModelNotFound, CheckpointError, ConfigError, EncodecWeightsNotFound, AudioLoadError, TooFewTracks,
            EmptySplit, UsageError, UnknownName, AdapterError, EncoderContractError, DiskFull, Float16Overflow,
            NotPaired)


def main(argv=None) -> int:
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra and args.command != "run":  # only `run` takes a task's own flags
        parser.parse_args(argv)          # the usual one-line error
    args.extra = extra
    if not args.command:
        parser.print_help()
        return 2
    try:
        return COMMANDS[args.command](args)
    except user_errors() as e:
        print(f"omar-bench {args.command}: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted: finished embeddings are cached and records written; re-run to resume", file=sys.stderr)
        return 130
    except BrokenPipeError:  # e.g. `omar-bench models | head`
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
