"""What the engine trains and returns: a probe's specification, the tensors of one split, a probe's outcome, and the
seeds and devices they use."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import numpy as np
import torch

__all__ = ["ProbeSpec", "Split", "ProbeOutcome", "derive_seed", "torch_device"]


@dataclass(frozen=True)
class ProbeSpec:
    """One probe: head (``hidden`` = 0 → linear), ``dropout``, AdamW ``lr``, ``seed``, which input slot of the
    stacked inputs it reads (``input``, e.g. the index of a layer) and which *group* of splits it trains and validates
    on (``group``, e.g. a fold of a cross-validation; :func:`probes.engine.fit_many`)."""

    lr: float
    hidden: int
    dropout: float
    seed: int = 0
    input: int = 0
    group: int = 0

    def hparams(self) -> dict:
        return {"lr": float(self.lr), "hidden": int(self.hidden), "dropout": float(self.dropout)}


@dataclass
class Split:
    """Inputs and targets of one split for the engine.

    ``x``: ``(U, N, D)`` float32 — the same ``N`` rows seen through ``U`` inputs (layers), already standardised;
    ``y``: ``(N,)`` int classes or ``(N, K)`` float targets, as the probe kind trains on (:mod:`probes.kinds`);
    ``segments``:
    ``(T + 1,)`` row offsets of the ``T`` tracks (a track's rows are contiguous).
    """

    x: torch.Tensor
    y: torch.Tensor
    segments: np.ndarray

    @property
    def n_rows(self) -> int:
        return int(self.x.shape[1])


@dataclass
class ProbeOutcome:
    """What a fit returns per probe: its best weights (a one-probe :class:`HeadBank` state, CPU) and its history.

    ``history`` lists ``(round, val_score)``; ``val_losses`` the matching validation losses; ``best_round`` is
    0-based (-1 if never validated); ``rounds_run`` counts the rounds it trained before it stopped."""

    spec: ProbeSpec
    state: dict
    val_score: float
    best_round: int
    rounds_run: int
    history: list = field(default_factory=list)
    val_losses: list = field(default_factory=list)


def derive_seed(seed: int, purpose: str) -> int:
    """A 63-bit seed for one purpose ("init", "shuffle", "dropout-in", "dropout-hidden") of a probe seed."""
    return int.from_bytes(hashlib.blake2b(f"{int(seed)}:{purpose}".encode(), digest_size=8).digest(), "little") >> 1


def torch_device(device: str) -> tuple[str, int | list[int], torch.device]:
    """``device`` ("cpu", "cuda", "cuda:N", "gpu") → (Lightning accelerator, devices, torch.device)."""
    d = torch.device("cuda" if device == "gpu" else device)
    if d.type == "cpu":
        return "cpu", 1, d
    if d.type == "cuda":
        return "gpu", [d.index or 0], torch.device("cuda", d.index or 0)
    raise ValueError(f"unsupported device {device!r}; use 'cpu' or 'cuda[:N]'")
