"""Lightning callbacks of a pretraining run: the warm-up + cosine learning-rate schedule, the released-format writer
(``config.gin`` + ``model.ckpt`` beside the Lightning checkpoints) and the loss curve (``metrics.csv``)."""
from __future__ import annotations

import csv
import math
import os
import time
from pathlib import Path

import torch
from lightning.pytorch.callbacks import Callback

from ..files import atomic_write
from .maskingmodel import MaskingModel

__all__ = ["warmup_cosine_lr", "CosineAnnealingCallback", "ReleasedFormatWriter", "MetricsCSV", "read_metrics"]


# -- schedule --------------------------------------------------------------------------------------------------------
def warmup_cosine_lr(step: int, base_lr: float, warmup_steps: int, max_steps: int, eta_min: float = 0.0) -> float:
    """Learning rate at optimizer step ``step`` (0-based): linear warm-up from 0 to ``base_lr`` over ``warmup_steps``
    (``base_lr * (step + 1) / warmup_steps``), then cosine decay from ``base_lr`` to ``eta_min`` at ``max_steps``."""
    if warmup_steps > 0 and step < warmup_steps:
        return base_lr * (step + 1) / warmup_steps
    span = max(1, max_steps - warmup_steps)
    progress = min(1.0, max(0.0, (step - warmup_steps) / span))
    return eta_min + (base_lr - eta_min) * 0.5 * (1.0 + math.cos(math.pi * progress))


class CosineAnnealingCallback(Callback):
    """Warm-up + cosine learning-rate schedule (gin name ``CosineAnnealingCallback``: ``warmup_steps``, ``eta_min``).

    Before every optimizer step it sets each parameter group's ``lr`` from :func:`warmup_cosine_lr` of the trainer's
    ``global_step``, the module's ``lr`` and the trainer's ``max_steps``. Stateless: a resumed run continues the curve.
    """

    def __init__(self, warmup_steps: int = 0, eta_min: float = 0.0):
        self.warmup_steps, self.eta_min = int(warmup_steps or 0), float(eta_min)

    def lr_at(self, step: int, base_lr: float, max_steps: int) -> float:
        return warmup_cosine_lr(step, base_lr, self.warmup_steps, max_steps, self.eta_min)

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        max_steps = trainer.max_steps if trainer.max_steps and trainer.max_steps > 0 else \
            int(trainer.estimated_stepping_batches)
        lr = self.lr_at(trainer.global_step, float(pl_module.lr), max_steps)
        for opt in trainer.optimizers:
            for group in opt.param_groups:
                group["lr"] = lr


# -- outputs -------------------------------------------------------------------------------------------------------
class ReleasedFormatWriter(Callback):
    """Writes ``<output>/config.gin`` + ``<output>/model.ckpt`` (released format) whenever a Lightning checkpoint is
    saved and at the end of training (rank 0 only; atomic replaces, so a reader never sees half a file). A fresh run
    also writes its initial weights to ``<output>/init/`` in the same format."""

    def __init__(self, output: Path, config_text: str):
        self.output, self.config_text = Path(output), config_text

    def write(self, pl_module: MaskingModel) -> None:
        self.output.mkdir(parents=True, exist_ok=True)
        state = pl_module.encoder_state_dict()
        atomic_write(self.output / "model.ckpt", lambda p: torch.save(state, p))
        atomic_write(self.output / "config.gin", lambda p: p.write_text(self.config_text))

    def on_save_checkpoint(self, trainer, pl_module, checkpoint) -> None:
        if trainer.is_global_zero:
            self.write(pl_module)

    def on_train_end(self, trainer, pl_module) -> None:
        if trainer.is_global_zero:
            self.write(pl_module)


class MetricsCSV(Callback):
    """The loss curve in ``metrics.csv`` (rank 0): one row per ``log_every_n_steps`` training steps and per
    validation, columns ``step, split, loss, accuracy, masked_fraction, lr, epoch, time_s``. ``step`` counts optimizer
    steps done: the train row of step 1 is the loss of the initial weights on the first batch, the val row of step 0
    the initial validation. A resumed run keeps the rows up to its restored step."""

    FIELDS = ["step", "split", "loss", "accuracy", "masked_fraction", "lr", "epoch", "time_s"]

    def __init__(self, path: Path, every: int | None = None):
        self.path, self.every = Path(path), every
        self.t0 = time.perf_counter()
        self.offset = 0.0

    def on_train_start(self, trainer, pl_module) -> None:  # after a resume has restored global_step
        if not trainer.is_global_zero:
            return
        rows = []
        if self.path.is_file():  # keep the curve up to the restored step (step 0: the initial validation)
            with open(self.path, newline="") as f:
                rows = [r for r in csv.DictReader(f) if int(r["step"]) <= trainer.global_step]
            if trainer.global_step > 0:
                self.offset = max((float(r["time_s"]) for r in rows if r.get("time_s")), default=0.0)
                self.t0 = time.perf_counter()
        with open(self.path, "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=self.FIELDS)
            w.writeheader()
            w.writerows(rows)

    def _append(self, row: dict) -> None:
        row["time_s"] = round(self.offset + time.perf_counter() - self.t0, 3)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        new = not self.path.is_file()
        with open(self.path, "a", newline="") as f:
            w = csv.DictWriter(f, fieldnames=self.FIELDS)
            if new:
                w.writeheader()
            w.writerow(row)

    @staticmethod
    def _num(metrics, key):
        v = metrics.get(key)
        return None if v is None else round(float(v), 6)

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        if not trainer.is_global_zero:
            return
        step = trainer.global_step
        every = self.every or max(1, trainer.log_every_n_steps)
        if step != 1 and step % every and step != trainer.max_steps:
            return
        m = trainer.callback_metrics
        lr = trainer.optimizers[0].param_groups[0]["lr"] if trainer.optimizers else None
        self._append({"step": step, "split": "train", "loss": self._num(m, "train/loss"),
                      "accuracy": self._num(m, "train/accuracy"),
                      "masked_fraction": self._num(m, "train/masked_fraction"), "lr": lr,
                      "epoch": trainer.current_epoch})

    def on_validation_epoch_end(self, trainer, pl_module) -> None:
        if not trainer.is_global_zero or trainer.sanity_checking:
            return
        m = trainer.callback_metrics
        if "val/loss" not in m:
            return
        self._append({"step": trainer.global_step, "split": "val", "loss": self._num(m, "val/loss"),
                      "accuracy": self._num(m, "val/accuracy"), "epoch": trainer.current_epoch})


def read_metrics(path: str | os.PathLike) -> list[dict]:
    """Rows of a ``metrics.csv`` with numbers parsed (empty cells → None)."""
    out = []
    with open(path, newline="") as f:
        for r in csv.DictReader(f):
            out.append({k: (r[k] if k == "split" else (None if r[k] in ("", None) else float(r[k])))
                        for k in r})
    return out
