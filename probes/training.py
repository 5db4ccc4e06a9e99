"""Probe training on cached frozen embeddings: one fit (:func:`fit_probe`), the hyperparameter grid (:func:`sweep`)
and many inputs × seeds × grid points at once (:func:`sweep_many`) — all on the batched engine (:mod:`probes.engine`).

Protocol (``shared/spec/protocols.md``, "Common probe protocol"):

- Inputs are standardised per dimension with the TRAIN split's mean/std (:class:`probes.data.Standardizer`), stored
  in the fitted probe and applied again at predict time. This makes one fixed lr grid sensible across encoders whose
  embedding scales differ by orders of magnitude.
- Head: linear or one-hidden-layer MLP (:mod:`probes.bank`), AdamW (``weight_decay`` default 1e-2, the AdamW
  default), no lr schedule, mini-batches of ``batch_size`` rows (chunks; *frames* for framewise probes), reshuffled
  every epoch by the probe's seed.
- Validation after every training epoch (or every ``val_every`` epochs, or every ``steps_per_round`` steps — the
  framewise schedule at real size) on the whole validation split; early stopping on the validation metric: the fit
  ends after ``patience`` validations without a better one; the weights of the best validation are restored.
  "Better" = a strictly higher validation metric, or (``tie_break="loss"``, the default) the same metric and a
  strictly lower validation loss: coarse metrics such as accuracy on a few hundred tracks plateau for many epochs at
  small learning rates while the loss still falls. ``tie_break="first"`` gives the plain rule.
- Validation metric (higher is better): the caller's (e.g. beat F-measure after peak picking), else the probe
  kind's default on track-level scores (:mod:`probes.kinds`: macro PR-AUC for multilabel, accuracy for multiclass,
  R² for regression, negated macro-MSE for ordinal, frame AP / frame accuracy for the frame kinds), computed for
  every probe at once.
- Determinism: everything random depends only on the probe's seed (see :mod:`probes.engine`); the same inputs and
  seed give identical scores on the same machine, whether a probe is fitted alone or with 287 others.
- Sweep: every point of ``grid`` in ``itertools.product`` order over its keys (``GRID``: lr outer, then hidden,
  then dropout), all with the same seed; the best validation score wins; ties go to the earlier point in grid order.

The probe kind (:mod:`probes.kinds`; every ``kind`` argument is a kind object or its registry name) owns the
loss, output activation, target checks, track aggregation and default validation metric.

Framewise probes are trained on the frames of all training tracks pooled and shuffled (the head has no temporal
context, so this is exactly the frame BCE over all real frames; nothing is padded, so there is nothing to mask);
validation and prediction split the outputs back per track.

Validation metrics come in two forms: a plain ``val_metric(y_true, y_score) -> float`` (numpy, called once per probe
per validation) or a :func:`batched` one, ``metric(probs (P, N, K) tensor) -> (P,)``, scored for all probes at once.
"""
from __future__ import annotations

import math
import time
from typing import Callable, Sequence

import torch

from .data import ProbeData, Standardizer
from .engine import fit_many, nan_low, round_schedule
from .fitted import FittedProbe, SweepResult, fitted_from, max_rounds, round_epoch
from .grid import DEFAULTS, grid_points
from .kinds import ProbeKind, get_kind
from .spec import ProbeSpec, Split
from .validation import engine_metric, is_batched

__all__ = ["to_split", "sweep_many", "sweep_groups", "fit_probe", "sweep", "FittedProbe", "SweepResult"]


def to_split(kind, data: ProbeData, std: Standardizer) -> Split:
    """One :class:`probes.spec.Split` (a single input) from a :class:`ProbeData`, standardised by ``std``."""
    kind = get_kind(kind)
    x, y, _ = kind.flat(data)
    order, seg = kind.row_order(data)
    if order is not None:
        x, y = x[order], y[order]
    return Split(torch.from_numpy(std(x))[None], kind.target_tensor(y), seg)


def _check_pair(kind: ProbeKind, train: ProbeData, valid: ProbeData, val_metric, n_classes: int | None) -> int:
    kind.check_data(train, "train")
    kind.check_data(valid, "valid")
    x_tr, y_tr, _ = kind.flat(train)
    x_va, y_va, _ = kind.flat(valid)
    if x_tr.shape[1] != x_va.shape[1]:
        raise ValueError(f"train has dim {x_tr.shape[1]} but valid has dim {x_va.shape[1]}")
    n_out = kind.n_outputs(y_tr, y_va, n_classes)
    if val_metric is None:
        kind.check_validation_targets(kind.track_targets(valid))
    return n_out


