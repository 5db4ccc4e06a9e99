"""Sweeps over many layers (and folds) in bounded memory: the layers of a model are taken in chunks whose
standardised inputs and probes fit a memory budget, each chunk one batched fit (:func:`probes.training.sweep_groups`);
the folds of a cross-validation that validate after the same number of steps share those fits."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np
import torch

from .data import Standardizer
from .fitted import SweepResult
from .flops import estimate_fit_bytes
from .grid import DEFAULTS, grid_points
from .kinds import get_kind
from .spec import ProbeSpec, Split, torch_device
from .engine import round_schedule
from .training import sweep_groups

__all__ = ["LayerInputs", "CPU_MEMORY_BUDGET", "memory_budget", "layer_chunks", "sweep_layers", "sweep_folds"]


@dataclass
class LayerInputs:
    """The rows of one train / valid partition seen through several layers, read on demand.

    ``rows(layer, split)`` returns the ``(N, D)`` float32 rows of ``split`` ("train" or "valid") at ``layer`` (a
    memory map slice is fine: it is read once per fit); ``y[split]`` the targets of those rows and
    ``segments[split]`` the track offsets (rows of a track contiguous, tracks in target order)."""

    layers: list[int]
    rows: Callable[[int, str], np.ndarray]
    y: dict
    segments: dict
    dim: int


#: Memory for the inputs and probes of one fit on CPU (the sweep of a 24-layer model runs in chunks of layers).
CPU_MEMORY_BUDGET = 2 * 1024 ** 3


def memory_budget(device: str) -> int:
    """Bytes one fit may use: :data:`CPU_MEMORY_BUDGET` on CPU, 60 % of the free memory of a CUDA device."""
    _, _, dev = torch_device(device)
    if dev.type == "cuda":
        free, _ = torch.cuda.mem_get_info(dev)
        return int(0.6 * free)
    return CPU_MEMORY_BUDGET


def layer_chunks(n_layers: int, per_layer_bytes: int, budget: int) -> int:
    """How many layers one fit takes so that ``per_layer_bytes × layers`` stays within ``budget`` (at least 1)."""
    return max(1, min(n_layers, budget // max(per_layer_bytes, 1)))


def sweep_layers(kind, inputs: LayerInputs, *, grid: dict | None = None, seeds: Sequence[int] = (0,),
                 n_out: int, val_metric: Callable | None = None, device: str = "cpu",
                 memory_bytes: int | None = None, progress: Callable[[int], None] | None = None,
                 **loop) -> dict[tuple[int, int], SweepResult]:
    """:func:`sweep_many` over every layer of ``inputs`` and every seed, as few batched fits as memory allows: the
    layers are taken in chunks whose standardised inputs and probes fit ``memory_bytes`` (default
    :func:`memory_budget`). Returns ``{(layer, seed): SweepResult}``; ``progress(n_layers_done)`` after each chunk.
    The targets are checked against the kind (:meth:`ProbeKind.check_targets`) before any training."""
    res = sweep_folds(kind, [inputs], grid=grid, seeds=seeds, n_out=n_out, val_metrics=[val_metric], device=device,
                      memory_bytes=memory_bytes, progress=progress, **loop)
    return {(layer, s): r for (_, layer, s), r in res.items()}


def sweep_folds(kind, folds: Sequence[LayerInputs], *, grid: dict | None = None, seeds: Sequence[int] = (0,),
                n_out: int, val_metrics: Sequence[Callable | None] | None = None, device: str = "cpu",
                memory_bytes: int | None = None, progress: Callable[[int], None] | None = None,
                joint: bool = True, on_result: Callable[[int, int, int, SweepResult], None] | None = None,
                **loop) -> dict[tuple[int, int, int], SweepResult]:
    """:func:`sweep_layers` for the folds of a cross-validation (``folds[f]``: fold ``f``'s train / valid rows,
    ``val_metrics[f]`` its validation metric): with ``joint``, folds that validate after the same number of steps
    train as more probes of the same fits (:func:`probes.training.sweep_groups`; each exactly as in a fit of its own
    fold), as many (fold, layer) pairs per fit as the memory budget holds; without, one fold after the other.
    Returns ``{(fold, layer, seed): SweepResult}``; ``progress(n)`` after each fit, ``n`` = its layers × folds, and
    ``on_result(fold, layer, seed, result)`` for each of its results (e.g. to start their test decoding while the
    next fit trains)."""
    kind = get_kind(kind)
    val_metrics = list(val_metrics or [None] * len(folds))
    for inputs in folds:
        for split in ("train", "valid"):
            kind.check_targets(np.asarray(inputs.y[split]), int(np.asarray(inputs.segments[split])[-1]),
                               f"{split} targets", n_outputs=n_out)
    points = grid_points(grid)
    specs = [ProbeSpec(lr=p["lr"], hidden=p["hidden"], dropout=p["dropout"], seed=s) for s in seeds for p in points]
    batch = int(loop.get("batch_size", DEFAULTS["batch_size"]))
    budget = memory_bytes or memory_budget(device)
    per_layer = [4 * (len(f.y["train"]) + len(f.y["valid"])) * f.dim
                 + estimate_fit_bytes(specs, f.dim, n_out, batch, len(f.y["valid"])) for f in folds]
    out: dict[tuple[int, int, int], SweepResult] = {}
    for group in _fold_groups(folds, batch, loop, joint):
        for part in _fit_budget(group, per_layer, budget):
            layers = folds[part[0]].layers
            step = layer_chunks(len(layers), sum(per_layer[f] for f in part), budget)
            for c in range(0, len(layers), step):
                chunk = layers[c:c + step]
                trains, valids, stds = [], [], []
                for f in part:
                    x, std = _standardised(folds[f], chunk)
                    ys = {s: kind.target_tensor(folds[f].y[s]) for s in ("train", "valid")}
                    trains.append(Split(x["train"], ys["train"], folds[f].segments["train"]))
                    valids.append(Split(x["valid"], ys["valid"], folds[f].segments["valid"]))
                    stds.append(std)
                res = sweep_groups(kind, trains, valids, grid=grid, seeds=seeds, standardizers=stds, n_out=n_out,
                                   val_metrics=[val_metrics[f] for f in part], device=device, **loop)
                del trains, valids
                for (g, u, s), r in res.items():
                    out[(part[g], chunk[u], s)] = r
                    if on_result is not None:
                        on_result(part[g], chunk[u], s, r)
                if progress is not None:
                    progress(len(chunk) * len(part))
    return out


def _standardised(inputs: LayerInputs, layers: Sequence[int]) -> tuple[dict, list[Standardizer]]:
    """``{"train": (L, N, D), "valid": (L, N_valid, D)}`` float32 tensors of ``layers``, each layer standardised
    with its train rows' statistics, and those standardisers."""
    n_tr, n_va = len(inputs.y["train"]), len(inputs.y["valid"])
    xs = {"train": torch.empty(len(layers), n_tr, inputs.dim), "valid": torch.empty(len(layers), n_va, inputs.dim)}
    stds = []
    for j, layer in enumerate(layers):
        x_tr = inputs.rows(layer, "train")
        std = Standardizer.fit(x_tr)
        stds.append(std)
        for split, x in (("train", x_tr), ("valid", inputs.rows(layer, "valid"))):
            for i in range(0, len(x), 65536):
                xs[split][j, i:i + 65536] = torch.from_numpy(std(x[i:i + 65536]))
    return xs, stds


def _fold_groups(folds: Sequence[LayerInputs], batch: int, loop: dict, joint: bool) -> list[list[int]]:
    """The folds that can share fits: those whose rounds have the same number of steps (all of them on the step
    schedule; on the epoch schedule, those with as many batches an epoch), in fold order; each alone without
    ``joint``."""
    if not joint:
        return [[f] for f in range(len(folds))]
    groups: dict[int, list[int]] = {}
    for f, inputs in enumerate(folds):
        sched = round_schedule(len(inputs.y["train"]), batch, loop.get("val_every", 1), loop.get("steps_per_round"))
        groups.setdefault(sched["steps_per_round"], []).append(f)
    return sorted(groups.values())


def _fit_budget(group: list[int], per_layer: Sequence[int], budget: int) -> list[list[int]]:
    """``group``'s folds in parts whose one-layer fits stay within ``budget`` (at least one fold a part)."""
    parts, size = [[]], 0
    for f in group:
        if parts[-1] and size + per_layer[f] > budget:
            parts.append([])
            size = 0
        parts[-1].append(f)
        size += per_layer[f]
    return parts
