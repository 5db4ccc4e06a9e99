"""In-memory probe data: one split of cached, frozen embeddings plus targets.

Three probe kinds (see :mod:`probes.training`):

``"multilabel"``  (e.g. MTAT tagging)
    ``x``: ``(n_chunks, D)`` chunk vectors; ``y``: ``(n_chunks, K)`` multi-hot in {0, 1} (every chunk carries its
    track's labels); ``groups``: ``(n_chunks,)`` int track id per chunk.
``"multiclass"``  (e.g. NSynth pitch / instrument family)
    ``x``: ``(n_chunks, D)``; ``y``: ``(n_chunks,)`` int class index; ``groups`` as above.
``"framewise"``   (beat tracking)
    ``x``: list of ``(T_i, D)`` sequences at the encoder's frame rate; ``y``: list of ``(T_i, C)`` (or ``(T_i,)``,
    read as ``C = 1``) frame targets in [0, 1]; ``groups``: ``None``.
``"framewise-multiclass"``   (chords, structure)
    ``x`` as framewise; ``y``: list of ``(T_i,)`` int class per frame, ``-1`` = ignored (no loss, not scored).

Track-level convention (clip-level kinds): a *track* is a distinct value of ``groups``; tracks are ordered by
ascending group id (``np.unique`` order) everywhere — in :func:`track_targets`, in :func:`aggregate_by_group` and in
``FittedProbe.predict``. ``groups=None`` means every chunk is its own track (track order = row order).
"""
from __future__ import annotations

from dataclasses import dataclass
import numpy as np

KINDS = ("multilabel", "multiclass", "framewise", "framewise-multiclass")
FRAME_KINDS = ("framewise", "framewise-multiclass")


@dataclass
class ProbeData:
    """One split (train, valid or test) of probe inputs and targets. See the module docstring for shapes."""

    x: np.ndarray | list[np.ndarray]
    y: np.ndarray | list[np.ndarray]
    groups: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.x)


def check_data(kind: str, data: ProbeData, name: str = "data") -> None:
    """Raise ``ValueError`` if ``data`` does not have the shapes ``kind`` requires."""
    if kind not in KINDS:
        raise ValueError(f"unknown probe kind {kind!r}; expected one of {KINDS}")
    if kind in FRAME_KINDS:
        if not isinstance(data.x, (list, tuple)) or not isinstance(data.y, (list, tuple)):
            raise ValueError(f"{name}: framewise x and y must be lists of per-track arrays")
        if len(data.x) != len(data.y) or len(data.x) == 0:
            raise ValueError(f"{name}: framewise x and y must be non-empty lists of equal length")
        for i, (xi, yi) in enumerate(zip(data.x, data.y)):
            xi, yi = np.asarray(xi), np.asarray(yi)
            ndims = (1,) if kind == "framewise-multiclass" else (1, 2)
            if xi.ndim != 2 or yi.ndim not in ndims or xi.shape[0] != yi.shape[0]:
                raise ValueError(f"{name}[{i}]: expected x (T, D) and y "
                                 f"{'(T,)' if kind == 'framewise-multiclass' else '(T,) or (T, C)'} with the same "
                                 f"T, got {xi.shape} and {yi.shape}")
        return
    x, y = np.asarray(data.x), np.asarray(data.y)
    if x.ndim != 2 or x.shape[0] == 0:
        raise ValueError(f"{name}: x must be a non-empty (n, D) array, got shape {x.shape}")
    if kind == "multilabel" and (y.ndim != 2 or y.shape[0] != x.shape[0]):
        raise ValueError(f"{name}: multilabel y must be (n, K) with n = {x.shape[0]}, got {y.shape}")
    if kind == "multiclass" and (y.ndim != 1 or y.shape[0] != x.shape[0]):
        raise ValueError(f"{name}: multiclass y must be (n,) with n = {x.shape[0]}, got {y.shape}")
    if data.groups is not None and np.asarray(data.groups).shape != (x.shape[0],):
        raise ValueError(f"{name}: groups must be (n,) with n = {x.shape[0]}")


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


def track_targets(kind: str, data: ProbeData) -> np.ndarray | list[np.ndarray]:
    """Track-level targets aligned with ``FittedProbe.predict``: the first chunk's label of each track
    (``(n_tracks, K)`` multi-hot or ``(n_tracks,)`` int); for ``"framewise"`` the per-track ``(T_i, C)`` targets."""
    if kind == "framewise":
        return [_as_2d(np.asarray(yi, dtype=np.float32)) for yi in data.y]
    if kind == "framewise-multiclass":
        return [np.asarray(yi, dtype=np.int64) for yi in data.y]
    y = np.asarray(data.y)
    if data.groups is None:
        return y
    _, first = np.unique(np.asarray(data.groups), return_index=True)
    return y[first]


def _as_2d(y: np.ndarray) -> np.ndarray:
    return y[:, None] if y.ndim == 1 else y


def flat_arrays(kind: str, data: ProbeData) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """``(x, y, lengths)`` as flat arrays: framewise sequences concatenated along time (``lengths`` = ``T_i``)."""
    if kind in FRAME_KINDS:
        lengths = np.array([len(xi) for xi in data.x], dtype=np.int64)
        x = np.concatenate([np.asarray(xi, dtype=np.float32) for xi in data.x], axis=0)
        if kind == "framewise":
            y = np.concatenate([_as_2d(np.asarray(yi, dtype=np.float32)) for yi in data.y], axis=0)
        else:
            y = np.concatenate([np.asarray(yi, dtype=np.int64).reshape(-1) for yi in data.y], axis=0)
        return x, y, lengths
    return np.asarray(data.x, dtype=np.float32), np.asarray(data.y), None


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
