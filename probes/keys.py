"""Key detection: the 24-key vocabulary and ``mir_eval.key`` scores, per track and for many probes at once.

Classes: index ``pc + 12 * minor`` for tonic pitch class ``pc`` (C = 0) — ``0–11`` = C…B major, ``12–23`` = C…B
minor — named ``"<Tonic> <mode>"`` with flats (``Db major``), the spelling of GiantSteps and of ``mir_eval.key``.

Score (``../shared/spec/datasets.md`` §0.3): ``mir_eval.key.weighted_score`` — 1 for the same key, 0.5 for the
estimate a fifth *above* in the same mode, 0.3 relative, 0.2 parallel, 0 otherwise — averaged over tracks
(``weighted_score``), and ``accuracy`` (same key). :data:`SCORE` holds the 24 × 24 table computed once with
``mir_eval`` itself, so many probes are scored by a lookup.
"""
from __future__ import annotations

from typing import Sequence

import mir_eval
import numpy as np
import torch

__all__ = ["NAMES", "key_index", "SCORE", "key_metrics", "BatchedKeyScore"]

_TONICS = ("C", "Db", "D", "Eb", "E", "F", "Gb", "G", "Ab", "A", "Bb", "B")
NAMES = tuple(f"{t} major" for t in _TONICS) + tuple(f"{t} minor" for t in _TONICS)


def key_index(key: str) -> int:
    """Class of a key string (``"Eb minor"``, ``"d# minor"``; any spelling ``mir_eval`` reads)."""
    tonic, mode = mir_eval.key.split_key_string(key.strip())
    if tonic is None or mode not in ("major", "minor"):
        raise ValueError(f"not one of the 24 keys: {key!r}")
    return tonic % 12 + (12 if mode == "minor" else 0)


#: ``SCORE[true, estimated]`` = ``mir_eval.key.weighted_score(NAMES[true], NAMES[estimated])``.
SCORE = np.array([[mir_eval.key.weighted_score(r, e) for e in NAMES] for r in NAMES], dtype=np.float64)


def key_metrics(true_keys: Sequence[int], predicted: Sequence[int]) -> dict:
    """``weighted_score`` (mean over tracks of ``mir_eval.key.weighted_score``) and ``accuracy``; classes in, as
    :func:`key_index` gives them."""
    t, p = np.asarray(true_keys, dtype=np.int64), np.asarray(predicted, dtype=np.int64)
    if t.shape != p.shape or t.size == 0:
        raise ValueError(f"need as many predictions as tracks (got {p.shape} for {t.shape})")
    scores = [mir_eval.key.weighted_score(NAMES[a], NAMES[b]) for a, b in zip(t, p)]
    return {"weighted_score": float(np.mean(scores)), "accuracy": float(np.mean(t == p)), "n_tracks": int(t.size)}


class BatchedKeyScore:
    """The validation metric of key probes, all at once: per probe, the mean weighted score of the argmax of each
    track's mean chunk probabilities (``probs (P, N, 24)`` with the validation split's track ``segments``)."""

    def __init__(self, segments, true_keys: Sequence[int]):
        self.segments = np.asarray(segments)
        self.true = torch.as_tensor(np.asarray(true_keys), dtype=torch.long)
        self.table = torch.from_numpy(SCORE)

    def __call__(self, probs: torch.Tensor) -> np.ndarray:
        from .batched_metrics import _argmax_first, segment_mean

        pred = _argmax_first(segment_mean(probs, self.segments)).cpu()          # (P, T)
        return self.table[self.true[None].expand_as(pred), pred].mean(dim=1).numpy()
