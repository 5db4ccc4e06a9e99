"""Probe heads: a linear layer or a one-hidden-layer MLP (one head as a torch module; the engine trains them stacked,
:class:`probes.engine.HeadBank`, with the loss and activation of the probe kind, :mod:`probes.kinds`).

Architecture (``hidden`` = 0 → linear, ``hidden`` > 0 → MLP)::

    linear:  Dropout(p) → Linear(D, K)
    MLP:     Linear(D, hidden) → ReLU → Dropout(p) → Linear(hidden, K)

For the linear head the grid's dropout acts on the (standardised) input features, so every point of the 12-point grid
is a distinct model; for the MLP it acts on the hidden activations. The head is applied row-wise: to chunk vectors
for clip-level probes and to every frame for framewise probes.
"""
from __future__ import annotations

from torch import nn


def build_head(in_dim: int, out_dim: int, hidden: int = 0, dropout: float = 0.0) -> nn.Sequential:
    """The probe network (see module docstring). Returns logits."""
    if hidden and hidden > 0:
        return nn.Sequential(nn.Linear(in_dim, hidden), nn.ReLU(), nn.Dropout(dropout), nn.Linear(hidden, out_dim))
    return nn.Sequential(nn.Dropout(dropout), nn.Linear(in_dim, out_dim))
