"""In-memory probe data: one split of cached, frozen embeddings plus targets.

The shapes of ``x``, ``y`` and ``groups`` depend on the probe kind (:mod:`probes.kinds`, which owns the checks):
clip kinds (multilabel, multiclass, regression, ordinal) take ``x`` ``(n_chunks, D)`` chunk vectors, ``y`` one target
per chunk (every chunk carries its track's target) and ``groups`` ``(n_chunks,)`` int track ids; frame kinds
(framewise, framewise-multiclass) take lists of per-track ``(T_i, D)`` sequences and targets, ``groups`` None.

Track-level convention (clip kinds): a *track* is a distinct value of ``groups``; tracks are ordered by ascending
group id (``np.unique`` order) everywhere — in :meth:`probes.kinds.ProbeKind.track_targets`, in :func:`aggregate_by_group` and in
``FittedProbe.predict``. ``groups=None`` means every chunk is its own track (track order = row order).
"""
from __future__ import annotations

from dataclasses import dataclass
import numpy as np

@dataclass
class ProbeData:
    """One split (train, valid or test) of probe inputs and targets. See the module docstring for shapes."""

    x: np.ndarray | list[np.ndarray]
    y: np.ndarray | list[np.ndarray]
    groups: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.x)




def group_index(groups: np.ndarray | None, n: int) -> tuple[np.ndarray, np.ndarray]:
    """``(track_ids, inverse)``: sorted unique group ids and, per row, the index of its track in ``track_ids``."""
    if groups is None:
        return np.arange(n), np.arange(n)
    ids, inverse = np.unique(np.asarray(groups), return_inverse=True)
    return ids, inverse.reshape(-1)


def aggregate_by_group(scores: np.ndarray, groups: np.ndarray | None) -> np.ndarray:
    """Mean of chunk-level ``scores`` ``(n, K)`` per track → ``(n_tracks, K)``, tracks in ascending group-id order."""
    scores = np.asarray(scores, dtype=np.float64)
    if groups is None:
        return scores
    _, inverse = group_index(groups, len(scores))
    n_tracks = int(inverse.max()) + 1
    sums = np.zeros((n_tracks,) + scores.shape[1:], dtype=np.float64)
    np.add.at(sums, inverse, scores)
    counts = np.bincount(inverse, minlength=n_tracks).astype(np.float64)
    return sums / counts.reshape((-1,) + (1,) * (scores.ndim - 1))






@dataclass
class Standardizer:
    """Per-dimension feature standardisation ``(x - mean) / std`` fitted on the TRAIN split.

    ``std`` below ``1e-8`` (a constant feature) is replaced by 1, so such a feature maps to 0 instead of inf/nan.
    Statistics are computed in float64 over all training rows (all frames, for framewise data).
    """

    mean: np.ndarray
    std: np.ndarray

    @classmethod
    def fit(cls, x: np.ndarray, chunk_rows: int = 65536) -> "Standardizer":
        """Two passes (mean, then centred squares), accumulated in float64 over row chunks of ``x`` (a memory map
        is read in chunks, never copied whole)."""
        import torch

        n = len(x)
        if n == 0:
            raise ValueError("cannot standardise: no training rows")
        chunks = [torch.from_numpy(np.ascontiguousarray(x[i:i + chunk_rows], dtype=np.float32))
                  for i in range(0, n, chunk_rows)] if n <= chunk_rows else None

        def rows():
            if chunks is not None:
                yield from chunks
            else:
                for i in range(0, n, chunk_rows):
                    yield torch.from_numpy(np.ascontiguousarray(x[i:i + chunk_rows], dtype=np.float32))

        total = sum(c.sum(dim=0, dtype=torch.float64) for c in rows())
        mean = total / n
        sq = sum(((c.to(torch.float64) - mean) ** 2).sum(dim=0) for c in rows())
        std = torch.sqrt(sq / n).numpy()
        std = np.where(std < 1e-8, 1.0, std)
        return cls(mean.numpy().astype(np.float32), std.astype(np.float32))

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return ((np.asarray(x, dtype=np.float32) - self.mean) / self.std).astype(np.float32, copy=False)
