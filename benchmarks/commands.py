"""The ``omar-bench`` subcommands: one ``cmd_<name>(args) -> exit status`` per subcommand of
:mod:`benchmarks.parser`, plus the conversions of parsed flags into library options. Errors a user can fix are
raised as :class:`omar_rq.errors.UserError` subclasses; :func:`benchmarks.cli.main` prints them as one line."""
from __future__ import annotations

import json
import sys
import warnings
from pathlib import Path

from .parser import Parser


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


def _is_secondary_rank() -> bool:
    import torch.distributed as dist

    return dist.is_available() and dist.is_initialized() and dist.get_rank() != 0


def _frame_schedule(args) -> dict:
    """``{"frame_schedule": (every, patience, max)}`` from ``--frame-schedule EVERY,PATIENCE,MAX``, else ``{}``."""
    from .errors import UsageError

    text = getattr(args, "frame_schedule", None)
    if not text:
        return {}
    try:
        values = tuple(int(v) for v in text.split(","))
    except ValueError:
        values = ()
    if len(values) != 3 or min(values) < 1:
        raise UsageError(f"--frame-schedule {text!r}: expected three positive step counts EVERY,PATIENCE,MAX "
                         "(e.g. 500,2000,8000)")
    return {"frame_schedule": values}


def _postprocess_options(args) -> dict:
    """``{"postprocess_workers": N}`` from ``--postprocess-workers N`` (checked), else ``{}``."""
    from .errors import UsageError

    n = getattr(args, "postprocess_workers", None)
    if n is None:
        return {}
    if n < 0:
        raise UsageError(f"--postprocess-workers {n}: expected 0 or more processes")
    return {"postprocess_workers": n}


def _fold_options(args) -> dict:
    """``{"joint_folds": False}`` with ``--separate-folds``, else ``{}``."""
    return {"joint_folds": False} if getattr(args, "separate_folds", False) else {}


def _extraction_options(args) -> dict:
    return {k: getattr(args, k) for k in ("cache_dtype", "decode_workers", "compile", "devices", "num_nodes",
                                          "strategy") if hasattr(args, k)}


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
        **_frame_schedule(args), **_postprocess_options(args), **_fold_options(args), **_extraction_options(args)))
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
    from .devices import check_device
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
    p = Parser(prog="omar-bench run", add_help=False)
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
    from .tables import render_all, write_tables

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
    from .tables import render_all
    from .reproduce import reproduce
    from .runner import default_results_dir

    results_dir = args.results_dir or str(default_results_dir())
    models = args.models.split(",") if args.models else None
    cells = reproduce(args.table, models=models, data_root=args.data_root, results_dir=results_dir,
                      progress=not args.quiet, probe=args.probe, seed=args.seed, layers=args.layers,
                      cache_dir=args.cache_dir, device=args.device, checkpoint_root=args.checkpoint_root,
                      encodec_weights=args.encodec_weights,
                      fit_kwargs={"max_epochs": args.max_epochs} if args.max_epochs else {},
                      **_frame_schedule(args), **_postprocess_options(args), **_fold_options(args),
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
