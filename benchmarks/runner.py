"""``omar-bench run``: one model on one task → one result record per requested layer. The run's named stages read
in order here; each stage's work lives in its own module.

Named stages, each one step:

1. **locate** the model (cheap: a wrong name fails before any data is read) and the data (:mod:`.data_location`);
2. **load** the task (:meth:`Task.load` → a ``Prepared`` task: index, options, flags);
3. **extract** every file's embeddings for all requested layers into the cache (:mod:`.extract`; cached entries are
   reused, unreadable audio is skipped and listed). Before it starts, the bytes it will write and the free space are
   printed, and a disk that cannot hold them is refused (:mod:`.storage`);
4. **consolidate** the usable files' entries into a per-layer index (:mod:`.arrays`; the entries stay the only copy
   of the vectors; built once, reused by later runs; a damaged cache entry, found then or while the probes read it,
   is reported, deleted and recomputed);
5. **probe** (:mod:`.probing`): batched sweeps train the protocol's grid for every layer, seed and fold at once
   (:func:`probes.layers.sweep_folds`, chunked to the memory budget; the folds share fits where their schedules
   allow), and the best validation point of each (fold, layer, seed) is scored on the test split
   (:meth:`Task.evaluate`; frame tasks decode in worker processes with ``--postprocess-workers``);
6. **record** one JSON record per layer (:mod:`.records`).

Bad audio: files that cannot be decoded are skipped, listed in the record (``dataset.skipped_files``) and counted.
The run fails only when more than ``max_bad_fraction`` (default 25 %) of the dataset's files are unusable — a sign of
a wrong folder or a broken download rather than a few bad files.

The training schedule is the probe kind's (:attr:`probes.kinds.ProbeKind.schedule`): the frame kinds at real size
validate every :data:`FRAME_STEPS_PER_ROUND` optimizer steps instead of once per pass over hundreds of thousands of
frames (``patience`` counts those validations), for at most :data:`FRAME_MAX_STEPS` steps; sets whose training epoch
is shorter than that interval validate every epoch, with the usual 100-epoch cap. The record's
``protocol.schedule`` says which was used.

Task options (``RunOptions.task_options``: e.g. NSynth's ``train_subset``, MTAT's ``split``) go to the task's load
step only, checked against what the task declares (:meth:`benchmarks.tasks.base.Task.parse_options`).
"""
from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

from tqdm.auto import tqdm

from probes.kinds import FRAME_SCHEDULE, StepSchedule

from .arrays import CorruptEntries, LayerArrays, consolidate
from .cache import EmbeddingCache, default_cache_dir
from .data_location import DATA_ENV, SYNTH_CONFIG_ENV, DataNotFound, data_dir_for
from .datasets import DatasetLayoutError
from .encoders import Encoder, load_encoder, locate
from .errors import UsageError
from .extract import Extraction, extract, uses_autocast
from .devices import check_device, device_name
from .memory import peak_memory_mb, reset_peak_memory
from .postprocess import default_postprocess_workers
from .probing import probe_stage
from .records import build_record, write_record
from .tasks import Prepared, Task, get_task
from omar_rq.errors import UserError

RESULTS_ENV = "OMAR_BENCH_RESULTS"
DEFAULT_MAX_BAD_FRACTION = 0.25
#: The frame kinds' step schedule (:data:`probes.kinds.FRAME_SCHEDULE`, which says why these values).
FRAME_STEPS_PER_ROUND = FRAME_SCHEDULE.steps_per_round
FRAME_PATIENCE_STEPS = FRAME_SCHEDULE.patience_steps
FRAME_MAX_STEPS = FRAME_SCHEDULE.max_steps


class TooManyBadFiles(UserError, RuntimeError):
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
    task_options: dict = field(default_factory=dict)   # the task's load options (Task.load_options), by name
    checkpoint_root: str | None = None
    encodec_weights: str | None = None
    model_options: dict = field(default_factory=dict)   # --model-options (hear:, hf:, py: encoders)
    weights: str | None = None                          # --weights (hear:, py:)
    trust_remote_code: bool = False                     # --trust-remote-code (hf:)
    max_bad_fraction: float = DEFAULT_MAX_BAD_FRACTION
    cache_dtype: str = "float32"                        # --cache-dtype: float32 | float16 (storage precision)
    decode_workers: int | None = None                   # --decode-workers (None: 0 on CPU, up to 4 on CUDA)
    postprocess_workers: int | None = None              # --postprocess-workers (None: 0 on CPU, up to 4 on CUDA)
    joint_folds: bool = True                            # folds as more probes of one fit (--separate-folds: off)
    compile: bool = False                               # --compile: torch.compile the encoder's forward
    devices: int = 1                                    # --devices / --num-nodes / --strategy (benchmarks.distributed)
    num_nodes: int = 1
    strategy: str | None = None
    progress: bool = True
    fit_kwargs: dict = field(default_factory=dict)   # overrides of probes.grid.DEFAULTS (max_epochs, …)
    frame_schedule: tuple[int, int, int] | None = None  # --frame-schedule: the frame kinds' step schedule


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
        v = self.task.validation
        return max(self.records, key=lambda r: (v.oriented(r["validation"]["value"]), -r["layer"]))