def sweep_many(kind, train: Split, valid: Split, *, grid: dict | None = None, seeds: Sequence[int] = (0,),
               standardizers: Sequence[Standardizer], n_out: int, y_valid_track=None,
               val_metric: Callable | None = None, **loop) -> dict[tuple[int, int], SweepResult]:
    """Sweep ``grid`` for every input (layer) of ``train.x`` ``(U, N, D)`` and every seed, all probes in one batched
    fit (or several, ``max_probes_per_fit``). Returns ``{(input, seed): SweepResult}``; within a sweep the best
    validation score wins, ties → the earlier grid point. ``standardizers[u]`` is the train standardiser of input
    ``u`` (already applied to the splits; kept in the fitted probes). ``loop``: as :func:`sweep_groups`."""
    res = sweep_groups(kind, [train], [valid], grid=grid, seeds=seeds, standardizers=[standardizers], n_out=n_out,
                       y_valid_tracks=[y_valid_track], val_metrics=[val_metric], **loop)
    return {(u, s): r for (_, u, s), r in res.items()}


def sweep_groups(kind, train: Sequence[Split], valid: Sequence[Split], *, grid: dict | None = None,
                 seeds: Sequence[int] = (0,), standardizers: Sequence[Sequence[Standardizer]], n_out: int,
                 y_valid_tracks: Sequence | None = None, val_metrics: Sequence[Callable | None] | None = None,
                 max_epochs: int = DEFAULTS["max_epochs"], patience: int = DEFAULTS["patience"],
                 batch_size: int = DEFAULTS["batch_size"], weight_decay: float = DEFAULTS["weight_decay"],
                 val_every: int = 1, steps_per_round: int | None = None, max_steps: int | None = None,
                 patience_steps: int | None = None, tie_break: str = "loss", device: str = "cpu",
                 num_threads: int | None = None, max_probes_per_fit: int | None = None,
                 n_classes: int | None = None) -> dict[tuple[int, int, int], SweepResult]:
    """:func:`sweep_many` for several *groups* at once (e.g. the folds of a cross-validation): group ``g`` trains on
    ``train[g]`` and is validated on ``valid[g]`` with ``val_metrics[g]`` (None: the kind's default); every group's
    probes are more probes of the same fit, each exactly as in a fit of its own group
    (:func:`probes.engine.fit_many`). The groups need the same inputs ``U`` and the same steps per round. Returns
    ``{(group, input, seed): SweepResult}``. On the step schedule (an epoch longer than ``steps_per_round``),
    ``max_steps`` caps the training and ``patience_steps`` replaces ``patience``."""
    t0 = time.perf_counter()
    kind = get_kind(kind)
    points = grid_points(grid)
    n_groups, n_inputs = len(train), int(train[0].x.shape[0])
    y_valid_tracks = list(y_valid_tracks or [None] * n_groups)
    val_metrics = list(val_metrics or [None] * n_groups)
    specs = [ProbeSpec(lr=float(p["lr"]), hidden=int(p["hidden"]), dropout=float(p["dropout"]), seed=int(s), input=u,
                       group=g)
             for g in range(n_groups) for u in range(n_inputs) for s in seeds for p in points]
    scheds = [round_schedule(t.n_rows, batch_size, val_every, steps_per_round) for t in train]
    sched = scheds[0]
    if patience_steps and sched["unit"] == "step":  # on the step schedule, patience is a number of steps
        patience = max(1, math.ceil(patience_steps / sched["steps_per_round"]))
    metrics = [engine_metric(kind, v, yt, m) for v, yt, m in zip(valid, y_valid_tracks, val_metrics)]
    outcomes = fit_many(specs, train, valid, kind=kind, out_dim=n_out, val_metric=metrics,
                        max_epochs=[max_rounds(max_epochs, sc, max_steps) for sc in scheds], patience=patience,
                        batch_size=batch_size, weight_decay=weight_decay, val_every=val_every,
                        steps_per_round=steps_per_round, tie_break=tie_break, device=device,
                        num_threads=num_threads, max_probes_per_fit=max_probes_per_fit)
    seconds = time.perf_counter() - t0
    loop = dict(batch_size=batch_size, max_epochs=max_epochs, patience=patience, weight_decay=weight_decay,
                tie_break=tie_break, max_steps=max_steps)
    results: dict[tuple[int, int, int], SweepResult] = {}
    for g, sched in enumerate(scheds):
        for u in range(n_inputs):
            for s in seeds:
                outs = [o for o in outcomes if o.spec.group == g and o.spec.input == u and o.spec.seed == s]
                best_i = 0
                for i, o in enumerate(outs):
                    if nan_low(o.val_score) > nan_low(outs[best_i].val_score):
                        best_i = i
                pts = [{**o.spec.hparams(), "val_score": float(o.val_score),
                        "best_epoch": round_epoch(o.best_round, sched) if sched["unit"] == "epoch" else o.best_round}
                       for o in outs]
                best = fitted_from(kind, outs[best_i], standardizers[g][u], sched, int(train[g].x.shape[2]), n_out,
                                   device=device, num_threads=num_threads, fit_seconds=seconds, **loop)
                results[(g, u, int(s))] = SweepResult(best=best, best_index=best_i, points=pts, seconds=seconds)
    return results


