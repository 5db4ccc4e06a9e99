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

import itertools
import math
import time
from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np
import torch

from .data import ProbeData, Standardizer
from .bank import HeadBank
from .engine import EVAL_ROWS, fit_many, nan_low, quiet, round_schedule
from .flops import estimate_fit_bytes
from .spec import ProbeOutcome, ProbeSpec, Split, torch_device
from .kinds import ProbeKind, get_kind

GRID: dict[str, list] = {"lr": [1e-4, 3e-4, 1e-3], "hidden": [0, 512], "dropout": [0.0, 0.2]}

#: Defaults of the training loop (recorded in every result's ``hyperparameters``).
DEFAULTS = {"max_epochs": 100, "patience": 10, "batch_size": 256, "weight_decay": 1e-2}


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


def batched(fn: Callable) -> Callable:
    """Mark ``fn(probs: Tensor (P, N, K)) -> (P,)`` as a batched validation metric (scored for all probes at once)."""
    fn.batched = True
    return fn


def is_batched(fn) -> bool:
    return bool(getattr(fn, "batched", False))


# ----------------------------------------------------------------------------------------------------------------
# Fitted probe
# ----------------------------------------------------------------------------------------------------------------
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


# ----------------------------------------------------------------------------------------------------------------
# ProbeData → engine splits
# ----------------------------------------------------------------------------------------------------------------
def to_split(kind, data: ProbeData, std: Standardizer) -> Split:
    """One :class:`probes.spec.Split` (a single input) from a :class:`ProbeData`, standardised by ``std``."""
    kind = get_kind(kind)
    x, y, _ = kind.flat(data)
    order, seg = kind.row_order(data)
    if order is not None:
        x, y = x[order], y[order]
    return Split(torch.from_numpy(std(x))[None], kind.target_tensor(y), seg)


def default_val_metric(kind) -> Callable:
    """``val_metric(y_true, y_score) -> float`` (numpy, one probe) of a kind (:meth:`ProbeKind.reference_metric`)."""
    return get_kind(kind).reference_metric


def engine_metric(kind, valid: Split, y_valid_track, val_metric: Callable | None) -> Callable:
    """The engine's ``probs (P, N, K) → (P,)`` metric for a validation split: the caller's batched metric, the kind's
    batched default, or a per-probe numpy metric applied to each probe's track-level scores (``y_valid_track``:
    the split's track-level targets, :meth:`ProbeKind.split_track_targets` when None)."""
    kind = get_kind(kind)
    if val_metric is not None and is_batched(val_metric):
        return val_metric
    seg = valid.segments
    if val_metric is None:
        return kind.batched_metric(seg, valid.y)
    if y_valid_track is None:
        y_valid_track = kind.split_track_targets(valid.y.cpu().numpy(), seg)

    def per_probe(probs: torch.Tensor) -> np.ndarray:
        return np.asarray([val_metric(y_valid_track, kind.track_scores(p, seg))
                           for p in probs.to("cpu", torch.float64).numpy()], dtype=np.float64)

    return per_probe


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


def _hparams(spec: ProbeSpec, sched: dict, *, batch_size, max_epochs, patience, weight_decay, tie_break,
             best_round, max_steps=None) -> dict:
    hp = {**spec.hparams(), "weight_decay": float(weight_decay), "batch_size": int(batch_size),
          "max_epochs": int(max_epochs), "patience": int(patience), "val_every": sched["val_every"] or 0,
          "tie_break": tie_break, "best_epoch": _to_epoch(best_round, sched)}
    if sched["unit"] == "step":
        hp["steps_per_round"] = int(sched["steps_per_round"])
        if max_steps:
            hp["max_steps"] = int(max_steps)
        hp["best_step"] = int((best_round + 1) * sched["steps_per_round"]) if best_round >= 0 else -1
    return hp


def _to_epoch(rnd: int, sched: dict) -> int:
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
    epoch_hist = [(_to_epoch(r, sched) if sched["unit"] == "epoch" else r, s) for r, s in outcome.history]
    return FittedProbe(kind=kind, bank=bank, standardizer=std,
                       hparams=_hparams(spec, sched, best_round=outcome.best_round, **loop),
                       val_score=float(outcome.val_score), best_epoch=_to_epoch(outcome.best_round, sched)
                       if sched["unit"] == "epoch" else outcome.best_round,
                       history=epoch_hist, val_losses=list(outcome.val_losses),
                       epochs_run=_to_epoch(outcome.rounds_run - 1, sched) + 1 if sched["unit"] == "epoch"
                       else outcome.rounds_run,
                       fit_seconds=fit_seconds, seed=spec.seed, device=device, num_threads=num_threads)