def default_results_dir() -> Path:
    return Path(os.environ.get(RESULTS_ENV) or "results")


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
            raise UsageError(f"--layers must be 'all' or comma-separated integers, got {spec!r}") from None
    out = []
    for layer in spec:
        if not -depth <= int(layer) < depth:
            raise UsageError(f"layer {layer} is out of range for {model} ({depth} layers: valid 0..{depth - 1}, "
                             "or negative from the end)")
        out.append(int(layer) % depth)
    return sorted(set(out))


def check_contract(encoder: Encoder, cache: EmbeddingCache) -> None:
    """The cheap contract checks of :mod:`benchmarks.validate`, once per encoder fingerprint (remembered in the
    cache): an encoder that breaks the contract is refused before any extraction, with the reasons."""
    import json

    from .validate import require_contract

    mark = cache.root / "validated" / f"{encoder.fingerprint[:32]}.json"
    if mark.is_file():
        return
    require_contract(encoder)
    mark.parent.mkdir(parents=True, exist_ok=True)
    mark.write_text(json.dumps({"model": encoder.name, "fingerprint": encoder.fingerprint, "cheap_checks": "passed"}))




def _say(msg: str, progress: bool) -> None:
    if progress:
        print(msg, file=sys.stderr, flush=True)


# ----------------------------------------------------------------------------------------------------------------
# stages
# ----------------------------------------------------------------------------------------------------------------
def extract_usable(encoder: Encoder, prep: Prepared, layers: list[int], cache: EmbeddingCache, opts: RunOptions,
                   data_dir: Path) -> Extraction:
    """Stage 3: extract, report skipped files, and fail when too many are unusable."""
    task = prep.task
    ext = extract(encoder, prep.index.examples, layers, task.frontend, cache, progress=opts.progress,
                  before=lambda todo: disk_budget(encoder, todo, task, cache, layers, opts.progress),
                  decode_workers=opts.decode_workers)
    for s in ext.skipped[:20]:
        _say(f"  skipped {s['path']}: {s['reason']}", opts.progress)
    if len(ext.skipped) > 20:
        _say(f"  … and {len(ext.skipped) - 20} more skipped files", opts.progress)
    bad = len(ext.skipped) / max(1, len(prep.index.examples))
    if bad > opts.max_bad_fraction:
        raise TooManyBadFiles(f"{len(ext.skipped)} of {len(prep.index.examples)} files in {data_dir} are unusable "
                              f"({bad:.0%} > the {opts.max_bad_fraction:.0%} threshold, --max-bad-fraction); first: "
                              + "; ".join(f"{s['path']}: {s['reason']}" for s in ext.skipped[:3]))
    return ext


def disk_budget(encoder: Encoder, todo: list, task: Task, cache: EmbeddingCache, layers: list[int],
                progress: bool) -> None:
    """Stage 3's first step: print the bytes the extraction will write and the free space; refuse (one line, exit 2)
    when they do not fit (:mod:`.storage`)."""
    from . import storage

    p = storage.plan(encoder, todo, task.frontend, storage.entry_itemsize(cache.dtype))
    storage.check(p, cache.root, len(layers), say=lambda m: _say(m, progress))