def _prepare(kind: ProbeKind, train, valid, val_metric, n_classes, standardizer=None):
    n_out = _check_pair(kind, train, valid, val_metric, n_classes)
    std = standardizer or Standardizer.fit(kind.flat(train)[0])
    tr, va = to_split(kind, train, std), to_split(kind, valid, std)
    y_track = kind.track_targets(valid) if val_metric is not None and not is_batched(val_metric) else None
    return n_out, std, tr, va, y_track


def fit_probe(kind, train: ProbeData, valid: ProbeData, *, lr: float, hidden: int, dropout: float,
              seed: int = 0, max_epochs: int = DEFAULTS["max_epochs"], patience: int = DEFAULTS["patience"],
              batch_size: int = DEFAULTS["batch_size"], weight_decay: float = DEFAULTS["weight_decay"],
              device: str = "cpu", val_metric: Callable | None = None, n_classes: int | None = None,
              tie_break: str = "loss", val_every: int = 1, steps_per_round: int | None = None,
              max_steps: int | None = None, patience_steps: int | None = None, num_threads: int | None = None,
              _standardizer: Standardizer | None = None) -> FittedProbe:
    """Train one probe (a one-probe batched fit) and return it with its best-validation weights restored.

    Parameters
    ----------
    kind : ProbeKind or its name ("multilabel", "multiclass", "regression", "ordinal", "framewise",
        "framewise-multiclass")
        See :mod:`probes.kinds` for the shapes of ``train`` / ``valid``.
    lr, hidden, dropout : float, int, float
        AdamW learning rate; hidden width (0 = linear head); dropout probability (see :mod:`probes.bank`).
    seed : int
        Seeds everything random of the probe (weights, dropout, shuffling).
    max_epochs, patience, batch_size, weight_decay
        Training loop settings (defaults :data:`DEFAULTS`: 100, 10, 256, 1e-2). ``batch_size`` counts chunks, or
        frames for framewise probes.
    device : "cpu" | "cuda" | "cuda:N"
    val_metric : callable, optional
        ``val_metric(y_true, y_score) -> float``, higher is better, replacing the kind's default (clip-level:
        track-level ``y_true`` (:func:`probes.data.track_targets`) and scores ``(n_tracks, K)``; framewise: lists of
        per-track targets and activations), or a :func:`batched` metric.
    n_classes : int, optional
        Class kinds' output size (e.g. 128 for NSynth pitch); default ``max(label) + 1`` over train and valid.
    tie_break : "loss" | "first"
        Between validations with the same score: ``"loss"`` (default) prefers the lower validation loss;
        ``"first"``: the earliest, and equal scores never reset the patience counter.
    val_every, steps_per_round : int
        Validate every ``val_every`` epochs, or every ``steps_per_round`` optimizer steps when that is shorter;
        ``patience`` counts validations.
    max_steps, patience_steps : int, optional
        On the step schedule: at most ``max_steps`` optimizer steps, and patience counted in steps.
    num_threads : int or None
        torch intra-op threads during the fit and at predict time (restored afterwards; None: torch's setting).
    """
    kind = get_kind(kind)
    n_out, std, tr, va, y_track = _prepare(kind, train, valid, val_metric, n_classes, _standardizer)
    res = sweep_many(kind, tr, va, grid={"lr": [lr], "hidden": [hidden], "dropout": [dropout]}, seeds=[seed],
                     standardizers=[std], n_out=n_out, y_valid_track=y_track, val_metric=val_metric,
                     max_epochs=max_epochs, patience=patience, batch_size=batch_size, weight_decay=weight_decay,
                     val_every=val_every, steps_per_round=steps_per_round, max_steps=max_steps,
                     patience_steps=patience_steps, tie_break=tie_break, device=device, num_threads=num_threads)
    return res[(0, seed)].best


def sweep(kind, train: ProbeData, valid: ProbeData, *, grid: dict | None = None, seed: int = 0,
          val_metric: Callable | None = None, n_classes: int | None = None, **fit_kwargs) -> SweepResult:
    """Fit every grid point (grid order, same ``seed``) in one batched fit and keep the one with the best validation
    score (ties → the earlier point). ``fit_kwargs`` as :func:`fit_probe` (max_epochs, patience, batch_size,
    weight_decay, device, val_every, steps_per_round, tie_break, num_threads). Every point's validation score is
    reported; only the chosen probe's weights are kept."""
    kind = get_kind(kind)
    n_out, std, tr, va, y_track = _prepare(kind, train, valid, val_metric, n_classes)
    res = sweep_many(kind, tr, va, grid=grid, seeds=[seed], standardizers=[std], n_out=n_out, y_valid_track=y_track,
                     val_metric=val_metric, **fit_kwargs)
    return res[(0, seed)]