# ----------------------------------------------------------------------------------------------------------------
# Public API
# ----------------------------------------------------------------------------------------------------------------
def sweep_many(kind, train: Split, valid: Split, *, grid: dict | None = None, seeds: Sequence[int] = (0,),
               standardizers: Sequence[Standardizer], n_out: int, y_valid_track=None,
               val_metric: Callable | None = None, max_epochs: int = DEFAULTS["max_epochs"],
               patience: int = DEFAULTS["patience"], batch_size: int = DEFAULTS["batch_size"],
               weight_decay: float = DEFAULTS["weight_decay"], val_every: int = 1,
               steps_per_round: int | None = None, max_steps: int | None = None,
               patience_steps: int | None = None, tie_break: str = "loss",
               device: str = "cpu", num_threads: int | None = None, max_probes_per_fit: int | None = None,
               n_classes: int | None = None) -> dict[tuple[int, int], SweepResult]:
    """Sweep ``grid`` for every input (layer) of ``train.x`` ``(U, N, D)`` and every seed, all probes in one batched
    fit (or several, ``max_probes_per_fit``). Returns ``{(input, seed): SweepResult}``; within a sweep the best
    validation score wins, ties → the earlier grid point. ``standardizers[u]`` is the train standardiser of input
    ``u`` (already applied to the splits; kept in the fitted probes). On the step schedule (an epoch longer than
    ``steps_per_round``), ``max_steps`` caps the training and ``patience_steps`` replaces ``patience``."""
    t0 = time.perf_counter()
    kind = get_kind(kind)
    points = grid_points(grid)
    n_inputs = int(train.x.shape[0])
    specs = [ProbeSpec(lr=float(p["lr"]), hidden=int(p["hidden"]), dropout=float(p["dropout"]), seed=int(s), input=u)
             for u in range(n_inputs) for s in seeds for p in points]
    sched = round_schedule(train.n_rows, batch_size, val_every, steps_per_round)
    if patience_steps and sched["unit"] == "step":  # on the step schedule, patience is a number of steps
        patience = max(1, math.ceil(patience_steps / sched["steps_per_round"]))
    metric = engine_metric(kind, valid, y_valid_track, val_metric)
    outcomes = fit_many(specs, train, valid, kind=kind, out_dim=n_out, val_metric=metric,
                        max_epochs=max_rounds(max_epochs, sched, max_steps), patience=patience, batch_size=batch_size,
                        weight_decay=weight_decay, val_every=val_every, steps_per_round=steps_per_round,
                        tie_break=tie_break, device=device, num_threads=num_threads,
                        max_probes_per_fit=max_probes_per_fit)
    seconds = time.perf_counter() - t0
    loop = dict(batch_size=batch_size, max_epochs=max_epochs, patience=patience, weight_decay=weight_decay,
                tie_break=tie_break, max_steps=max_steps)
    results: dict[tuple[int, int], SweepResult] = {}
    for u in range(n_inputs):
        for s in seeds:
            outs = [o for o in outcomes if o.spec.input == u and o.spec.seed == s]
            best_i = 0
            for i, o in enumerate(outs):
                if nan_low(o.val_score) > nan_low(outs[best_i].val_score):
                    best_i = i
            pts = [{**o.spec.hparams(), "val_score": float(o.val_score),
                    "best_epoch": _to_epoch(o.best_round, sched) if sched["unit"] == "epoch" else o.best_round}
                   for o in outs]
            best = fitted_from(kind, outs[best_i], standardizers[u], sched, int(train.x.shape[2]), n_out,
                               device=device, num_threads=num_threads, fit_seconds=seconds, **loop)
            results[(u, int(s))] = SweepResult(best=best, best_index=best_i, points=pts, seconds=seconds)
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