def consolidate_healing(encoder: Encoder, prep: Prepared, ext: Extraction, layers: list[int],
                        cache: EmbeddingCache, progress: bool) -> LayerArrays:
    """Stage 4: the per-layer index of the usable examples. A cache entry that cannot be read (damaged bytes, a
    partial copy) is reported, deleted and recomputed — while indexing, or later when a probe reads it — then read
    again: the metrics are those of an undamaged cache."""
    ids = [e.id for e in prep.index.examples if e.id in ext.entries]
    by_entry = {Path(ext.entries[ex.id]): ex for ex in prep.index.examples if ex.id in ext.entries}

    def heal(path: Path) -> None:
        print(f"omar-bench: damaged cache entry {path} (bad CRC-32 while reading): deleted, recomputing",
              file=sys.stderr, flush=True)
        Path(path).unlink(missing_ok=True)
        again = extract(encoder, [by_entry[Path(path)]], layers, prep.task.frontend, cache, progress=False)
        ext.n_computed += again.n_computed

    for attempt in range(2):
        bar = tqdm(total=len(ids), desc="consolidate embeddings", unit="file", disable=not progress, leave=False)
        try:
            return consolidate(cache, ext.entries, ids, layers, progress=bar.update, heal=heal)
        except CorruptEntries as e:
            if attempt:
                raise
            bad = {Path(err.path) for err in e.errors}
            for err in e.errors:  # reported even with --quiet: it is not progress, it is something that happened
                print(f"omar-bench: damaged cache entry {err.path} ({err.reason}): deleted, recomputing",
                      file=sys.stderr, flush=True)
                Path(err.path).unlink(missing_ok=True)
            redo = [ex for ex in prep.index.examples if ex.id in ext.entries and Path(ext.entries[ex.id]) in bad]
            again = extract(encoder, redo, layers, prep.task.frontend, cache, progress=progress)
            ext.n_computed += again.n_computed
            ext.entries.update(again.entries)
        finally:
            bar.close()
    raise AssertionError("unreachable")


def run(opts: RunOptions) -> RunResult:
    """Run ``opts.model`` on ``opts.task`` (see module docstring); write and return the records."""
    from probes.grid import grid_for

    t_start = time.perf_counter()
    task = get_task(opts.task)
    check_device(opts.device)
    reset_peak_memory(opts.device)
    source = locate(opts.model, opts.checkpoint_root)  # a wrong model name fails before any data is read
    group = _start_group(opts)
    if group is not None:
        opts = replace(opts, device=group.device, progress=opts.progress and group.is_main)
    cache = EmbeddingCache(opts.cache_dir or default_cache_dir(), dtype=opts.cache_dtype)
    data_dir = (group.first_on_main if group is not None else lambda f: f())(
        lambda: data_dir_for(task, opts.data_dir, cache_dir=cache.root, progress=opts.progress))
    prep = task.load(data_dir, seed=opts.seed, **task.parse_options(opts.task_options))
    encoder = load_encoder(source, device=opts.device, encodec_weights=opts.encodec_weights,
                           options=opts.model_options or None, weights=opts.weights,
                           trust_remote_code=opts.trust_remote_code)
    if opts.compile:
        from .extract import compile_encoder

        compile_encoder(encoder)
    check_contract(encoder, cache)
    layers = parse_layers(opts.layers, encoder.num_layers, model=encoder.name)
    _say(f"{encoder.name} ({encoder.kind}, {encoder.num_layers} layers, {encoder.eps:g} emb/s) on {task.name}: "
         f"{len(prep.index.examples)} files in {data_dir}, layers {layers}", opts.progress)

    shared = None
    if group is not None:   # extraction sharded across ranks; rank 0 alone goes on (benchmarks.distributed)
        mine = extract(encoder, group.shard(prep.index.examples), layers, task.frontend, cache, progress=False,
                       before=lambda todo: disk_budget(encoder, todo, task, cache, layers, opts.progress),
                       decode_workers=opts.decode_workers)
        shared = group.gather_extraction(mine.n_computed, mine.seconds, mine.busy_seconds)
        if not group.is_main:
            return RunResult([], [], encoder, task, mine.skipped, mine.seconds, mine.n_computed, mine.n_reused)
    ext = extract_usable(encoder, prep, layers, cache, opts, data_dir)
    if shared is not None:
        ext.n_reused -= shared[0] - ext.n_computed
        ext.n_computed, ext.seconds, ext.busy_seconds = shared[0], shared[1] + ext.seconds, shared[2]
    # folds are drawn from the usable files, so a skipped file never empties a fold
    usable = prep.restricted(ext.entries)
    folds = task.folds(usable, seed=opts.seed)
    arrays = consolidate_healing(encoder, usable, ext, layers, cache, opts.progress)
    t_probe = time.perf_counter()

    grid = grid_for(opts.probe)
    seeds = [opts.seed + i for i in range(max(1, opts.seeds))]
    fit_kwargs = dict(opts.fit_kwargs)
    schedule = None
    if task.kind.schedule is not None:
        step = task.kind.schedule
        if opts.frame_schedule is not None:
            step = StepSchedule(*opts.frame_schedule)
        for k, v in step.fit_kwargs().items():
            fit_kwargs.setdefault(k, v)
        schedule = step.describe(fit_kwargs)
    workers = default_postprocess_workers(opts.device) if opts.postprocess_workers is None \
        else opts.postprocess_workers
    runs, track_runs = probe_stage(task, usable, arrays, folds, layers, eps=encoder.eps, grid=grid, seeds=seeds,
                                   fit_kwargs=fit_kwargs, device=opts.device, joint_folds=opts.joint_folds,
                                   postprocess_workers=workers, progress=opts.progress)
    probe_seconds = time.perf_counter() - t_probe

    records, paths = [], []
    for layer in layers:
        record = build_record(task, usable, encoder.name, encoder.info(), layer, runs[layer], probe=opts.probe,
                              seed=opts.seed, grid=grid, seeds=seeds, n_folds=len(folds), schedule=schedule,
                              fold_fits="joint" if opts.joint_folds else "separate",
                              skipped=ext.skipped,
                              timings=_timings(encoder, opts, ext, probe_seconds / max(1, len(layers)), t_start))
        record.update(_sidecar(opts.results_dir or default_results_dir(), record, track_runs[layer]))
        paths.append(write_record(opts.results_dir or default_results_dir(), record))
        records.append(record)
    return RunResult(records, paths, encoder, task, ext.skipped, ext.seconds, ext.n_computed, ext.n_reused)


