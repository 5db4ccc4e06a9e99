"""Validation metrics in the two forms the engine takes: a plain ``val_metric(y_true, y_score) -> float`` (numpy,
called once per probe per validation) or a :func:`batched` one, ``metric(probs (P, N, K) tensor) -> (P,)``, scored
for all probes at once; and the engine's metric for a validation split (:func:`engine_metric`)."""
from __future__ import annotations

from typing import Callable

import numpy as np
import torch

from .kinds import get_kind
from .spec import Split

__all__ = ["batched", "is_batched", "default_val_metric", "engine_metric"]


def batched(fn: Callable) -> Callable:
    """Mark ``fn(probs: Tensor (P, N, K)) -> (P,)`` as a batched validation metric (scored for all probes at once)."""
    fn.batched = True
    return fn


def is_batched(fn) -> bool:
    return bool(getattr(fn, "batched", False))


def default_val_metric(kind) -> Callable:
    """``val_metric(y_true, y_score) -> float`` (numpy, one probe) of a kind (:meth:`ProbeKind.reference_metric`)."""
    return get_kind(kind).reference_metric


def engine_metric(kind, valid: Split, y_valid_track, val_metric: Callable | None) -> Callable:
    """The engine's ``probs (P, N, K) → (P,)`` metric for a validation split: the caller's batched metric, the kind's
    batched default, or a per-probe numpy metric applied to each probe's track-level scores (``y_valid_track``:
    the split's track-level targets, :meth:`ProbeKind.split_track_targets` when None)."""
    kind = get_kind(kind)
    if val_metric is not None and is_batched(val_metric):
        return val_metric
    seg = valid.segments
    if val_metric is None:
        return kind.batched_metric(seg, valid.y)
    if y_valid_track is None:
        y_valid_track = kind.split_track_targets(valid.y.cpu().numpy(), seg)

    def per_probe(probs: torch.Tensor) -> np.ndarray:
        return np.asarray([val_metric(y_valid_track, kind.track_scores(p, seg))
                           for p in probs.to("cpu", torch.float64).numpy()], dtype=np.float64)

    return per_probe
