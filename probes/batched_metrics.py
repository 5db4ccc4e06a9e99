"""Validation metrics of many probes at once (torch, any device): what the batched engine scores every round.

Every function takes the outputs of ``P`` probes on the same validation rows as one tensor ``(P, N, K)`` and returns
one score per probe, ``(P,)`` float64. They compute the same numbers as the per-probe reference functions of
:mod:`probes.metrics` / scikit-learn (tested against them), but in a few tensor operations instead of ``P × K``
Python calls, so scoring a 288-probe sweep costs about what one probe's scoring used to.

Row layout: the validation rows of a track are contiguous; ``segments`` ``(T + 1,)`` int holds the row offsets of the
``T`` tracks (track ``t`` = rows ``segments[t] : segments[t + 1]``), tracks in the order the targets are given.
"""
from __future__ import annotations

import numpy as np
import torch

__all__ = ["segment_mean", "accuracy", "average_precision", "pr_auc_macro", "frame_average_precision",
           "frame_accuracy"]


def segment_mean(scores: torch.Tensor, segments) -> torch.Tensor:
    """Mean of the rows of each track: ``(P, N, K)`` → ``(P, T, K)`` float64 (cumulative-sum differences: exact
    order-independent segment sums, deterministic on every device, no atomics)."""
    seg = torch.as_tensor(np.asarray(segments), dtype=torch.long, device=scores.device)
    s = scores.to(torch.float64)
    c = torch.nn.functional.pad(torch.cumsum(s, dim=1), (0, 0, 1, 0))
    counts = (seg[1:] - seg[:-1]).to(torch.float64).clamp_min(1.0)
    return (c[:, seg[1:]] - c[:, seg[:-1]]) / counts[None, :, None]


def accuracy(track_scores: torch.Tensor, y_track) -> torch.Tensor:
    """Per probe, the fraction of tracks whose argmax (ties → lowest index, as numpy) equals the int label:
    ``(P, T, K)``, ``(T,)`` → ``(P,)``."""
    y = torch.as_tensor(np.asarray(y_track), dtype=torch.long, device=track_scores.device)
    pred = _argmax_first(track_scores)
    return (pred == y[None]).to(torch.float64).mean(dim=1)


def _argmax_first(x: torch.Tensor) -> torch.Tensor:
    """argmax over the last axis with ties resolved to the lowest index (numpy's rule; torch's is unspecified)."""
    m = x.max(dim=-1, keepdim=True).values
    k = x.shape[-1]
    idx = torch.arange(k, device=x.device).expand_as(x)
    return torch.where(x == m, idx, k).min(dim=-1).values


def average_precision(scores: torch.Tensor, y_true) -> tuple[torch.Tensor, torch.Tensor]:
    """Average precision of every column of every probe, as ``sklearn.metrics.average_precision_score``.

    ``scores`` ``(P, T, K)``, ``y_true`` ``(T, K)`` in {0, 1}. AP = Σ_k (R_k − R_{k−1}) P_k over the distinct score
    thresholds in decreasing order (tied scores form one threshold, as scikit-learn's ``_binary_clf_curve``).
    Returns ``(ap (P, K) float64, scorable (K,) bool)``: a column without a positive or without a negative is not
    scorable (its AP is NaN), as :func:`probes.metrics.tagging_metrics` excludes it.
    """
    y = torch.as_tensor(np.asarray(y_true), device=scores.device).to(torch.float64)
    n_pos = y.sum(dim=0)
    scorable = (n_pos > 0) & (n_pos < y.shape[0])
    # (P, K, T): sort each column's scores (the order inside a group of ties does not matter: only group ends count)
    s = scores.transpose(1, 2).contiguous()
    s_sorted, order = torch.sort(s, dim=2, descending=True)
    y_sorted = torch.gather(y.T.contiguous().expand(s.shape[0], -1, -1), 2, order)
    tp = torch.cumsum(y_sorted, dim=2)
    rank = torch.arange(1, s.shape[2] + 1, device=s.device, dtype=torch.float64)
    last = torch.ones_like(s_sorted, dtype=torch.bool)          # the last row of each group of tied scores
    last[:, :, :-1] = s_sorted[:, :, 1:] != s_sorted[:, :, :-1]
    tp_at = torch.where(last, tp, torch.zeros_like(tp))
    prev = torch.cummax(torch.nn.functional.pad(tp_at, (1, 0))[:, :, :-1], dim=2).values
    gain = torch.where(last, (tp - prev) * (tp / rank), torch.zeros_like(tp))
    ap = gain.sum(dim=2) / n_pos.clamp_min(1.0)[None]
    return torch.where(scorable[None], ap, torch.full_like(ap, float("nan"))), scorable


def pr_auc_macro(track_scores: torch.Tensor, y_track) -> torch.Tensor:
    """Per probe, the mean AP over scorable columns (``probes.metrics.pr_auc_macro``); NaN when none is scorable."""
    ap, scorable = average_precision(track_scores, y_track)
    if not bool(scorable.any()):
        return torch.full((track_scores.shape[0],), float("nan"), dtype=torch.float64, device=track_scores.device)
    return ap[:, scorable].mean(dim=1)


def frame_average_precision(scores: torch.Tensor, y_frames) -> torch.Tensor:
    """The default framewise validation metric, per probe: macro AP over the ``C`` outputs of all frames pooled,
    positives = frames whose target is 1 (``(P, N, C)``, ``(N, C)`` → ``(P,)``)."""
    y = (torch.as_tensor(np.asarray(y_frames), device=scores.device) >= 1.0).to(torch.float64)
    return pr_auc_macro(scores, y)


def frame_accuracy(scores: torch.Tensor, y_frames) -> torch.Tensor:
    """Per probe, the accuracy of the frame argmax over all frames whose label is not -1 (``(P, N, K)``, ``(N,)`` →
    ``(P,)``; NaN when every frame is ignored)."""
    y = torch.as_tensor(np.asarray(y_frames), dtype=torch.long, device=scores.device)
    keep = y >= 0
    if not bool(keep.any()):
        return torch.full((scores.shape[0],), float("nan"), dtype=torch.float64, device=scores.device)
    pred = _argmax_first(scores[:, keep])
    return (pred == y[keep][None]).to(torch.float64).mean(dim=1)
