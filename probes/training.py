"""Probe training on cached frozen embeddings: one fit (:func:`fit_probe`) and the hyperparameter grid (:func:`sweep`).

Protocol (``shared/spec/protocols.md``, "Common probe protocol"):

- Inputs are standardised per dimension with the TRAIN split's mean/std (:class:`probes.data.Standardizer`), stored
  in the fitted probe and applied again at predict time. This makes one fixed lr grid sensible across encoders whose
  embedding scales differ by orders of magnitude.
- Head: linear or one-hidden-layer MLP (:mod:`probes.heads`), AdamW (``weight_decay`` default 1e-2, the AdamW
  default), no lr schedule, mini-batches of ``batch_size`` rows (chunks; *frames* for framewise probes), reshuffled
  every epoch with a generator seeded by ``seed``.
- Validation after every training epoch (or every ``val_every``) on the whole validation split; early stopping on
  the validation metric: the fit ends after ``patience`` validations without a better epoch (a small callback with
  Lightning ``EarlyStopping`` semantics); the weights of the best epoch are kept in memory (no checkpoint files) and
  restored at the end of the fit. "Better" = a strictly higher validation metric, or (``tie_break="loss"``, the
  default) the same metric and a strictly lower validation loss: coarse metrics such as accuracy on a few hundred
  tracks plateau for many epochs at small learning rates while the loss still falls. ``tie_break="first"`` gives
  the plain rule (earliest best epoch).
- Validation metric (higher is better), on track-level scores:
  ``"multilabel"``: macro PR-AUC (average precision, :func:`probes.metrics.pr_auc_macro`) of the per-track mean
  of chunk sigmoids; ``"multiclass"``: accuracy of the argmax of the per-track mean of chunk softmaxes;
  ``"framewise"``: ``val_metric(targets, activations)`` given by the caller (e.g. beat F-measure after
  post-processing); without one, frame-level macro average precision over the C outputs with the frames whose target
  is 1 as positives.
- Determinism: ``lightning.seed_everything(seed)`` + ``Trainer(deterministic=True)`` (restored afterwards) + a seeded
  shuffle generator; the same inputs and seed give bit-identical predictions on the same machine.
- Sweep: every point of ``grid`` in ``itertools.product`` order over its keys (``GRID``: lr outer, then hidden,
  then dropout), all with the same seed; the best validation score wins; ties go to the earlier point in grid order.

Framewise probes are trained on the frames of all training tracks pooled and shuffled (the head has no temporal
context, so this is exactly the frame BCE over all real frames; nothing is padded, so there is nothing to mask);
validation and prediction split the outputs back per track.
"""
from __future__ import annotations

import contextlib
import itertools
import logging
import time
import warnings
from dataclasses import dataclass, field
from typing import Callable

import lightning as L
import numpy as np
import torch
from lightning.pytorch.callbacks import Callback

from .data import (ProbeData, Standardizer, aggregate_by_group, check_data, flat_arrays, make_loader,
                   track_targets)
from .heads import ProbeModule
from .metrics import pr_auc_macro

GRID: dict[str, list] = {"lr": [1e-4, 3e-4, 1e-3], "hidden": [0, 512], "dropout": [0.0, 0.2]}

#: Defaults of the training loop (recorded in every result's ``hyperparameters``).
DEFAULTS = {"max_epochs": 100, "patience": 10, "batch_size": 256, "weight_decay": 1e-2}

#: Rows per forward pass at validation / prediction time (same chunking in both, so scores reproduce exactly).
EVAL_BATCH_SIZE = 8192


def grid_for(probe: str = "grid", grid: dict | None = None) -> dict:
    """The grid for ``--probe``: ``"grid"`` → ``grid`` (default :data:`GRID`) as is; ``"mlp"`` → hidden [512];
    ``"linear"`` → hidden [0]; other keys unchanged."""
    g = {k: list(v) for k, v in (grid or GRID).items()}
    if probe == "mlp":
        g["hidden"] = [h for h in g["hidden"] if h > 0] or [512]
    elif probe == "linear":
        g["hidden"] = [0]
    elif probe != "grid":
        raise ValueError(f"probe must be 'grid', 'mlp' or 'linear', got {probe!r}")
    return g


def grid_points(grid: dict | None = None) -> list[dict]:
    """All points of ``grid`` in grid order (``itertools.product`` over the keys in the dict's order)."""
    grid = grid or GRID
    keys = list(grid)
    return [dict(zip(keys, values)) for values in itertools.product(*(grid[k] for k in keys))]