# ----------------------------------------------------------------------------------------------------------------
# Many layers, bounded memory
# ----------------------------------------------------------------------------------------------------------------
@dataclass
class LayerInputs:
    """The rows of one train / valid partition seen through several layers, read on demand.

    ``rows(layer, split)`` returns the ``(N, D)`` float32 rows of ``split`` ("train" or "valid") at ``layer`` (a
    memory map slice is fine: it is read once per fit); ``y[split]`` the targets of those rows and
    ``segments[split]`` the track offsets (rows of a track contiguous, tracks in target order)."""

    layers: list[int]
    rows: Callable[[int, str], np.ndarray]
    y: dict
    segments: dict
    dim: int


#: Memory for the inputs and probes of one fit on CPU (the sweep of a 24-layer model runs in chunks of layers).
CPU_MEMORY_BUDGET = 2 * 1024 ** 3


def memory_budget(device: str) -> int:
    """Bytes one fit may use: :data:`CPU_MEMORY_BUDGET` on CPU, 60 % of the free memory of a CUDA device."""
    _, _, dev = torch_device(device)
    if dev.type == "cuda":
        free, _ = torch.cuda.mem_get_info(dev)
        return int(0.6 * free)
    return CPU_MEMORY_BUDGET


def layer_chunks(n_layers: int, per_layer_bytes: int, budget: int) -> int:
    """How many layers one fit takes so that ``per_layer_bytes × layers`` stays within ``budget`` (at least 1)."""
    return max(1, min(n_layers, budget // max(per_layer_bytes, 1)))


def sweep_layers(kind, inputs: LayerInputs, *, grid: dict | None = None, seeds: Sequence[int] = (0,),
                 n_out: int, val_metric: Callable | None = None, device: str = "cpu",
                 memory_bytes: int | None = None, progress: Callable[[int], None] | None = None,
                 **loop) -> dict[tuple[int, int], SweepResult]:
    """:func:`sweep_many` over every layer of ``inputs`` and every seed, as few batched fits as memory allows: the
    layers are taken in chunks whose standardised inputs and probes fit ``memory_bytes`` (default
    :func:`memory_budget`). Returns ``{(layer, seed): SweepResult}``; ``progress(n_layers_done)`` after each chunk.
    The targets are checked against the kind (:meth:`ProbeKind.check_targets`) before any training."""
    kind = get_kind(kind)
    for split in ("train", "valid"):
        kind.check_targets(np.asarray(inputs.y[split]), int(np.asarray(inputs.segments[split])[-1]),
                           f"{split} targets", n_outputs=n_out)
    points = grid_points(grid)
    n_tr, n_va = len(inputs.y["train"]), len(inputs.y["valid"])
    specs = [ProbeSpec(lr=p["lr"], hidden=p["hidden"], dropout=p["dropout"], seed=s) for s in seeds for p in points]
    batch = int(loop.get("batch_size", DEFAULTS["batch_size"]))
    per_layer = 4 * (n_tr + n_va) * inputs.dim + estimate_fit_bytes(specs, inputs.dim, n_out, batch, n_va)
    step = layer_chunks(len(inputs.layers), per_layer, memory_bytes or memory_budget(device))
    ys = {s: kind.target_tensor(inputs.y[s]) for s in ("train", "valid")}
    out: dict[tuple[int, int], SweepResult] = {}
    for c in range(0, len(inputs.layers), step):
        chunk = inputs.layers[c:c + step]
        xs = {"train": torch.empty(len(chunk), n_tr, inputs.dim), "valid": torch.empty(len(chunk), n_va, inputs.dim)}
        stds = []
        for j, layer in enumerate(chunk):
            x_tr = inputs.rows(layer, "train")
            std = Standardizer.fit(x_tr)
            stds.append(std)
            for split, x in (("train", x_tr), ("valid", inputs.rows(layer, "valid"))):
                for i in range(0, len(x), 65536):
                    xs[split][j, i:i + 65536] = torch.from_numpy(std(x[i:i + 65536]))
        res = sweep_many(kind, Split(xs["train"], ys["train"], inputs.segments["train"]),
                         Split(xs["valid"], ys["valid"], inputs.segments["valid"]), grid=grid, seeds=seeds,
                         standardizers=stds, n_out=n_out, val_metric=val_metric,
                         device=device, **loop)
        del xs
        for (u, s), r in res.items():
            out[(chunk[u], s)] = r
        if progress is not None:
            progress(len(chunk))
    return out
