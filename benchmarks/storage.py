"""The disk budget of an extraction: the bytes it will write into the cache, against the free space, before it starts.

:func:`plan` estimates what :func:`benchmarks.extract.extract` will write for the files and layers still missing:
rows per file from the audio header (``clip``: the frontend's chunk count; ``frame``: ``ceil(seconds * eps)``), the
width of each layer from one forward pass of the encoder on 2 s of audio, the storage precision's item size, and the
entry's fixed overhead (zip headers, ``.npy`` headers, metadata: :data:`ENTRY_OVERHEAD` + :data:`MEMBER_OVERHEAD` per
layer). :func:`check` raises :class:`NotEnoughSpace` (a user error: one line, exit 2) when the free space of the cache's
file system, less :data:`RESERVE_BYTES`, cannot hold it. The consolidated per-layer index adds
:data:`INDEX_BYTES_PER_ENTRY` per entry and layer.
"""
from __future__ import annotations

import math
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from .errors import UsageError

ENTRY_OVERHEAD = 1024          # bytes: zip end records, the meta member
MEMBER_OVERHEAD = 256          # bytes per layer member: local + central zip headers, the .npy header
INDEX_BYTES_PER_ENTRY = 56     # bytes per entry and layer in layer_<i>.idx.npy
RESERVE_BYTES = 64 << 20       # kept free: the index, records and the file system's own needs


class NotEnoughSpace(UsageError):
    """The cache's file system cannot hold what the extraction will write."""


@dataclass
class Plan:
    """What an extraction will write: ``bytes`` in ``n_files`` entries, ``rows`` vectors per layer, ``widths`` per
    layer, at ``itemsize`` bytes per value (``unknown`` files could not be sized from their header: counted as 0)."""

    bytes: int
    n_files: int
    rows: int
    widths: dict[int, int]
    itemsize: int
    unknown: int = 0


def human(n: float) -> str:
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if abs(n) < 1000 or unit == "TB":
            return f"{n:.1f} {unit}" if unit != "B" else f"{int(n)} B"
        n /= 1000
    return f"{n:.1f} TB"


def free_bytes(path: str | os.PathLike) -> int:
    """Free bytes (for an unprivileged user) of the file system holding ``path`` or its nearest existing parent."""
    p = Path(path).resolve()
    while not p.exists() and p != p.parent:
        p = p.parent
    return int(shutil.disk_usage(p).free)


def layer_widths(encoder, layers: Sequence[int]) -> dict[int, int]:
    """The vector size of each of ``layers``, from one forward pass on 2 s of quiet noise."""
    import torch

    from .extract import forward

    sr = int(encoder.sr)
    x = torch.randn(1, 2 * sr, generator=torch.Generator().manual_seed(0)) * 1e-3
    device = getattr(encoder.model, "device", None)
    if isinstance(device, torch.device):
        x = x.to(device)
    with torch.inference_mode():
        out = forward(encoder, x, list(layers))
    return {int(layer): int(t.shape[-1]) for layer, t in zip(layers, out)}


def plan(encoder, todo: Sequence[tuple], frontend, itemsize: int) -> Plan:
    """The :class:`Plan` of ``todo`` (``(example, entry, missing layers)`` as :func:`extract` lists them)."""
    from omar_rq.audio import AudioLoadError, audio_info

    from .extract import chunk_spans

    if not todo:
        return Plan(0, 0, 0, {}, itemsize)
    all_layers = sorted({layer for _, _, missing in todo for layer in missing})
    widths = layer_widths(encoder, all_layers)
    total, rows_total, unknown = 0, 0, 0
    for ex, _, missing in todo:
        try:
            info = audio_info(ex.audio_path)
        except AudioLoadError:
            unknown += 1
            continue
        seconds = info.frames / info.samplerate
        if frontend.mode == "clip":
            n = len(chunk_spans(int(round(seconds * encoder.sr)), encoder.sr, frontend.chunk_seconds,
                                frontend.overlap, frontend.min_last))
        else:
            n = int(math.ceil(seconds * float(encoder.eps))) + 1
        rows_total += n
        total += ENTRY_OVERHEAD + sum(MEMBER_OVERHEAD + n * widths[layer] * itemsize for layer in missing)
    return Plan(int(total), len(todo), rows_total, widths, itemsize, unknown)


def check(p: Plan, cache_root: str | os.PathLike, n_layers: int, say=None) -> None:
    """Print the plan and the free space (through ``say``), and refuse with :class:`NotEnoughSpace` when it does not
    fit."""
    free = free_bytes(cache_root)
    need = p.bytes + p.n_files * n_layers * INDEX_BYTES_PER_ENTRY
    if say is not None and p.n_files:
        say(f"cache: {p.n_files} files x {n_layers} layer(s) will write about {human(need)} "
            f"({'float16' if p.itemsize == 2 else 'float32'}) into {cache_root}; {human(free)} free")
    if p.n_files and need > free - RESERVE_BYTES:
        raise NotEnoughSpace(
            f"the cache needs about {human(need)} for {p.n_files} files x {n_layers} layer(s) but "
            f"{cache_root} has {human(free)} free (keeping {human(RESERVE_BYTES)} spare); ask for fewer layers "
            f"(--layers 6), store float16 (--cache-dtype float16) or use another --cache-dir")


def entry_itemsize(dtype: str) -> int:
    return int(np.dtype(dtype).itemsize)
