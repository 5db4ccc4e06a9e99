"""What a fit costs: the floating-point operations of the heads' matmuls (counted exactly, for the FLOP floor of
:mod:`benchmarks.perf.probes`) and the memory a fit needs beyond its inputs."""
from __future__ import annotations

import contextlib
import contextvars
from typing import TYPE_CHECKING, Sequence

if TYPE_CHECKING:
    from .bank import HeadBank
    from .spec import ProbeSpec

__all__ = ["head_flops", "count_flops", "add_flops", "add_step", "estimate_fit_bytes", "launches"]


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
def count_flops(profile_steps: int = 0, skip_steps: int = 3):
    """Count the matmul arithmetic every fit does inside the block: yields a dict whose ``"train"`` and ``"eval"``
    entries grow by the floating-point operations of each training step (forward and backward of the live probes'
    heads, :func:`head_flops` per row) and of each scoring pass (forwards). The count is exact for the work the
    engine does (retired probes cost nothing), so ``sum / matmul rate`` is that work's FLOP floor
    (:mod:`benchmarks.perf.probes`). ``"steps"`` counts the optimizer steps.

    With ``profile_steps`` > 0, that many training steps (after the first ``skip_steps`` of the block, which warm
    up) run under ``torch.profiler``, and ``"launches"`` / ``"profiled_steps"`` add up what :func:`launches` counts
    in each: ``launches / profiled_steps`` is the step's launch count."""
    counts = {"train": 0, "eval": 0, "steps": 0, "launches": 0, "profiled_steps": 0,
              "_profile": int(profile_steps), "_skip": int(skip_steps)}
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


def add_step(device) -> contextlib.AbstractContextManager:
    """Called by the engine around each training step: counts it in the active :func:`count_flops`, and returns the
    context to run it in (a profiler for the steps it asked to profile, else a no-op)."""
    counts = _FLOPS.get()
    if counts is None:
        return contextlib.nullcontext()
    counts["steps"] += 1
    if counts["steps"] <= counts["_skip"] or counts["profiled_steps"] >= counts["_profile"]:
        return contextlib.nullcontext()
    return _profiled(counts, device)


@contextlib.contextmanager
def _profiled(counts: dict, device):
    import torch
    from torch.profiler import ProfilerActivity, profile

    cuda = getattr(device, "type", str(device)).startswith("cuda")
    acts = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if cuda else [])
    with profile(activities=acts) as prof:
        yield
        if cuda:
            torch.cuda.synchronize(device)
    counts["launches"] += launches(prof.events(), cuda)
    counts["profiled_steps"] += 1


#: Operators that only make a new view or read metadata: no kernel runs (not counted as launches on CPU).
_NO_KERNEL = frozenset("aten::" + n for n in (
    "as_strided", "view", "_reshape_alias", "reshape", "expand", "slice", "select", "unsqueeze", "squeeze",
    "transpose", "t", "permute", "detach", "alias", "resolve_conj", "resolve_neg", "empty", "empty_strided",
    "empty_like", "set_", "lift_fresh", "_unsafe_view", "item", "_local_scalar_dense", "is_nonzero", "numpy_T",
    "expand_as", "view_as"))
#: Operators that run a kernel only when they copy (then they call another ``aten::`` operator).
_COPY_IF_NEEDED = frozenset(("aten::to", "aten::contiguous"))


def launches(events, cuda: bool) -> int:
    """The launch count of a profiled region (``torch.profiler`` events). On CUDA: the device kernels and copies
    (events whose ``device_type`` is CUDA). On CPU: the operators dispatched from Python or autograd (``aten::``
    events without an ``aten::`` parent), except those that run no kernel (views, metadata, allocation;
    ``_NO_KERNEL``; ``to`` / ``contiguous`` count only when they copy) — on CUDA each of these would be at least
    one launch."""
    from torch.autograd import DeviceType

    if cuda:
        return sum(1 for e in events if e.device_type == DeviceType.CUDA)
    return sum(1 for e in events if e.device_type == DeviceType.CPU and e.name.startswith("aten::")
               and e.name not in _NO_KERNEL and (e.name not in _COPY_IF_NEEDED or e.cpu_children)
               and not (e.cpu_parent is not None and e.cpu_parent.name.startswith("aten::")))


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
