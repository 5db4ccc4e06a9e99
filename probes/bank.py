"""A bank of probe heads: ``P`` heads of one shape stacked on a leading probe axis, trained together by the engine
(:mod:`probes.engine`), and the dropout masks they draw.

Architecture (``hidden`` = 0 → linear, ``hidden`` > 0 → MLP)::

    linear:  Dropout(p) → Linear(D, K)
    MLP:     Linear(D, hidden) → ReLU → Dropout(p) → Linear(hidden, K)

Architecture (``hidden`` = 0 → linear, ``hidden`` > 0 → MLP)::

    linear:  Dropout(p) → Linear(D, K)
    MLP:     Linear(D, hidden) → ReLU → Dropout(p) → Linear(hidden, K)

For the linear head the grid's dropout acts on the (standardised) input features, so every point of the 12-point grid
is a distinct model; for the MLP it acts on the hidden activations. The head is applied row-wise: to chunk vectors
for clip-level probes and to every frame for framewise probes.
"""
from __future__ import annotations

import math

import torch
from torch import nn

from .spec import derive_seed

__all__ = ["HeadBank", "SubBank", "dropout_threshold", "applied_dropout", "uniform16"]


class HeadBank(nn.Module):
    """``P`` heads of one shape (``hidden``; 0 = linear) stacked on a leading axis (see the module docstring)::

        linear:  Dropout(p) → Linear(D, K)                      w (P, D, K), b (P, 1, K)
        MLP:     Linear(D, H) → ReLU → Dropout(p) → Linear(H, K) w1 (P, D, H), b1 (P, 1, H), w2 (P, H, K), b2 (P, 1, K)

    ``forward(x (P, B, D), drop (P, B, D|H) or None)`` → logits ``(P, B, K)``; ``drop`` is the dropout *scale*
    (0 or 1 / (1 − p) per element), applied to the input (linear) or to the hidden activations (MLP).
    """

    def __init__(self, in_dim: int, out_dim: int, hidden: int, n: int):
        super().__init__()
        self.in_dim, self.out_dim, self.hidden = int(in_dim), int(out_dim), int(hidden)
        if self.hidden > 0:
            self.w1 = nn.Parameter(torch.empty(n, in_dim, hidden))
            self.b1 = nn.Parameter(torch.empty(n, 1, hidden))
            self.w2 = nn.Parameter(torch.empty(n, hidden, out_dim))
            self.b2 = nn.Parameter(torch.empty(n, 1, out_dim))
        else:
            self.w = nn.Parameter(torch.empty(n, in_dim, out_dim))
            self.b = nn.Parameter(torch.empty(n, 1, out_dim))

    @property
    def n(self) -> int:
        return int(next(iter(self.parameters())).shape[0])

    @property
    def drop_dim(self) -> int:
        return self.hidden if self.hidden > 0 else self.in_dim

    def init_probe(self, i: int, seed: int) -> None:
        """``nn.Linear``'s initialisation (weights and biases U(±1/√fan_in)) for probe ``i``, drawn from a generator
        seeded by ``seed`` in layer order (weight, bias, weight, bias)."""
        g = torch.Generator().manual_seed(derive_seed(seed, "init"))

        def draw(rows: int, cols: int, fan_in: int) -> torch.Tensor:
            bound = 1.0 / math.sqrt(fan_in)
            return (torch.rand(rows, cols, generator=g, dtype=torch.float32) * 2 - 1) * bound

        with torch.no_grad():
            if self.hidden > 0:
                self.w1[i].copy_(draw(self.hidden, self.in_dim, self.in_dim).T)
                self.b1[i, 0].copy_(draw(1, self.hidden, self.in_dim)[0])
                self.w2[i].copy_(draw(self.out_dim, self.hidden, self.hidden).T)
                self.b2[i, 0].copy_(draw(1, self.out_dim, self.hidden)[0])
            else:
                self.w[i].copy_(draw(self.out_dim, self.in_dim, self.in_dim).T)
                self.b[i, 0].copy_(draw(1, self.out_dim, self.in_dim)[0])

    def forward(self, x: torch.Tensor, drop: torch.Tensor | None = None) -> torch.Tensor:
        if self.hidden > 0:
            h = torch.relu(torch.baddbmm(self.b1, x, self.w1))
            if drop is not None:
                h = h * drop
            return torch.baddbmm(self.b2, h, self.w2)
        if drop is not None:
            x = x * drop
        return torch.baddbmm(self.b, x, self.w)

    @torch.no_grad()
    def keep(self, idx: torch.Tensor) -> None:
        """Keep only the probes ``idx`` (in that order): parameters sliced in place, gradients dropped (an optimizer
        keeps its parameter objects; see :meth:`ProbeAdamW.keep_group` for its state)."""
        for p in self.parameters():
            p.data = p.data.index_select(0, idx.to(p.device))
            p.grad = None

    def probe_state(self, i: int) -> dict:
        """Probe ``i``'s weights as a one-probe bank state (clones, on the bank's device)."""
        return {k: v[i:i + 1].detach().clone() for k, v in self.state_dict().items()}


class SubBank(nn.Module):
    """A read-only view of some probes of a bank (validation of the probes that read one input)."""

    def __init__(self, bank: HeadBank, idx: torch.Tensor):
        super().__init__()
        self.bank, self.idx = bank, idx

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        bank, idx = self.bank, self.idx
        if bank.hidden > 0:
            h = torch.relu(torch.baddbmm(bank.b1[idx], x, bank.w1[idx]))
            return torch.baddbmm(bank.b2[idx], h, bank.w2[idx])
        return torch.baddbmm(bank.b[idx], x, bank.w[idx])


def dropout_threshold(rate: float) -> int:
    """int16 threshold of a dropout rate: an element is kept when its uniform int16 draw is ≥ this value."""
    return int(-32768 + round(float(rate) * 65536))


def applied_dropout(rate: float) -> float:
    """The dropout rate actually applied: ``rate`` rounded to a multiple of 1/65536 (0.2 → 0.199997), because masks
    come from 16-bit uniform draws (4 per 64-bit random number: a third of the cost of float draws on CPU)."""
    return round(float(rate) * 65536) / 65536


def uniform16(rows: int, cols: int, generator: torch.Generator) -> torch.Tensor:
    """``(rows, cols)`` independent uniform int16 draws from ``generator`` (64-bit draws split in four)."""
    n = rows * cols
    words = torch.randint(-2 ** 63, 2 ** 63 - 1, ((n + 3) // 4,), generator=generator, dtype=torch.int64,
                          device=generator.device)
    return words.view(torch.int16)[:n].reshape(rows, cols)
