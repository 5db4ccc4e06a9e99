"""Seeded k-fold assignment of tracks, for datasets without an official split (the tasks cross-validate by track)."""
from __future__ import annotations

import hashlib
from typing import Iterable

__all__ = ["kfold_assignments"]


def kfold_assignments(ids: Iterable[str], k: int = 8, seed: int = 0) -> dict[str, int]:
    """Assign each id to one of ``k`` folds (0 … k-1): fixed, seeded, deterministic.

    Ids are ordered by ``sha256(f"{seed}\\0{id}")`` and dealt round-robin, so fold sizes differ by at most one and the
    assignment depends only on the set of ids and the seed (not on input order, platform or NumPy version).
    Raises ValueError for duplicate ids, ``k < 2`` or fewer ids than folds.
    """
    ids = list(ids)
    if len(set(ids)) != len(ids):
        raise ValueError("kfold_assignments: duplicate ids")
    if k < 2:
        raise ValueError(f"k must be >= 2, got {k}")
    if len(ids) < k:
        raise ValueError(f"{len(ids)} ids cannot fill {k} folds")
    ranked = sorted(ids, key=lambda i: (hashlib.sha256(f"{int(seed)}\x00{i}".encode("utf-8")).digest(), i))
    return {i: n % k for n, i in enumerate(ranked)}
