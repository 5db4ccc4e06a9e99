"""A trained probe (:class:`FittedProbe`: best-validation weights and the input standardiser; it predicts), a sweep's
outcome (:class:`SweepResult`), and how both are made from the engine's outcomes (rounds → epochs, the record's
``hyperparameters`` block)."""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import torch

from .bank import HeadBank
from .data import ProbeData, Standardizer
from .engine import EVAL_ROWS, quiet
from .kinds import ProbeKind, get_kind
from .spec import ProbeOutcome, ProbeSpec, torch_device

__all__ = ["FittedProbe", "SweepResult", "fitted_from", "hparams_of", "round_epoch", "max_rounds"]


@dataclass
class FittedProbe:
    """A trained probe (best-validation weights, a one-probe :class:`probes.bank.HeadBank`) with its input
    standardiser.

    ``hparams`` is the record's ``hyperparameters`` block: lr, hidden, dropout, weight_decay, batch_size,
    max_epochs, patience, val_every, tie_break, best_epoch (and, on the step schedule, steps_per_round and best_step).
    ``best_epoch`` is 0-based; ``history`` lists ``(epoch, val_score)`` for every validation (``val_losses`` the
    matching validation losses); on the step schedule the first element counts rounds of ``steps_per_round`` steps.
    """

    kind: ProbeKind
    bank: HeadBank
    standardizer: Standardizer
    hparams: dict
    val_score: float
    best_epoch: int
    history: list[tuple[int, float]] = field(default_factory=list)
    val_losses: list[float] = field(default_factory=list)
    epochs_run: int = 0
    fit_seconds: float = 0.0
    seed: int = 0
    device: str = "cpu"
    num_threads: int | None = None

    def __post_init__(self):
        self.kind = get_kind(self.kind)

    @property
    def module(self) -> HeadBank:
        return self.bank

    @property
    def n_outputs(self) -> int:
        return int(self.bank.out_dim)

    def predict_rows(self, data: ProbeData) -> np.ndarray:
        """Probabilities (float64) for every row: chunks ``(n, K)``, or all frames of all tracks concatenated, in the
        data's row order."""
        x, _, _ = self.kind.flat(data)
        return self.predict_standardised(torch.from_numpy(self.standardizer(x)))

    @torch.no_grad()
    def predict_standardised(self, x: torch.Tensor, logits: bool = False) -> np.ndarray:
        """Probabilities (float64; or the logits) of already standardised rows ``(n, D)`` — the validation pass's
        arithmetic."""
        _, _, dev = torch_device(self.device)
        bank = self.bank.to(dev).eval()
        outs = []
        with quiet(self.num_threads if dev.type == "cpu" else None):
            for i in range(0, len(x), EVAL_ROWS):
                z = bank(x[i:i + EVAL_ROWS].to(dev)[None])[0]
                p = z if logits else self.kind.activation(z)
                outs.append(p.to("cpu", torch.float64))
        return torch.cat(outs).numpy() if outs else np.zeros((0, self.n_outputs))

    def predict(self, data: ProbeData, output: str = "probs") -> np.ndarray | list[np.ndarray]:
        """Track-level scores: for clip kinds ``(n_tracks, K)`` means of the chunks' activations (sigmoid, softmax
        or identity, as the kind says), tracks in ascending group-id order (as :func:`probes.data.track_targets`);
        for the frame kinds, a list of per-track ``(T_i, C)`` activations at the input frame rate.
        ``output="logits"``: the same aggregation of the logits."""
        self.kind.check_data(data)
        if output not in ("probs", "logits"):
            raise ValueError(f"output must be 'probs' or 'logits', got {output!r}")
        x, _, _ = self.kind.flat(data)
        probs = self.predict_standardised(torch.from_numpy(self.standardizer(x)), logits=output == "logits")
        return self.kind.predictions(probs, data)


@dataclass
class SweepResult:
    """Outcome of a sweep: ``best`` (the fitted probe of the chosen point), ``best_index`` (its position in grid
    order), ``points`` (one dict per grid point, grid order: lr, hidden, dropout, val_score, best_epoch)."""

    best: FittedProbe
    best_index: int
    points: list[dict]
    seconds: float = 0.0

    @property
    def chosen(self) -> dict:
        return dict(self.points[self.best_index])


def hparams_of(spec: ProbeSpec, sched: dict, *, batch_size, max_epochs, patience, weight_decay, tie_break,
             best_round, max_steps=None) -> dict:
    hp = {**spec.hparams(), "weight_decay": float(weight_decay), "batch_size": int(batch_size),
          "max_epochs": int(max_epochs), "patience": int(patience), "val_every": sched["val_every"] or 0,
          "tie_break": tie_break, "best_epoch": round_epoch(best_round, sched)}
    if sched["unit"] == "step":
        hp["steps_per_round"] = int(sched["steps_per_round"])
        if max_steps:
            hp["max_steps"] = int(max_steps)
        hp["best_step"] = int((best_round + 1) * sched["steps_per_round"]) if best_round >= 0 else -1
    return hp


def round_epoch(rnd: int, sched: dict) -> int:
    """0-based data epoch in which round ``rnd``'s validation happened (-1 for none)."""
    if rnd < 0:
        return -1
    return ((rnd + 1) * sched["steps_per_round"] - 1) // sched["steps_per_epoch"]


def max_rounds(max_epochs: int, sched: dict, max_steps: int | None = None) -> int:
    """Rounds that fit in ``max_epochs`` data epochs and, on the step schedule, in ``max_steps`` steps (at least
    one)."""
    n = math.ceil(max_epochs * sched["steps_per_epoch"] / sched["steps_per_round"])
    if max_steps and sched["unit"] == "step":
        n = min(n, math.ceil(max_steps / sched["steps_per_round"]))
    return max(1, n)


def fitted_from(kind: ProbeKind, outcome: ProbeOutcome, std: Standardizer, sched: dict, in_dim: int, n_out: int, *,
                device: str, num_threads, fit_seconds: float, **loop) -> FittedProbe:
    """A :class:`FittedProbe` from an engine outcome (its best weights in a one-probe bank)."""
    spec = outcome.spec
    bank = HeadBank(in_dim, n_out, spec.hidden, 1)
    if outcome.state:
        bank.load_state_dict(outcome.state)
    else:  # never validated: the initial weights (cannot happen with max_epochs >= 1)
        bank.init_probe(0, spec.seed)
    bank.eval()
    epoch_hist = [(round_epoch(r, sched) if sched["unit"] == "epoch" else r, s) for r, s in outcome.history]
    return FittedProbe(kind=kind, bank=bank, standardizer=std,
                       hparams=hparams_of(spec, sched, best_round=outcome.best_round, **loop),
                       val_score=float(outcome.val_score), best_epoch=round_epoch(outcome.best_round, sched)
                       if sched["unit"] == "epoch" else outcome.best_round,
                       history=epoch_hist, val_losses=list(outcome.val_losses),
                       epochs_run=round_epoch(outcome.rounds_run - 1, sched) + 1 if sched["unit"] == "epoch"
                       else outcome.rounds_run,
                       fit_seconds=fit_seconds, seed=spec.seed, device=device, num_threads=num_threads)