# ----------------------------------------------------------------------------------------------------------------
# Fitted probe
# ----------------------------------------------------------------------------------------------------------------
@dataclass
class FittedProbe:
    """A trained probe (best-validation weights) with its input standardiser.

    ``hparams`` is the record's ``hyperparameters`` block: lr, hidden, dropout, weight_decay, batch_size,
    max_epochs, patience, val_every, tie_break, best_epoch. ``best_epoch`` is 0-based; ``history`` lists
    ``(epoch, val_score)`` for every validation run (``module.val_losses`` the matching validation losses).
    """

    kind: str
    module: ProbeModule
    standardizer: Standardizer
    hparams: dict
    val_score: float
    best_epoch: int
    history: list[tuple[int, float]] = field(default_factory=list)
    epochs_run: int = 0
    fit_seconds: float = 0.0
    seed: int = 0
    device: str = "cpu"
    num_threads: int | None = None

    @property
    def n_outputs(self) -> int:
        return int(self.module.net[-1].out_features)

    def predict_rows(self, data: ProbeData) -> np.ndarray:
        """Probabilities (float64) for every row: chunks ``(n, K)``, or all frames of all tracks concatenated."""
        x, _, _ = flat_arrays(self.kind, data)
        with _torch_threads(self.num_threads):  # same threading as validation, so scores reproduce exactly
            return _predict_rows(self.module, self.standardizer(x), self.device)

    def predict(self, data: ProbeData) -> np.ndarray | list[np.ndarray]:
        """Track-level scores: ``(n_tracks, K)`` means of chunk sigmoids (multilabel) / softmaxes (multiclass), tracks
        in ascending group-id order (as :func:`probes.data.track_targets`); for framewise, a list of per-track
        ``(T_i, C)`` sigmoid activations at the input frame rate."""
        check_data(self.kind, data)
        probs = self.predict_rows(data)
        if self.kind == "framewise":
            return _split(probs, [len(xi) for xi in data.x])
        return aggregate_by_group(probs, data.groups)


@dataclass
class SweepResult:
    """Outcome of :func:`sweep`: ``best`` (the fitted probe of the chosen point), ``best_index`` (its position in
    grid order), ``points`` (one dict per grid point, grid order: lr, hidden, dropout, val_score, best_epoch)."""

    best: FittedProbe
    best_index: int
    points: list[dict]
    seconds: float = 0.0

    @property
    def chosen(self) -> dict:
        return dict(self.points[self.best_index])


# ----------------------------------------------------------------------------------------------------------------
# Internals
# ----------------------------------------------------------------------------------------------------------------
def _split(rows: np.ndarray, lengths) -> list[np.ndarray]:
    return np.split(rows, np.cumsum(lengths)[:-1])


def _torch_device(device: str) -> tuple[str, int | list[int], torch.device]:
    """``device`` ("cpu", "cuda", "cuda:N", "gpu") → (Lightning accelerator, devices, torch.device)."""
    d = torch.device("cuda" if device == "gpu" else device)
    if d.type == "cpu":
        return "cpu", 1, d
    if d.type == "cuda":
        return "gpu", ([d.index] if d.index is not None else 1), torch.device("cuda", d.index or 0)
    raise ValueError(f"unsupported device {device!r}; use 'cpu' or 'cuda[:N]'")


@torch.no_grad()
def _predict_rows(module: ProbeModule, x: np.ndarray, device: str) -> np.ndarray:
    _, _, dev = _torch_device(device)
    module = module.to(dev).eval()
    xt = torch.from_numpy(np.ascontiguousarray(x)).to(dev)
    outs = [module.probabilities(module(xt[i:i + EVAL_BATCH_SIZE])).to("cpu", torch.float64)
            for i in range(0, len(xt), EVAL_BATCH_SIZE)]
    return torch.cat(outs).numpy() if outs else np.zeros((0, module.net[-1].out_features))


def _nan_low(v: float) -> float:
    return -np.inf if v is None or not np.isfinite(v) else v


def _nan_high(v: float) -> float:
    return np.inf if v is None or not np.isfinite(v) else v


