"""Ordinal grades (performance difficulty, 11 grades 0–10): targets, decoding and the PSyllabus metrics.

An ordinal probe has ``G - 1`` sigmoid outputs; output ``k`` answers "is the grade above ``k``?" (targets
``[grade > k]``), trained with binary cross-entropy. A prediction is decoded as the number of leading outputs above
0.5 — ``(p > 0.5).cumprod().sum()`` — the rule of PSyllabus' ``prediction2label`` (whose extra always-on first
output we drop). For a track, the outputs are the mean of its chunks' sigmoids.

Metrics (PRamoneda/audio-difficulty, ``make_table_basic_model.py``; ``../shared/spec/datasets.md`` §3):
``mse_macro`` — the mean over the true grades present of the per-grade mean squared error (the tables' "Difficulty
MSE"; lower is better); ``balanced_accuracy`` (``sklearn``); ``kendall_tau`` (``scipy.stats.kendalltau``, τ-b);
also ``accuracy`` and plain ``mse``.
"""
from __future__ import annotations

import numpy as np
import torch
from scipy.stats import kendalltau
from sklearn.metrics import balanced_accuracy_score

__all__ = ["N_GRADES", "ordinal_targets", "decode", "difficulty_metrics", "mse_macro", "BatchedMacroMSE"]

N_GRADES = 11


def ordinal_targets(grade: int, n_grades: int = N_GRADES) -> np.ndarray:
    """``(n_grades - 1,)`` float32: ``[grade > k]`` for ``k = 0 … n_grades - 2``."""
    return (int(grade) > np.arange(n_grades - 1)).astype(np.float32)


def decode(probs) -> np.ndarray:
    """Grades from ordinal probabilities ``(..., G - 1)``: the count of leading outputs above 0.5."""
    p = np.asarray(probs) > 0.5
    return np.cumprod(p, axis=-1).sum(axis=-1).astype(np.int64)


def mse_macro(true, pred) -> float:
    """Mean over the distinct true grades of the mean squared error on that grade's tracks."""
    t, p = np.asarray(true, dtype=np.float64), np.asarray(pred, dtype=np.float64)
    return float(np.mean([np.mean((p[t == g] - g) ** 2) for g in np.unique(t)]))


def difficulty_metrics(true, pred) -> dict:
    """``mse_macro``, ``balanced_accuracy``, ``kendall_tau``, ``accuracy``, ``mse`` of integer grades."""
    t, p = np.asarray(true, dtype=np.int64), np.asarray(pred, dtype=np.int64)
    tau = kendalltau(t, p).statistic if np.unique(p).size > 1 and np.unique(t).size > 1 else float("nan")
    return {"mse_macro": mse_macro(t, p), "balanced_accuracy": float(balanced_accuracy_score(t, p)),
            "kendall_tau": float(tau), "accuracy": float(np.mean(t == p)),
            "mse": float(np.mean((t - p) ** 2)), "n_tracks": int(t.size)}


class BatchedMacroMSE:
    """The validation metric of ordinal probes, all at once: per probe, the macro-MSE of the grades decoded from each
    track's mean chunk sigmoids (``probs (P, N, G - 1)``, the validation split's track ``segments``)."""

    def __init__(self, segments, true_grades):
        self.segments = np.asarray(segments)
        self.true = torch.as_tensor(np.asarray(true_grades), dtype=torch.float64)

    def __call__(self, probs: torch.Tensor) -> np.ndarray:
        from .batched_metrics import segment_mean

        above = (segment_mean(probs, self.segments) > 0.5).to(torch.float64)           # (P, T, G - 1)
        pred = torch.cumprod(above, dim=-1).sum(dim=-1).cpu()                           # (P, T)
        err = (pred - self.true[None]) ** 2
        per = [err[:, self.true == g].mean(dim=1) for g in torch.unique(self.true)]
        return torch.stack(per, dim=1).mean(dim=1).numpy()
