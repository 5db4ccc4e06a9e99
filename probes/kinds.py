"""Probe kinds: one object per kind of target, owning everything the probe code needs to know about it.

(Longer than most modules, on purpose: six small classes of one concept and the losses and checks they share; a kind
reads best next to the others, and the registry that lists them all is here.)

A kind owns
- the **data layout** of a :class:`probes.data.ProbeData` (clip level: chunk rows grouped into tracks; frame level:
  per-track sequences), the row order the engine trains on and the track-level targets;
- the **target checks** (one clear ``ValueError`` naming what was found and what was expected);
- the **loss** (written once: ``loss(logits (P, b, K), y) -> (P,)``, each probe's mean loss; the engine trains on
  their sum and reports them as validation losses) and the **output activation** (logits → scores);
- the **track aggregation** of row scores (the mean of a track's chunk scores; frame kinds keep frames);
- the **default validation metric**, scored for all probes at once (``probs (P, N, K) -> (P,)``, *higher is
  better*; a metric whose natural direction is lower-is-better is returned negated), with its record key
  (:attr:`ProbeKind.validation`) and a per-probe numpy reference (:meth:`ProbeKind.reference_metric`);
- the **default schedule** (:attr:`ProbeKind.schedule`): ``None`` = validate every data epoch; frame kinds use the
  :class:`StepSchedule` at real size.

The kinds (:data:`KINDS`, resolved by name with :func:`get_kind`):

========================  ===========================  ==========================  ====================================
name                      targets ``y`` (per row)      loss / activation           default validation metric
========================  ===========================  ==========================  ====================================
``multilabel``            ``(n, K)`` in [0, 1]         BCE / sigmoid               ``pr_auc_macro`` of track means
``multiclass``            ``(n,)`` int in [0, K)       cross-entropy / softmax     ``accuracy`` of track-mean argmax
``regression``            ``(n, K)`` finite floats     MSE / identity              ``r2`` (uniform mean over outputs)
``ordinal``               ``(n, G-1)`` ``[grade > k]`` BCE / sigmoid               ``mse_macro`` of decoded grades (↓)
``framewise``             ``(T, C)`` in [0, 1]         BCE / sigmoid               ``frame_average_precision``
``framewise-multiclass``  ``(T,)`` int, -1 ignored     cross-entropy / softmax     ``frame_accuracy`` (labels ≥ 0)
========================  ===========================  ==========================  ====================================

Clip kinds: ``x`` ``(n_chunks, D)``, ``groups`` ``(n_chunks,)`` track ids (tracks in ascending group-id order, see
:mod:`probes.data`); a track's score is the mean of its chunks' activations. Frame kinds: ``x`` and ``y`` lists of
per-track ``(T_i, D)`` / targets, ``groups`` None; ``(T_i,)`` framewise targets are read as ``C = 1``.

Adding a kind is one more object here (a subclass of :class:`ClipKind` or :class:`FrameKind`) registered in
:data:`KINDS`; nothing else branches on kinds.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch
from torch import nn

from . import batched_metrics as bm
from .data import ProbeData, aggregate_by_group

__all__ = ["ProbeKind", "ClipKind", "FrameKind", "StepSchedule", "KINDS", "get_kind", "MULTILABEL", "MULTICLASS",
           "REGRESSION", "ORDINAL", "FRAMEWISE", "FRAMEWISE_MULTICLASS", "FRAME_SCHEDULE"]


# ----------------------------------------------------------------------------------------------------------------
# Schedules
# ----------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class StepSchedule:
    """Validation every ``steps_per_round`` optimizer steps when a data epoch is longer than that (else every epoch),
    a probe stopped after ``patience_steps`` steps without a better validation, at most ``max_steps`` steps (or
    ``max_epochs`` epochs, whichever is fewer). The defaults are the framewise schedule: 500 steps = 128 k frames of
    256; a validation pass over a GTZAN-size fold costs as much arithmetic as ~60 training steps; 8,000 steps (2.05 M
    frames) is about 6 epochs of a GTZAN-size fold and keeps that run under 20 min (``notes/probe-engine.md``)."""

    steps_per_round: int = 500
    patience_steps: int = 2_000
    max_steps: int = 8_000

    def fit_kwargs(self) -> dict:
        """The :func:`probes.layers.sweep_layers` keyword arguments of this schedule."""
        return {"steps_per_round": self.steps_per_round, "max_steps": self.max_steps,
                "patience_steps": self.patience_steps}

    @staticmethod
    def describe(fit_kwargs: dict) -> dict:
        """What a record states about the schedule (``protocol.schedule``), for the values actually used."""
        return {"validate_every": f"epoch, or {fit_kwargs['steps_per_round']} optimizer steps when an epoch is "
                                  "longer", "patience_counts": "validations",
                "max_steps": f"{fit_kwargs['max_steps']} when validating every {fit_kwargs['steps_per_round']} "
                             "steps (else max_epochs)",
                "patience_steps": f"{fit_kwargs['patience_steps']} steps without a better validation when "
                                  "validating every N steps (else patience validations)",
                "validation": "all probes at once (the task's batched metric); test-only post-processing "
                              "(e.g. the DBN) on the chosen probe"}


#: The frame kinds' default schedule.
FRAME_SCHEDULE = StepSchedule()


# ----------------------------------------------------------------------------------------------------------------
# Losses and activations (each written once)
# ----------------------------------------------------------------------------------------------------------------
def bce_loss(logits: torch.Tensor, y: torch.Tensor, rows: torch.Tensor | None = None) -> torch.Tensor:
    """Per-probe mean binary cross-entropy with logits: ``(P, b, K)``, targets ``(P or 1, b, K)`` → ``(P,)``.
    ``rows`` ``(P, b)`` bool, when given, marks the real rows (the others are padding: no loss, not counted)."""
    e = nn.functional.binary_cross_entropy_with_logits(logits, y.to(logits.dtype).expand_as(logits),
                                                       reduction="none")
    return e.mean(dim=(1, 2)) if rows is None else _masked_mean(e, rows)


def ce_loss(logits: torch.Tensor, y: torch.Tensor, rows: torch.Tensor | None = None) -> torch.Tensor:
    """Per-probe mean cross-entropy over the rows whose label is not -1: ``(P, b, K)``, ``(P or 1, b)`` → ``(P,)``
    (0 for a probe whose rows are all ignored). ``rows`` ``(P, b)`` bool: padding rows (False) are ignored too."""
    p, b, k = logits.shape
    yy = y.expand(p, b)
    if rows is not None:
        yy = torch.where(rows, yy, -1)
    ce = nn.functional.cross_entropy(logits.reshape(p * b, k), yy.reshape(p * b), ignore_index=-1,
                                     reduction="none").reshape(p, b)
    return ce.sum(dim=1) / (yy >= 0).sum(dim=1).clamp_min(1)


def mse_loss(logits: torch.Tensor, y: torch.Tensor, rows: torch.Tensor | None = None) -> torch.Tensor:
    """Per-probe mean squared error over rows and outputs: ``(P, b, K)``, ``(P or 1, b, K)`` → ``(P,)``; ``rows``
    as :func:`bce_loss`."""
    e = (logits - y.to(logits.dtype).expand_as(logits)) ** 2
    return e.mean(dim=(1, 2)) if rows is None else _masked_mean(e, rows)


def _masked_mean(e: torch.Tensor, rows: torch.Tensor) -> torch.Tensor:
    """Mean of ``e`` ``(P, b, K)`` over the rows marked in ``rows`` ``(P, b)`` and every output."""
    w = rows.to(e.dtype)
    return (e * w[..., None]).sum(dim=(1, 2)) / (w.sum(dim=1) * e.shape[2]).clamp_min(1)


def _softmax(logits: torch.Tensor) -> torch.Tensor:
    return torch.softmax(logits, dim=-1)


def _identity(logits: torch.Tensor) -> torch.Tensor:
    return logits


def _as_2d(y: np.ndarray) -> np.ndarray:
    return y[:, None] if y.ndim == 1 else y


# ----------------------------------------------------------------------------------------------------------------
# The kinds
# ----------------------------------------------------------------------------------------------------------------
class ProbeKind:
    """Base of the kinds (see the module docstring). Class attributes: ``name`` (the registry name, recorded as
    ``protocol.probe_kind``), ``validation`` (record key of the default validation metric) and
    ``validation_lower_is_better`` (its natural direction; the batched default is always higher-is-better),
    ``target_dtype`` (torch dtype of the engine's targets), ``schedule`` (None or a :class:`StepSchedule`)."""

    name: str = ""
    validation: str = ""
    validation_lower_is_better: bool = False
    target_dtype: torch.dtype = torch.float32
    schedule: StepSchedule | None = None
    #: what the per-row target must look like, for error messages
    expected: str = ""

    # -- head ----------------------------------------------------------------------------------------------------
    def loss(self, logits: torch.Tensor, y: torch.Tensor, rows: torch.Tensor | None = None) -> torch.Tensor:
        """Each probe's mean loss ``(P,)`` of logits ``(P, b, K)`` against targets ``(P or 1, b[, K])``; ``rows``
        ``(P, b)`` bool, when given, marks the real rows of a padded batch (folds of different sizes in one fit)."""
        raise NotImplementedError

    def activation(self, logits: torch.Tensor) -> torch.Tensor:
        """Scores from logits (last axis = outputs)."""
        raise NotImplementedError

    # -- targets -------------------------------------------------------------------------------------------------
    def check_targets(self, y: np.ndarray, n_rows: int, name: str = "y", n_outputs: int | None = None) -> None:
        """Raise ``ValueError`` unless the flat targets ``y`` of ``n_rows`` rows are what this kind trains on
        (``n_outputs``: the output size they must fit, when known)."""
        raise NotImplementedError

    def n_outputs(self, y_train: np.ndarray, y_valid: np.ndarray, n_classes: int | None = None) -> int:
        """Output size from the flat train / valid targets (checked against each other)."""
        k = int(y_train.shape[1])
        if y_valid.shape[1] != k:
            raise ValueError(f"train has {k} outputs but valid has {y_valid.shape[1]}")
        return k

    def check_validation_targets(self, y_track) -> None:
        """Raise ``ValueError`` when the default validation metric is undefined on these track targets."""

    # -- validation ----------------------------------------------------------------------------------------------
    def batched_metric(self, segments: np.ndarray, y_rows: torch.Tensor) -> Callable:
        """The default validation metric of the validation split whose flat targets are ``y_rows`` and track offsets
        ``segments``: ``probs (P, N, K) -> (P,)`` numpy, higher is better."""
        raise NotImplementedError

    def reference_metric(self, y_true, y_score) -> float:
        """The default validation metric of one probe (numpy / scikit-learn; track-level inputs as
        :meth:`track_targets` and :meth:`track_scores`), oriented as :meth:`batched_metric`."""
        raise NotImplementedError

    # -- data layout (ClipKind / FrameKind) ----------------------------------------------------------------------
    def check_data(self, data: ProbeData, name: str = "data") -> None:
        raise NotImplementedError

    def flat(self, data: ProbeData) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """``(x, y, lengths)`` as flat row arrays (frame kinds: sequences concatenated, ``lengths`` = ``T_i``)."""
        raise NotImplementedError

    def row_order(self, data: ProbeData) -> tuple[np.ndarray | None, np.ndarray]:
        """(row permutation making each track's rows contiguous in track order, or None; segment offsets)."""
        raise NotImplementedError

    def track_targets(self, data: ProbeData):
        raise NotImplementedError

    def split_track_targets(self, y_rows: np.ndarray, segments: np.ndarray):
        """Track-level targets of flat, track-contiguous rows (as :meth:`track_targets`)."""
        raise NotImplementedError

    def track_scores(self, rows: np.ndarray, segments: np.ndarray):
        """Track-level scores of one probe's row scores ``(N, K)`` over track-contiguous rows."""
        raise NotImplementedError

    def predictions(self, rows: np.ndarray, data: ProbeData):
        """Track-level predictions of ``data`` from its row scores in the data's own row order."""
        raise NotImplementedError

    def make_data(self, x: np.ndarray, y: np.ndarray, segments: np.ndarray) -> ProbeData:
        """A :class:`ProbeData` from flat rows ``x``, targets ``y`` and track offsets ``segments``."""
        raise NotImplementedError

    def target_tensor(self, y: np.ndarray) -> torch.Tensor:
        return torch.as_tensor(np.asarray(y), dtype=self.target_dtype)

    def __repr__(self) -> str:
        return f"<probe kind {self.name}>"

    def __reduce__(self):  # pickles / deep-copies as the registered object
        return (get_kind, (self.name,))


class ClipKind(ProbeKind):
    """Clip-level layout: chunk rows ``x (n, D)``, targets per chunk (each chunk carries its track's target),
    ``groups`` track ids; track scores are the mean of the chunks' activations."""

    def check_data(self, data: ProbeData, name: str = "data") -> None:
        x, y = np.asarray(data.x), np.asarray(data.y)
        if x.ndim != 2 or x.shape[0] == 0:
            raise ValueError(f"{name}: x must be a non-empty (n, D) array, got shape {x.shape}")
        self.check_targets(y, x.shape[0], f"{name}: {self.name} y")
        if data.groups is not None and np.asarray(data.groups).shape != (x.shape[0],):
            raise ValueError(f"{name}: groups must be (n,) with n = {x.shape[0]}")

    def flat(self, data):
        return np.asarray(data.x, dtype=np.float32), np.asarray(data.y), None

    def row_order(self, data):
        n = len(data.x)
        if data.groups is None:
            return None, np.arange(n + 1, dtype=np.int64)
        groups = np.asarray(data.groups)
        order = np.argsort(groups, kind="stable")
        _, counts = np.unique(groups[order], return_counts=True)
        seg = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        return (None if np.array_equal(order, np.arange(n)) else order), seg

    def track_targets(self, data):
        """The first chunk's target of each track, tracks in ascending group-id order."""
        y = np.asarray(data.y)
        if data.groups is None:
            return y
        _, first = np.unique(np.asarray(data.groups), return_index=True)
        return y[first]

    def split_track_targets(self, y_rows, segments):
        return np.asarray(y_rows)[np.asarray(segments)[:-1]]

    def track_scores(self, rows, segments):
        return bm.segment_mean(torch.from_numpy(np.asarray(rows))[None], segments)[0].numpy()

    def predictions(self, rows, data):
        return aggregate_by_group(rows, data.groups)

    def make_data(self, x, y, segments):
        counts = np.diff(np.asarray(segments))
        return ProbeData(np.asarray(x, dtype=np.float32), y, np.repeat(np.arange(len(counts)), counts))

    def batched_metric(self, segments, y_rows):
        y_track = self.split_track_targets(y_rows.cpu().numpy(), segments)
        return lambda probs: self.track_metric(bm.segment_mean(probs, segments), y_track).cpu().numpy()

    def track_metric(self, track_scores: torch.Tensor, y_track: np.ndarray) -> torch.Tensor:
        """The default validation metric of track scores ``(P, T, K)`` (float64) → ``(P,)``, higher is better."""
        raise NotImplementedError


class FrameKind(ProbeKind):
    """Frame-level layout: ``x`` and ``y`` lists of per-track sequences at the encoder's frame rate, ``groups``
    None; the engine trains on all frames pooled, validation and prediction split the outputs back per track."""

    schedule = FRAME_SCHEDULE
    #: allowed dimensions of a track's targets, and their description
    target_ndims: tuple[int, ...] = (1, 2)
    target_shape: str = "(T,) or (T, C)"

    def check_data(self, data: ProbeData, name: str = "data") -> None:
        if not isinstance(data.x, (list, tuple)) or not isinstance(data.y, (list, tuple)):
            raise ValueError(f"{name}: {self.name} x and y must be lists of per-track arrays")
        if len(data.x) != len(data.y) or len(data.x) == 0:
            raise ValueError(f"{name}: {self.name} x and y must be non-empty lists of equal length")
        for i, (xi, yi) in enumerate(zip(data.x, data.y)):
            xi, yi = np.asarray(xi), np.asarray(yi)
            if xi.ndim != 2 or yi.ndim not in self.target_ndims or xi.shape[0] != yi.shape[0]:
                raise ValueError(f"{name}[{i}]: expected x (T, D) and y {self.target_shape} with the same T, got "
                                 f"{xi.shape} and {yi.shape}")
        _, y, _ = self.flat(data)
        self.check_targets(y, len(y), f"{name}: {self.name} y")

    def _frames(self, yi) -> np.ndarray:
        """One track's targets as the engine's rows."""
        raise NotImplementedError

    def flat(self, data):
        lengths = np.array([len(xi) for xi in data.x], dtype=np.int64)
        x = np.concatenate([np.asarray(xi, dtype=np.float32) for xi in data.x], axis=0)
        y = np.concatenate([self._frames(yi) for yi in data.y], axis=0)
        return x, y, lengths

    def row_order(self, data):
        lengths = np.array([len(xi) for xi in data.x], dtype=np.int64)
        return None, np.concatenate([[0], np.cumsum(lengths)])

    def track_targets(self, data):
        return [self._frames(yi) for yi in data.y]

    def split_track_targets(self, y_rows, segments):
        return _split(np.asarray(y_rows), np.diff(segments))

    def track_scores(self, rows, segments):
        return _split(rows, np.diff(segments))

    def predictions(self, rows, data):
        return _split(rows, [len(xi) for xi in data.x])

    def make_data(self, x, y, segments):
        seg = np.asarray(segments)
        return ProbeData(list(np.split(x, seg[1:-1])), list(np.split(y, seg[1:-1])), None)

    def batched_metric(self, segments, y_rows):
        y_frames = y_rows.cpu().numpy()
        return lambda probs: self.frame_metric(probs, y_frames).cpu().numpy()

    def frame_metric(self, probs: torch.Tensor, y_frames: np.ndarray) -> torch.Tensor:
        raise NotImplementedError


def _split(rows: np.ndarray, lengths) -> list[np.ndarray]:
    return np.split(rows, np.cumsum(lengths)[:-1])


# -- value checks shared by the kinds --------------------------------------------------------------------------------
def _check_rows(y: np.ndarray, n_rows: int, name: str, ndim: int, expected: str) -> None:
    if y.ndim != ndim or y.shape[0] != n_rows:
        raise ValueError(f"{name} must be {expected} with n = {n_rows}, got shape {y.shape}")


def _check_width(y: np.ndarray, name: str, n_outputs: int | None) -> None:
    if n_outputs is not None and y.shape[1] != n_outputs:
        raise ValueError(f"{name} has {y.shape[1]} column(s) but the probe has {n_outputs} output(s)")


def _check_unit(y: np.ndarray, name: str) -> None:
    if y.size and not (np.issubdtype(y.dtype, np.number) or y.dtype == bool):
        raise ValueError(f"{name} must be numeric targets in [0, 1], got dtype {y.dtype}")
    if y.size and not ((y >= 0) & (y <= 1)).all():
        raise ValueError(f"{name} must lie in [0, 1], found values in [{np.nanmin(y):g}, {np.nanmax(y):g}]")


def _check_labels(y: np.ndarray, name: str, low: int, n_outputs: int | None) -> None:
    if y.size and not np.issubdtype(y.dtype, np.integer):
        if not np.issubdtype(y.dtype, np.number) or not np.array_equal(y, np.round(y)):
            raise ValueError(f"{name} must be integer class indices, got dtype {y.dtype}")
    if y.size:
        hi = n_outputs if n_outputs is not None else np.inf
        if y.min() < low or y.max() >= hi:
            raise ValueError(f"class labels must lie in [{low}, {n_outputs if n_outputs is not None else 'K'}); "
                             f"{name} has labels in [{int(y.min())}, {int(y.max())}]")


class Multilabel(ClipKind):
    """Multi-hot tags (MTAT): BCE on sigmoid outputs; validation = macro average precision of the track means."""

    name, validation, expected = "multilabel", "pr_auc_macro", "(n, K) multi-hot"

    loss = staticmethod(bce_loss)
    activation = staticmethod(torch.sigmoid)

    def check_targets(self, y, n_rows, name="y", n_outputs=None):
        y = np.asarray(y)
        _check_rows(y, n_rows, name, 2, self.expected)
        _check_width(y, name, n_outputs)
        _check_unit(y, name)

    def check_validation_targets(self, y_track):
        yt = np.asarray(y_track)
        n_pos = yt.sum(axis=0)
        if not ((n_pos > 0) & (n_pos < len(yt))).any():
            raise ValueError("validation split has no tag with both positive and negative tracks: PR-AUC undefined")

    def track_metric(self, track_scores, y_track):
        return bm.pr_auc_macro(track_scores, y_track)

    def reference_metric(self, y_true, y_score):
        from .metrics import pr_auc_macro

        return pr_auc_macro(y_true, y_score)


class Multiclass(ClipKind):
    """One class per track (NSynth pitch, key): cross-entropy on softmax outputs; validation = accuracy of the
    argmax of the track-mean softmax (ties → lowest index)."""

    name, validation, expected = "multiclass", "accuracy", "(n,) int class indices"
    target_dtype = torch.long
    low = 0

    loss = staticmethod(ce_loss)
    activation = staticmethod(_softmax)

    def check_targets(self, y, n_rows, name="y", n_outputs=None):
        y = np.asarray(y)
        _check_rows(y, n_rows, name, 1, self.expected)
        _check_labels(y, name, self.low, n_outputs)

    def n_outputs(self, y_train, y_valid, n_classes=None):
        n_out = int(n_classes) if n_classes is not None else int(max(y_train.max(), y_valid.max())) + 1
        for y, split in ((y_train, "train"), (y_valid, "valid")):
            _check_labels(np.asarray(y), f"{split} labels", self.low, n_out)
        return n_out

    def track_metric(self, track_scores, y_track):
        return bm.accuracy(track_scores, y_track)

    def reference_metric(self, y_true, y_score):
        return float(np.mean(np.asarray(y_score).argmax(axis=1) == np.asarray(y_true)))


class Regression(ClipKind):
    """Real-valued outputs (e.g. EmoMusic arousal / valence): MSE on identity outputs; a track's prediction is the
    mean of its chunks' outputs; validation = the coefficient of determination R² of the track predictions, the
    unweighted mean over outputs (``sklearn.metrics.r2_score(multioutput="uniform_average")``; an output whose
    targets are constant scores 1 when predicted exactly, else 0, as scikit-learn's ``force_finite``). R² rather
    than −MSE: it is scale-free, so one number reads the same for targets in [-1, 1] or [1, 9]."""

    name, validation, expected = "regression", "r2", "(n, K) real-valued"

    loss = staticmethod(mse_loss)
    activation = staticmethod(_identity)

    def check_targets(self, y, n_rows, name="y", n_outputs=None):
        y = np.asarray(y)
        _check_rows(y, n_rows, name, 2, self.expected)
        _check_width(y, name, n_outputs)
        if y.size and not np.issubdtype(y.dtype, np.number):
            raise ValueError(f"{name} must be real-valued, got dtype {y.dtype}")
        if y.size and not np.isfinite(y).all():
            raise ValueError(f"{name} must be finite; found {int((~np.isfinite(y)).sum())} NaN / inf value(s)")

    def track_metric(self, track_scores, y_track):
        return r2_uniform(track_scores, y_track)

    def reference_metric(self, y_true, y_score):
        from sklearn.metrics import r2_score

        return float(r2_score(np.asarray(y_true, dtype=np.float64), np.asarray(y_score, dtype=np.float64),
                              multioutput="uniform_average"))


def r2_uniform(track_scores: torch.Tensor, y_track) -> torch.Tensor:
    """Per probe, R² of ``(P, T, K)`` predictions against ``(T, K)`` targets, mean over the K outputs (see
    :class:`Regression`) → ``(P,)`` float64."""
    y = torch.as_tensor(np.asarray(y_track), dtype=torch.float64, device=track_scores.device)
    s = track_scores.to(torch.float64)
    ss_res = ((s - y[None]) ** 2).sum(dim=1)                                    # (P, K)
    ss_tot = ((y - y.mean(dim=0, keepdim=True)) ** 2).sum(dim=0)[None]           # (1, K)
    r2 = 1.0 - ss_res / torch.where(ss_tot > 0, ss_tot, torch.ones_like(ss_tot))
    const = (ss_tot == 0).expand_as(r2)
    r2 = torch.where(const, (ss_res == 0).to(torch.float64), r2)
    return r2.mean(dim=1)


class Ordinal(ClipKind):
    """Ordinal grades (performance difficulty, :mod:`probes.ordinal`): ``G - 1`` sigmoid outputs with targets
    ``[grade > k]``, BCE; a track's outputs are the mean of its chunks' sigmoids, decoded as the count of leading
    outputs above 0.5; validation = macro-MSE of the decoded grades (lower is better; the batched default returns
    it negated). The true grade of a target row is its number of ones."""

    name, validation, expected = "ordinal", "mse_macro", "(n, G - 1) ordinal [grade > k]"
    validation_lower_is_better = True

    loss = staticmethod(bce_loss)
    activation = staticmethod(torch.sigmoid)

    def check_targets(self, y, n_rows, name="y", n_outputs=None):
        y = np.asarray(y)
        _check_rows(y, n_rows, name, 2, self.expected)
        _check_width(y, name, n_outputs)
        if y.size and not np.isin(y, (0, 1)).all():
            raise ValueError(f"{name} must be 0/1 ordinal targets [grade > k], found values "
                             f"{np.unique(y[~np.isin(y, (0, 1))])[:5].tolist()}")
        if y.size and (np.diff(y, axis=1) > 0).any():
            row = int(np.flatnonzero((np.diff(y, axis=1) > 0).any(axis=1))[0])
            raise ValueError(f"{name} row {row} is not ordinal ([grade > k] must be ones then zeros): "
                             f"{np.asarray(y[row]).astype(int).tolist()}")

    def batched_metric(self, segments, y_rows):
        from .ordinal import BatchedMacroMSE

        grades = self.split_track_targets(y_rows.cpu().numpy(), segments).sum(axis=1)
        m = BatchedMacroMSE(segments, grades)
        return lambda probs: -np.asarray(m(probs))

    def reference_metric(self, y_true, y_score):
        from .ordinal import decode, mse_macro

        return -mse_macro(np.asarray(y_true).sum(axis=1), decode(y_score))


class Framewise(FrameKind):
    """Frame activations in [0, 1] (beats, downbeats): BCE on sigmoid outputs; validation (when the task gives
    none) = macro average precision over the C outputs of all frames pooled, positives = frames whose target is 1."""

    name, validation, expected = "framewise", "frame_average_precision", "(T, C) frame targets in [0, 1]"

    loss = staticmethod(bce_loss)
    activation = staticmethod(torch.sigmoid)

    def _frames(self, yi):
        return _as_2d(np.asarray(yi, dtype=np.float32))

    def check_targets(self, y, n_rows, name="y", n_outputs=None):
        y = np.asarray(y)
        _check_rows(y, n_rows, name, 2, self.expected)
        _check_width(y, name, n_outputs)
        _check_unit(y, name)

    def frame_metric(self, probs, y_frames):
        return bm.frame_average_precision(probs, y_frames)

    def reference_metric(self, y_true, y_score):
        from sklearn.metrics import average_precision_score

        t = np.concatenate([np.asarray(y).reshape(len(y), -1) for y in y_true]) >= 1.0
        s = np.concatenate([np.asarray(p).reshape(len(p), -1) for p in y_score])
        aps = [average_precision_score(t[:, c], s[:, c]) for c in range(t.shape[1]) if 0 < t[:, c].sum() < len(t)]
        return float(np.mean(aps)) if aps else float("nan")


class FramewiseMulticlass(FrameKind):
    """One class per frame (chords, structure), -1 = ignored (no loss, not scored): cross-entropy on softmax
    outputs; validation = accuracy of the frame argmax over the frames whose label is not -1."""

    name, validation, expected = "framewise-multiclass", "frame_accuracy", "(T,) int class per frame, -1 ignored"
    target_dtype = torch.long
    target_ndims, target_shape = (1,), "(T,)"
    low = -1

    loss = staticmethod(ce_loss)
    activation = staticmethod(_softmax)

    def _frames(self, yi):
        return np.asarray(yi, dtype=np.int64).reshape(-1)

    def check_targets(self, y, n_rows, name="y", n_outputs=None):
        y = np.asarray(y)
        _check_rows(y, n_rows, name, 1, self.expected)
        _check_labels(y, name, self.low, n_outputs)

    n_outputs = Multiclass.n_outputs

    def frame_metric(self, probs, y_frames):
        return bm.frame_accuracy(probs, y_frames)

    def reference_metric(self, y_true, y_score):
        t = np.concatenate([np.asarray(y).reshape(-1) for y in y_true])
        s = np.concatenate([np.asarray(p) for p in y_score])
        keep = t >= 0
        return float(np.mean(s[keep].argmax(axis=1) == t[keep])) if keep.any() else float("nan")


MULTILABEL, MULTICLASS, REGRESSION = Multilabel(), Multiclass(), Regression()
ORDINAL, FRAMEWISE, FRAMEWISE_MULTICLASS = Ordinal(), Framewise(), FramewiseMulticlass()

#: Every kind by name.
KINDS: dict[str, ProbeKind] = {k.name: k for k in (MULTILABEL, MULTICLASS, REGRESSION, ORDINAL, FRAMEWISE,
                                                   FRAMEWISE_MULTICLASS)}


def get_kind(kind: "str | ProbeKind") -> ProbeKind:
    """The kind object of ``kind`` (a :class:`ProbeKind` is returned as is; a name is looked up in :data:`KINDS`)."""
    if isinstance(kind, ProbeKind):
        return kind
    try:
        return KINDS[kind]
    except (KeyError, TypeError):
        raise ValueError(f"unknown probe kind {kind!r}; expected one of {tuple(KINDS)}") from None