class _EarlyStoppingBest(Callback):
    """Early stopping on the validation metric with the best weights kept in memory.

    After each validation epoch the epoch is *better* than the best so far when its ``val_score`` is strictly
    higher, or — with ``tie_break="loss"`` — equal and its validation loss strictly lower (a non-finite score or
    loss counts as the worst). A better epoch's weights are copied (clones of the state-dict tensors) and the wait
    counter resets; otherwise the counter grows and the fit stops once it reaches ``patience`` (Lightning's
    ``EarlyStopping`` semantics). The best weights are loaded back when the fit ends.
    """

    def __init__(self, patience: int, tie_break: str = "loss"):
        if tie_break not in ("loss", "first"):
            raise ValueError(f"tie_break must be 'loss' or 'first', got {tie_break!r}")
        self.patience = int(patience)
        self.tie_break = tie_break
        self.wait = 0
        self.best_key: tuple[float, float] | None = None
        self.best_score: float | None = None
        self.best_epoch: int = -1
        self.state: dict | None = None

    def on_validation_end(self, trainer, pl_module):
        # the exact (float64) score from the module's history, not the float32 copy Lightning logs
        if trainer.sanity_checking or not pl_module.val_history:
            return
        epoch, score = pl_module.val_history[-1]
        if epoch != trainer.current_epoch:
            return
        loss = pl_module.val_losses[-1]
        key = (_nan_low(score), -_nan_high(loss) if self.tie_break == "loss" else 0.0)
        if self.best_key is None or key > self.best_key:
            self.best_key, self.best_score, self.best_epoch, self.wait = key, score, int(epoch), 0
            self.state = {k: v.detach().clone() for k, v in pl_module.state_dict().items()}
        else:
            self.wait += 1
            if self.wait >= self.patience:
                trainer.should_stop = True

    def on_fit_end(self, trainer, pl_module):
        if self.state is not None:
            pl_module.load_state_dict(self.state)


_QUIET_LOGGERS = ("lightning", "lightning.pytorch", "lightning.fabric", "pytorch_lightning", "lightning_fabric")
_QUIET_WARNINGS = (r".*does not have many workers.*", r".*smaller than the logging interval.*",
                   r".*GPU available but not used.*", r".*Tensor Cores.*", r".*LeafSpec.*")


@contextlib.contextmanager
def _quiet_and_restored(num_threads: int | None = None):
    """Silence Lightning's info logs and its performance hints for the duration of a fit; set torch's intra-op
    thread count to ``num_threads`` (None: unchanged); afterwards restore the thread count and torch's global
    determinism / cudnn flags that ``Trainer(deterministic=True)`` sets."""
    levels = {name: logging.getLogger(name).level for name in _QUIET_LOGGERS}
    det, det_warn = torch.are_deterministic_algorithms_enabled(), torch.is_deterministic_algorithms_warn_only_enabled()
    bench = torch.backends.cudnn.benchmark
    try:
        for name in _QUIET_LOGGERS:
            logging.getLogger(name).setLevel(logging.WARNING)
        with warnings.catch_warnings(), _torch_threads(num_threads):
            for msg in _QUIET_WARNINGS:
                warnings.filterwarnings("ignore", message=msg)
            yield
    finally:
        for name, level in levels.items():
            logging.getLogger(name).setLevel(level)
        torch.use_deterministic_algorithms(det, warn_only=det_warn)
        torch.backends.cudnn.benchmark = bench


@contextlib.contextmanager
def _torch_threads(num_threads: int | None):
    """Temporarily set torch's intra-op thread count (None: leave it)."""
    threads = torch.get_num_threads()
    if num_threads is not None and num_threads != threads:
        torch.set_num_threads(int(num_threads))
    try:
        yield
    finally:
        if torch.get_num_threads() != threads:
            torch.set_num_threads(threads)


def _frame_average_precision(y_true: list[np.ndarray], y_score: list[np.ndarray]) -> float:
    """Default framewise validation metric: macro (over C) average precision of all frames, positives = target 1."""
    from sklearn.metrics import average_precision_score

    t = np.concatenate([np.asarray(y).reshape(len(y), -1) for y in y_true]) >= 1.0
    s = np.concatenate([np.asarray(p).reshape(len(p), -1) for p in y_score])
    aps = [average_precision_score(t[:, c], s[:, c]) for c in range(t.shape[1]) if 0 < t[:, c].sum() < len(t)]
    return float(np.mean(aps)) if aps else float("nan")


def _accuracy(y_true: np.ndarray, y_score: np.ndarray) -> float:
    return float(np.mean(np.asarray(y_score).argmax(axis=1) == np.asarray(y_true)))


