"""Probe heads: a linear layer or a one-hidden-layer MLP, wrapped in a LightningModule.

Architecture (``hidden`` = 0 → linear, ``hidden`` > 0 → MLP)::

    linear:  Dropout(p) → Linear(D, K)
    MLP:     Linear(D, hidden) → ReLU → Dropout(p) → Linear(hidden, K)

For the linear head the grid's dropout acts on the (standardised) input features, so every point of the 12-point grid
is a distinct model; for the MLP it acts on the hidden activations. The head is applied row-wise: to chunk vectors
for clip-level probes and to every frame for framewise probes.
"""
from __future__ import annotations

from typing import Callable

import lightning as L
import numpy as np
import torch
from torch import nn


def build_head(in_dim: int, out_dim: int, hidden: int = 0, dropout: float = 0.0) -> nn.Sequential:
    """The probe network (see module docstring). Returns logits."""
    if hidden and hidden > 0:
        return nn.Sequential(nn.Linear(in_dim, hidden), nn.ReLU(), nn.Dropout(dropout), nn.Linear(hidden, out_dim))
    return nn.Sequential(nn.Dropout(dropout), nn.Linear(in_dim, out_dim))


class ProbeModule(L.LightningModule):
    """LightningModule training a probe head with AdamW.

    loss ``"bce"``: ``BCEWithLogitsLoss`` (mean over rows and outputs; soft targets in [0, 1] allowed), outputs scored
    with a sigmoid. loss ``"ce"``: ``CrossEntropyLoss`` on int class targets, outputs scored with a softmax.

    Validation: the probabilities of all validation rows are gathered (in loader order) and, at the end of the
    validation epoch, ``val_fn(probabilities: np.ndarray (n_rows, K)) -> float`` (higher is better) gives the score,
    logged as ``"val_score"`` and appended to ``val_history`` as ``(epoch, score)``; the mean validation loss over
    rows (the training loss on the validation rows) is logged as ``"val_loss"`` and appended to ``val_losses``.
    """

    def __init__(self, in_dim: int, out_dim: int, *, hidden: int = 0, dropout: float = 0.0, lr: float = 1e-3,
                 weight_decay: float = 1e-2, loss: str = "bce",
                 val_fn: Callable[[np.ndarray], float] | None = None):
        super().__init__()
        if loss not in ("bce", "ce"):
            raise ValueError(f"loss must be 'bce' or 'ce', got {loss!r}")
        self.net = build_head(in_dim, out_dim, hidden, dropout)
        self.loss_name = loss
        self.lr = float(lr)
        self.weight_decay = float(weight_decay)
        self.val_fn = val_fn
        self.val_history: list[tuple[int, float]] = []
        self.val_losses: list[float] = []
        self._val_outputs: list[torch.Tensor] = []
        self._val_loss_sum = 0.0
        self._val_rows = 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)

    def probabilities(self, logits: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(logits) if self.loss_name == "bce" else torch.softmax(logits, dim=-1)

    def loss(self, logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        if self.loss_name == "bce":
            return nn.functional.binary_cross_entropy_with_logits(logits, y.to(logits.dtype))
        return nn.functional.cross_entropy(logits, y.long())

    def training_step(self, batch, batch_idx):
        x, y = batch
        return self.loss(self(x), y)

    def on_validation_epoch_start(self) -> None:
        self._val_outputs = []
        self._val_loss_sum, self._val_rows = 0.0, 0

    def validation_step(self, batch, batch_idx):
        x, y = batch
        logits = self(x)
        self._val_loss_sum += float(self.loss(logits, y)) * len(x)
        self._val_rows += len(x)
        self._val_outputs.append(self.probabilities(logits).detach().to("cpu", torch.float64))

    def on_validation_epoch_end(self) -> None:
        if self.val_fn is None or not self._val_outputs:
            return
        probs = torch.cat(self._val_outputs).numpy()
        self._val_outputs = []
        score = float(self.val_fn(probs))
        val_loss = self._val_loss_sum / max(self._val_rows, 1)
        self.val_history.append((int(self.current_epoch), score))
        self.val_losses.append(val_loss)
        self.log("val_score", score, prog_bar=False, logger=False)
        self.log("val_loss", val_loss, prog_bar=False, logger=False)

    def configure_optimizers(self):
        return torch.optim.AdamW(self.parameters(), lr=self.lr, weight_decay=self.weight_decay)
