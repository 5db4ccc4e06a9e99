"""Sweeps over many layers in bounded memory: the layers of a model are taken in chunks whose standardised inputs
and probes fit a memory budget, each chunk one batched fit (:func:`probes.training.sweep_many`)."""
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
from .training import sweep_many

__all__ = ["LayerInputs", "CPU_MEMORY_BUDGET", "memory_budget", "layer_chunks", "sweep_layers"]


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
    kind = get_kind(kind)
    for split in ("train", "valid"):
        kind.check_targets(np.asarray(inputs.y[split]), int(np.asarray(inputs.segments[split])[-1]),
                           f"{split} targets", n_outputs=n_out)
    points = grid_points(grid)
    n_tr, n_va = len(inputs.y["train"]), len(inputs.y["valid"])
    specs = [ProbeSpec(lr=p["lr"], hidden=p["hidden"], dropout=p["dropout"], seed=s) for s in seeds for p in points]
    batch = int(loop.get("batch_size", DEFAULTS["batch_size"]))
    per_layer = 4 * (n_tr + n_va) * inputs.dim + estimate_fit_bytes(specs, inputs.dim, n_out, batch, n_va)
    step = layer_chunks(len(inputs.layers), per_layer, memory_bytes or memory_budget(device))
    ys = {s: kind.target_tensor(inputs.y[s]) for s in ("train", "valid")}
    out: dict[tuple[int, int], SweepResult] = {}
    for c in range(0, len(inputs.layers), step):
        chunk = inputs.layers[c:c + step]
        xs = {"train": torch.empty(len(chunk), n_tr, inputs.dim), "valid": torch.empty(len(chunk), n_va, inputs.dim)}
        stds = []
        for j, layer in enumerate(chunk):
            x_tr = inputs.rows(layer, "train")
            std = Standardizer.fit(x_tr)
            stds.append(std)
            for split, x in (("train", x_tr), ("valid", inputs.rows(layer, "valid"))):
                for i in range(0, len(x), 65536):
                    xs[split][j, i:i + 65536] = torch.from_numpy(std(x[i:i + 65536]))
        res = sweep_many(kind, Split(xs["train"], ys["train"], inputs.segments["train"]),
                         Split(xs["valid"], ys["valid"], inputs.segments["valid"]), grid=grid, seeds=seeds,
                         standardizers=stds, n_out=n_out, val_metric=val_metric,
                         device=device, **loop)
        del xs
        for (u, s), r in res.items():
            out[(chunk[u], s)] = r
        if progress is not None:
            progress(len(chunk))
    return out