def default_val_metric(kind: str) -> Callable:
    """``val_metric(y_true, y_score) -> float`` used when the caller gives none (see module docstring)."""
    return {"multilabel": pr_auc_macro, "multiclass": _accuracy, "framewise": _frame_average_precision}[kind]


def _make_val_fn(kind: str, valid: ProbeData, val_metric: Callable | None) -> Callable[[np.ndarray], float]:
    metric = val_metric or default_val_metric(kind)
    y_track = track_targets(kind, valid)
    if kind == "framewise":
        lengths = [len(xi) for xi in valid.x]
        return lambda probs: metric(y_track, _split(probs, lengths))
    groups = valid.groups
    return lambda probs: metric(y_track, aggregate_by_group(probs, groups))


# ----------------------------------------------------------------------------------------------------------------
# Public API
# ----------------------------------------------------------------------------------------------------------------
def fit_probe(kind: str, train: ProbeData, valid: ProbeData, *, lr: float, hidden: int, dropout: float,
              seed: int = 0, max_epochs: int = DEFAULTS["max_epochs"], patience: int = DEFAULTS["patience"],
              batch_size: int = DEFAULTS["batch_size"], weight_decay: float = DEFAULTS["weight_decay"],
              device: str = "cpu", val_metric: Callable | None = None, n_classes: int | None = None,
              tie_break: str = "loss", val_every: int = 1, num_threads: int | None = 1,
              _standardizer: Standardizer | None = None) -> FittedProbe:
    """Train one probe with the Lightning ``Trainer`` and return it with its best-validation weights restored.

    Parameters
    ----------
    kind : "multilabel" | "multiclass" | "framewise"
        See :mod:`probes.data` for the shapes of ``train`` / ``valid``.
    lr, hidden, dropout : float, int, float
        AdamW learning rate; hidden width (0 = linear head); dropout probability (see :mod:`probes.heads`).
    seed : int
        Seeds everything (weights, dropout, shuffling).
    max_epochs, patience, batch_size, weight_decay
        Training loop settings (defaults :data:`DEFAULTS`: 100, 10, 256, 1e-2). ``batch_size`` counts chunks, or
        frames for framewise probes.
    device : "cpu" | "cuda" | "cuda:N"
    val_metric : callable, optional
        ``val_metric(y_true, y_score) -> float``, higher is better, replacing the kind's default. Clip-level:
        track-level ``y_true`` (:func:`probes.data.track_targets`) and scores ``(n_tracks, K)``; framewise: the list
        of per-track targets ``(T_i, C)`` and the list of per-track sigmoid activations ``(T_i, C)``.
    n_classes : int, optional
        Multiclass output size (e.g. 128 for NSynth pitch); default ``max(label) + 1`` over train and valid.
    tie_break : "loss" | "first"
        Between epochs with the same validation score: ``"loss"`` (default) prefers the lower validation loss, so a
        plateau of a coarse metric (accuracy on a small split) does not end the fit while the loss still improves;
        ``"first"``: the earliest epoch, and equal scores never reset the patience counter.
    val_every : int
        Validate every ``val_every`` epochs (Lightning ``check_val_every_n_epoch``); ``patience`` then counts
        validations, not epochs. For expensive validation metrics (e.g. DBN beat tracking on every validation track).
    num_threads : int or None
        torch intra-op threads during the fit and at predict time (restored afterwards; ``None`` leaves torch's
        setting). Default 1: probe tensors are small, and with 2 threads on a 2-core machine any other busy process
        makes OpenMP's thread hand-offs stall (measured 3-20x slower per epoch than 1 thread on the shared dev box).
    """
    check_data(kind, train, "train")
    check_data(kind, valid, "valid")
    t_start = time.perf_counter()
    x_tr, y_tr, _ = flat_arrays(kind, train)
    x_va, y_va, _ = flat_arrays(kind, valid)
    if x_tr.shape[1] != x_va.shape[1]:
        raise ValueError(f"train has dim {x_tr.shape[1]} but valid has dim {x_va.shape[1]}")
    if kind == "multiclass":
        n_out = int(n_classes) if n_classes is not None else int(max(y_tr.max(), y_va.max())) + 1
        if y_tr.min() < 0 or y_tr.max() >= n_out or y_va.min() < 0 or y_va.max() >= n_out:
            raise ValueError(f"class labels must lie in [0, {n_out})")
    else:
        n_out = int(y_tr.shape[1])
        if y_va.shape[1] != n_out:
            raise ValueError(f"train has {n_out} outputs but valid has {y_va.shape[1]}")
    if kind == "multilabel" and val_metric is None:
        n_pos = np.asarray(track_targets(kind, valid)).sum(axis=0)
        if not ((n_pos > 0) & (n_pos < len(track_targets(kind, valid)))).any():
            raise ValueError("validation split has no tag with both positive and negative tracks: PR-AUC undefined")

    std = _standardizer or Standardizer.fit(x_tr)
    accelerator, devices, tdev = _torch_device(device)
    y_dtype = torch.long if kind == "multiclass" else torch.float32
    data_dev = tdev if tdev.type == "cuda" else torch.device("cpu")
    xt_tr = torch.from_numpy(std(x_tr)).to(data_dev)
    yt_tr = torch.as_tensor(y_tr, dtype=y_dtype).to(data_dev)
    xt_va = torch.from_numpy(std(x_va)).to(data_dev)
    yt_va = torch.as_tensor(y_va, dtype=y_dtype).to(data_dev)  # for the validation loss (tie-break)
    train_loader = make_loader((xt_tr, yt_tr), batch_size, shuffle=True, seed=seed)
    val_loader = make_loader((xt_va, yt_va), EVAL_BATCH_SIZE, shuffle=False)

    with _quiet_and_restored(num_threads if tdev.type == "cpu" else None):
        L.seed_everything(seed, verbose=False)
        module = ProbeModule(x_tr.shape[1], n_out, hidden=hidden, dropout=dropout, lr=lr, weight_decay=weight_decay,
                             loss="ce" if kind == "multiclass" else "bce", val_fn=_make_val_fn(kind, valid, val_metric))
        keep = _EarlyStoppingBest(patience, tie_break)
        trainer = L.Trainer(accelerator=accelerator, devices=devices, max_epochs=max_epochs, deterministic=True,
                            logger=False, enable_checkpointing=False, enable_progress_bar=False,
                            enable_model_summary=False, num_sanity_val_steps=0,
                            check_val_every_n_epoch=int(val_every), callbacks=[keep])
        trainer.fit(module, train_dataloaders=train_loader, val_dataloaders=val_loader)
    module.val_fn = None  # drop the closure over the validation data
    module.eval()
    hparams = {"lr": float(lr), "hidden": int(hidden), "dropout": float(dropout), "weight_decay": float(weight_decay),
               "batch_size": int(batch_size), "max_epochs": int(max_epochs), "patience": int(patience),
               "val_every": int(val_every), "tie_break": tie_break, "best_epoch": int(keep.best_epoch)}
    return FittedProbe(kind=kind, module=module, standardizer=std, hparams=hparams,
                       val_score=float(keep.best_score) if keep.best_score is not None else float("nan"),
                       best_epoch=int(keep.best_epoch), history=list(module.val_history),
                       epochs_run=int(trainer.current_epoch), fit_seconds=time.perf_counter() - t_start, seed=int(seed),
                       device=device, num_threads=num_threads if tdev.type == "cpu" else None)


