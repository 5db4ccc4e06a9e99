"""``omar-bench reproduce --table NAME``: run every missing (model, task) cell of a table, then write the table.

Resumable by construction: a cell whose records already exist (same model, task, layer(s), probe and seed) is
skipped, and embeddings already in the cache are reused, so an interrupted reproduction picks up where it stopped and a
second call does no work. A cell that cannot run (checkpoint or dataset not found) is reported and the others go on.

Layers follow the table: the development tables use the fixed layer 6; the released table (best layer) needs every
layer of the model, the best one being chosen by validation when the table is built; the offline table runs the
default layer (6, or the last block of a shallower model) to stay fast on a CPU, and takes the best by validation
among whatever layers are recorded. ``layers`` ("all", "3", "0,3") overrides.
"""
from __future__ import annotations

import sys
from dataclasses import dataclass

from omar_rq.config import read_depth
from omar_rq.loading import find_config

from omar_rq.hub import find_in_hf_cache

from .encoders import MODEL_CONFIGS, MelBaseline, locate, record_name
from .leaderboard import TABLES
from .records import find_record
from .registry import default_registry
from .resources import project_file
from .data_location import data_dir_for
from .errors import UnknownName
from .runner import RunOptions, parse_layers, run

#: Models of the offline table when ``--models`` is not given: the floor and a small OMAR-RQ model.
DEFAULT_OFFLINE_MODELS = ("mel", "random-tiny")


@dataclass
class Job:
    """One (model, task) cell of a table to reproduce, with the layers it runs and what became of it."""

    model: str
    task: str
    layers: list[int]
    status: str = "todo"        # "done" (already recorded) | "ran" | "failed"
    detail: str = ""


def model_depth(model: str, checkpoint_root: str | None = None) -> int:
    """Blocks of ``model`` read from its config (:func:`benchmarks.encoders.locate`), without loading weights."""
    src = locate(model, checkpoint_root)
    if src.kind == "mel":
        return MelBaseline.num_layers
    if src.kind == "hub":
        cached = find_in_hf_cache(src.hf_id)
        if cached is not None:
            return read_depth(cached)
        entry = default_registry().model(src.hf_id)  # not downloaded yet: the registry's copy of its config
        return read_depth(project_file(entry.project_config))
    return read_depth(find_config(src.config))


def table_cells(table: str, models=None, checkpoint_root=None, layers: str | None = None) -> list[Job]:
    """The (model, task, layers) cells of ``table`` that our harness runs."""
    if table not in TABLES:
        raise UnknownName(f"unknown table {table!r}; tables: {', '.join(TABLES)}")
    defn = TABLES[table]
    if models is None:
        models = list(DEFAULT_OFFLINE_MODELS) if defn.rows == "records" else \
            default_registry().table_members(defn.name)
    cells = []
    for model in models:
        try:
            depth = model_depth(model, checkpoint_root)
        except Exception as e:  # noqa: BLE001 - reported per cell, the others go on
            for col in defn.columns:
                if col.run:
                    cells.append(Job(model, col.task, [], "failed", f"{type(e).__name__}: {e}"))
            continue
        if not layers and defn.layer is None and defn.rows != "records":
            chosen = list(range(depth))  # a best-layer published table: every layer
        else:  # the table's fixed layer, or the default layer for the offline suite, unless --layers says otherwise
            fixed = min(defn.layer, depth - 1) if defn.layer is not None else None
            chosen = parse_layers(layers, depth, default=fixed, model=model)
        for task in dict.fromkeys(col.task for col in defn.columns if col.run):   # a task once, whatever it shows
            cells.append(Job(model, task, chosen))
    return cells


def reproduce(table: str, models=None, data_root: str | None = None, results_dir: str = "results",
              progress: bool = True, probe: str = "grid", seed: int = 0, layers: str | None = None,
              **run_kwargs) -> list[Job]:
    """Run the missing cells of ``table`` (see module docstring); returns every cell with its status."""
    cells = table_cells(table, models, run_kwargs.get("checkpoint_root"), layers)
    for cell in cells:
        if cell.status == "failed":
            continue
        name = record_name(cell.model)
        if all(find_record(results_dir, name, cell.task, layer, probe, seed) for layer in cell.layers):
            cell.status, cell.detail = "done", "already recorded"
            continue
        from .tasks import get_task

        task = get_task(cell.task)
        try:
            data_dir = None if task.synth_set else str(data_dir_for(task, data_root=data_root))
            result = run(RunOptions(model=cell.model, task=cell.task, data_dir=data_dir,
                                    layers=",".join(map(str, cell.layers)), probe=probe, seed=seed,
                                    results_dir=results_dir, progress=progress, **run_kwargs))
            if not result.records:   # a rank other than 0 of a multi-process run (benchmarks.distributed)
                continue
            best = result.best()
            cell.status = "ran"
            key = task.primary.key
            cell.detail = f"{key} {best['metrics'].get(key, float('nan')):.3f} (layer {best['layer']})"
        except Exception as e:  # noqa: BLE001 - a missing checkpoint or dataset must not stop the other cells
            cell.status, cell.detail = "failed", f"{type(e).__name__}: {e}"
        if progress:
            print(f"[{cell.status}] {cell.model} × {cell.task}: {cell.detail}", file=sys.stderr, flush=True)
    return cells


__all__ = ["reproduce", "table_cells", "Job", "DEFAULT_OFFLINE_MODELS", "MODEL_CONFIGS"]
