"""What a fit costs: the floating-point operations of the heads' matmuls (counted exactly, for the FLOP floor of
:mod:`benchmarks.perf.probes`) and the memory a fit needs beyond its inputs."""
from __future__ import annotations

import contextlib
import contextvars
from typing import TYPE_CHECKING, Sequence

if TYPE_CHECKING:
    from .bank import HeadBank
    from .spec import ProbeSpec

__all__ = ["head_flops", "count_flops", "add_flops", "estimate_fit_bytes"]


def head_flops(in_dim: int, hidden: int, out_dim: int) -> tuple[int, int]:
    """(training flops per row, forward flops per row) of one head: forward ``2(DH + HK)`` (MLP) or ``2DK``
    (linear); training adds the backward (weight gradients, and the hidden gradient of an MLP; no input gradient)."""
    if hidden > 0:
        fwd = 2 * (in_dim * hidden + hidden * out_dim)
        return fwd + 2 * in_dim * hidden + 4 * hidden * out_dim, fwd
    fwd = 2 * in_dim * out_dim
    return 2 * fwd, fwd


_FLOPS: contextvars.ContextVar[dict | None] = contextvars.ContextVar("probe_flops", default=None)


@contextlib.contextmanager
def count_flops():
    """Count the matmul arithmetic every fit does inside the block: yields a dict whose ``"train"`` and ``"eval"``
    entries grow by the floating-point operations of each training step (forward and backward of the live probes'
    heads, :func:`head_flops` per row) and of each scoring pass (forwards). The count is exact for the work the
    engine does (retired probes cost nothing), so ``sum / matmul rate`` is that work's FLOP floor
    (:mod:`benchmarks.perf.probes`)."""
    counts = {"train": 0, "eval": 0}
    token = _FLOPS.set(counts)
    try:
        yield counts
    finally:
        _FLOPS.reset(token)


def add_flops(kind: str, bank: "HeadBank", rows: int, probes: int | None = None) -> None:
    """Add ``rows`` rows of ``probes`` probes (default: all of the bank's) to the active :func:`count_flops`."""
    counts = _FLOPS.get()
    if counts is not None:
        train, fwd = head_flops(bank.in_dim, bank.hidden, bank.out_dim)
        counts[kind] += (bank.n if probes is None else probes) * rows * (train if kind == "train" else fwd)


def estimate_fit_bytes(specs: Sequence[ProbeSpec], in_dim: int, out_dim: int, batch_size: int,
                       n_valid: int) -> int:
    """Bytes a fit of ``specs`` needs beyond its inputs: per probe its weights × 5 (parameters, gradients, two AdamW
    moments, best copy), its batch activations and its validation outputs (float32)."""
    total = 0
    for s in specs:
        n_par = (in_dim * s.hidden + s.hidden + s.hidden * out_dim + out_dim) if s.hidden else (in_dim * out_dim
                                                                                                  + out_dim)
        width = s.hidden or in_dim
        total += 4 * (5 * n_par + 3 * batch_size * (width + out_dim + in_dim) + 2 * n_valid * out_dim)
    return total