def sweep(kind: str, train: ProbeData, valid: ProbeData, *, grid: dict | None = None, seed: int = 0,
          val_metric: Callable | None = None, **fit_kwargs) -> SweepResult:
    """Fit one probe per grid point (grid order, same ``seed``) and keep the one with the best validation score
    (ties → the earlier point). ``fit_kwargs`` go to :func:`fit_probe` (max_epochs, patience, batch_size,
    weight_decay, device, n_classes). Only the chosen probe is kept; every point's validation score is reported."""
    t_start = time.perf_counter()
    check_data(kind, train, "train")
    std = Standardizer.fit(flat_arrays(kind, train)[0])  # identical for every point: compute once
    points, best, best_index = [], None, -1
    for i, hp in enumerate(grid_points(grid)):
        probe = fit_probe(kind, train, valid, seed=seed, val_metric=val_metric, _standardizer=std, **hp,
                          **fit_kwargs)
        points.append({"lr": float(hp["lr"]), "hidden": int(hp["hidden"]), "dropout": float(hp["dropout"]),
                       "val_score": probe.val_score, "best_epoch": probe.best_epoch})
        if best is None or _nan_low(probe.val_score) > _nan_low(best.val_score):
            best, best_index = probe, i
    return SweepResult(best=best, best_index=best_index, points=points, seconds=time.perf_counter() - t_start)