def _start_group(opts: RunOptions):
    if max(1, opts.devices) * max(1, opts.num_nodes) == 1:
        return None
    from .distributed import start

    return start(opts.devices, opts.num_nodes, opts.strategy, opts.device)


def _sidecar(results_dir, record: dict, track_runs: list) -> dict:
    """``{"tracks": reference}`` after writing the per-track sidecar beside where the record goes
    (:mod:`.sidecar`), or ``{}`` when the task gives no per-track arrays."""
    from . import sidecar
    from .records import record_dir

    if not track_runs or any(t[3] is None for t in track_runs):
        return {}
    folder = record_dir(results_dir, record["model"], record["task"])
    return {"tracks": sidecar.write(folder, sidecar.pack(track_runs))}








def _timings(encoder: Encoder, opts: RunOptions, ext: Extraction, probe_s: float, t_start: float) -> dict:
    """The record's ``timings``: what this run measured of its extraction and probes, and on what."""
    return {"extract_s": round(ext.seconds, 3), "probe_s": round(probe_s, 3),
            "total_s": round(time.perf_counter() - t_start, 3),
            "files_extracted": ext.n_computed, "files_from_cache": ext.n_reused,
            "encoder_busy_s": round(ext.busy_seconds, 3),
            "encoder_busy_share": round(ext.busy_seconds / ext.seconds, 3) if ext.seconds > 0 else None,
            "cache_dtype": opts.cache_dtype, "processes": max(1, opts.devices) * max(1, opts.num_nodes),
            "compiled": bool(opts.compile), "device": opts.device,
            "extraction_precision": "bf16-autocast" if uses_autocast(encoder) else "float32",
            "audio_s_extracted": round(ext.audio_seconds, 3), "device_name": device_name(opts.device),
            **peak_memory_mb(opts.device)}


def summary(result: RunResult) -> str:
    """Readable lines: one per layer with the primary metrics, the chosen probe, sizes and where the record is."""
    task = result.task
    lines = [f"{result.encoder.name} on {task.name} — primary metric {task.primary.key}"
             + (" (lower is better)" if task.primary.lower_is_better else "")
             + f" (embeddings: {result.n_computed} files extracted, {result.n_reused} from cache"
             + (f", {len(result.skipped)} skipped" if result.skipped else "") + ")"]
    best = result.best()
    for rec, path in zip(result.records, result.paths):
        m, s = rec["metrics"], rec["metrics_std"]
        shown = [k for k in (task.primary.key, *task.shown) if k in m]
        vals = "  ".join(f"{k} {m[k]:.3f}" + (f"±{s[k]:.3f}" if k in s else "") for k in shown)
        hp = rec["hyperparameters"]
        probe = f"{'mlp' if hp.get('hidden') else 'linear'} lr={hp.get('lr'):g} dropout={hp.get('dropout'):g}"
        mark = " *" if rec is best and len(result.records) > 1 else ""
        lines.append(f"  layer {rec['layer']:>2}: {vals}  [val {rec['validation']['metric']} "
                     f"{rec['validation']['value']:.3f}; {probe}]{mark}")
    lines.append(f"records: {Path(result.paths[0]).parent}" + (" (* = best layer by validation)"
                                                                 if len(result.records) > 1 else ""))
    return "\n".join(lines)


__all__ = ["RunOptions", "RunResult", "run", "summary", "parse_layers", "default_layer", "DataNotFound",
           "TooManyBadFiles", "DatasetLayoutError", "default_results_dir", "DATA_ENV", "SYNTH_CONFIG_ENV"]
