"""What a task is: a frozen spec (everything about the task, in one place) and the steps that use it.

A task owns its name, description, data layout and folder, reader, frontend (how audio becomes cached vectors),
probe kind, metrics (the primary one the tables show, the validation one the sweep maximises, and whether lower is
better) and its synthesised set. The runner, the CLI, ``reproduce``, the tables and the plots ask the task; nothing
about a task is written anywhere else.

The steps, each a method of the frozen :class:`Task`, never mutating it:

1. :meth:`Task.load` reads the data folder (the task's reader) and returns a :class:`Prepared`: the index, the
   resolved options and the derived flags. Every later step takes the ``Prepared``, so nothing depends on call order.
2. :meth:`Task.folds` — the folds the reader assigned (``info["cv_folds"]``), the dataset's split as one fold, or seeded
   k-fold cross-validation by track.
3. :meth:`Task.targets` — the probe targets of a list of examples, one row per cached vector, and the track offsets.
4. :meth:`Task.val_metric` — the validation metric of all probes at once (:mod:`probes.batched_metrics`).
5. :meth:`Task.evaluate` — the test metrics of the chosen probe (a dict holding at least the primary metric).
6. :meth:`Task.protocol` — what the record states about the protocol.
7. :meth:`Task.resample_metrics` — the test metrics recomputed on resamples of the test tracks (bootstrap intervals
   and paired tests, :mod:`benchmarks.stats`), from the per-track arrays ``evaluate`` returns under ``"_tracks"``
   (corpus-level metrics: one :meth:`Task.corpus_metrics` call per resample, or all resamples at once where the task
   overrides :meth:`Task.corpus_resamples`).

Per-track arrays (``evaluate(...)["_tracks"]``, stored in the record's sidecar, :mod:`benchmarks.sidecar`): every
array has one row per test track, in the order of the test examples; its name says how the metric is rebuilt:

- ``mean.<metric>``: the track's own value of a metric that is a mean over tracks (NaN = the track does not count,
  as the metric itself skips it): the metric = ``nanmean`` over the tracks;
- ``num.<metric>`` / ``den.<metric>``: a pooled (corpus) ratio: the metric = ``sum(num) / sum(den)``;
- ``corpus.<name>``: the inputs of a corpus-level metric (targets, scores): the metric = the task's
  :meth:`Task.corpus_metrics` of those rows (the same mir_eval / scikit-learn function ``evaluate`` uses).

A task names its probe kind as an object of :mod:`probes.kinds` (or its registry name, resolved on construction):
the kind owns the loss, output activation, target checks, track aggregation, default validation metric and default
schedule, so a task only says which kind its targets are. A task whose :meth:`Task.val_metric` returns None is
validated by its kind's default metric (``kind.validation`` must then be the task's ``validation.key``).

Options of the load step belong to the task that uses them: :attr:`Task.load_options` declares them
(:class:`TaskOption`), :meth:`Task.parse_options` checks what a run was given, and the CLI derives the flags
(``--train-subset``, ``--split``, …) and their help from these declarations.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from benchmarks.datasets import DatasetIndex, Example, kfold_assignments
from benchmarks.extract import Frontend
from probes.data import ProbeData
from probes.kinds import ProbeKind, get_kind
from omar_rq.errors import UserError

__all__ = ["Metric", "ACCURACY", "Fold", "Prepared", "Task", "ClipTask", "SingleLabelTask", "FrameTask",
           "TooFewTracks", "EmptySplit", "row_segments", "TaskOption"]


class TooFewTracks(UserError, ValueError):
    """The dataset has too few usable tracks for the task's cross-validation (a user error: a one-line message)."""


class EmptySplit(UserError, ValueError):
    """A split the task needs is empty (a user error: a one-line message)."""


@dataclass(frozen=True)
class Metric:
    """A metric of a task: the record key, a short label for tables, and its direction."""

    key: str
    label: str = ""
    lower_is_better: bool = False

    def oriented(self, value: float) -> float:
        """``value`` made larger-is-better (negated when lower is better)."""
        return -value if self.lower_is_better else value

    def describe(self) -> dict:
        return {"name": self.key, "lower_is_better": self.lower_is_better}


#: The single-label tasks' metric (primary and validation): the fraction of test tracks whose argmax is the label.
ACCURACY = Metric("accuracy", "acc.")


@dataclass(frozen=True)
class TaskOption:
    """An option of a task's load step: ``name`` is the keyword :meth:`Task.load` takes (and the key of
    ``RunOptions.task_options``), ``flag`` the CLI spelling (``--train-subset``); ``type`` converts a CLI string,
    ``choices`` limits the values."""

    name: str
    help: str
    type: Callable = str
    choices: tuple | None = None

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")


@dataclass(frozen=True)
class Fold:
    """One train / valid / test partition (a dataset split, or one fold of a cross-validation)."""

    name: str
    train: tuple[Example, ...]
    valid: tuple[Example, ...]
    test: tuple[Example, ...]


@dataclass(frozen=True)
class Prepared:
    """A loaded task: the index, the options it was loaded with (recorded), derived flags (e.g. downbeats)."""

    task: "Task"
    index: DatasetIndex
    options: Mapping[str, Any] = field(default_factory=dict)
    flags: Mapping[str, Any] = field(default_factory=dict)

    def restricted(self, ids) -> "Prepared":
        """The same task on the examples whose id is in ``ids`` (e.g. the files that could be decoded)."""
        keep = set(ids)
        index = dataclasses.replace(self.index, examples=[e for e in self.index.examples if e.id in keep])
        return dataclasses.replace(self, index=index)


def row_segments(counts) -> np.ndarray:
    """Track offsets ``(T + 1,)`` from the number of rows of each track."""
    return np.concatenate([[0], np.cumsum(np.asarray(counts, dtype=np.int64))]).astype(np.int64)


@dataclass(frozen=True)
class Task:
    """The frozen spec of a task (see the module docstring). Subclasses implement :meth:`load`, :meth:`targets`
    and :meth:`evaluate` (and, as needed, :meth:`folds`, :meth:`val_metric`, :meth:`n_outputs`)."""

    name: str
    description: str
    layout: str                 # what the data folder must hold (errors, `omar-bench tasks`)
    data_subdir: str            # folder under $OMAR_BENCH_DATA
    frontend: Frontend
    kind: ProbeKind             # probe kind (probes.kinds; a registry name is resolved on construction)
    primary: Metric             # the number tables show
    validation: Metric          # what early stopping and the sweep maximise
    synth_set: str | None = None
    shown: tuple[str, ...] = ()         # metrics a run summary prints, after the primary one
    cv_folds: int = 8                   # k of the cross-validation used when the dataset has no split
    options: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    load_options: tuple[TaskOption, ...] = ()   # what :meth:`load` accepts beyond the data folder and the seed

    def __post_init__(self):
        object.__setattr__(self, "kind", get_kind(self.kind))

    # a task travels to worker processes (benchmarks.postprocess); its read-only options do not pickle as they are
    def __getstate__(self) -> dict:
        return {**self.__dict__, "options": dict(self.options)}

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update({**state, "options": MappingProxyType(dict(state["options"]))})

    def parse_options(self, given: Mapping[str, Any] | None) -> dict:
        """The load options of a run, checked against :attr:`load_options` (None values dropped; CLI strings
        converted): a name the task does not declare, or a value outside its choices, is a one-line
        :class:`benchmarks.errors.UsageError`."""
        from benchmarks.errors import UsageError

        known = {o.name: o for o in self.load_options}
        out = {}
        for name, value in (given or {}).items():
            if value is None:
                continue
            opt = known.get(name)
            if opt is None:
                takes = ", ".join(o.flag for o in self.load_options) or "no options"
                raise UsageError(f"task {self.name} does not take --{name.replace('_', '-')} (it takes {takes})")
            try:
                value = opt.type(value)
            except (TypeError, ValueError):
                raise UsageError(f"{opt.flag} {value!r}: expected {getattr(opt.type, '__name__', opt.type)}") \
                    from None
            if opt.choices is not None and value not in opt.choices:
                raise UsageError(f"{opt.flag} {value!r}: task {self.name} takes one of {', '.join(opt.choices)}")
            out[name] = value
        return out

    # -- data ----------------------------------------------------------------------------------------------------
    def load(self, data_dir: Path, seed: int = 0, **opts) -> Prepared:
        """Read the data folder; ``opts`` are the task's :attr:`load_options` (checked by :meth:`parse_options`)."""
        raise NotImplementedError

    def folds(self, prep: Prepared, seed: int = 0) -> list[Fold]:
        """The folds the reader assigned (``index.info["cv_folds"]``, see :meth:`given_folds`); else the dataset's own
        split as one fold; without one (``split_name == "none"``), ``cv_folds``-fold cross-validation by track (fold
        f tests, fold f + 1 validates, the rest trains)."""
        index = prep.index
        given = index.info.get("cv_folds")
        if given:
            return self.given_folds(index, given)
        if index.split_name == "none":
            return self.cross_validation(index, seed)
        parts = {s: tuple(index.split(s)) for s in ("train", "valid", "test")}
        empty = [s for s, exs in parts.items() if not exs]
        if empty:
            raise EmptySplit(f"{index.name} at {index.root}: no usable examples in split(s) {', '.join(empty)} "
                             f"({', '.join(f'{k}: {len(v)}' for k, v in parts.items())})")
        return [Fold(index.split_name or "split", parts["train"], parts["valid"], parts["test"])]

    def cross_validation(self, index: DatasetIndex, seed: int) -> list[Fold]:
        n = len(index.examples)
        k = min(self.cv_folds, n)
        if k < 3:
            raise TooFewTracks(f"{index.name} at {index.root}: {n} usable track(s) are too few for "
                               f"cross-validation (need at least 3; {self.cv_folds} or more for {self.cv_folds} "
                               "folds)")
        fold_of = kfold_assignments([e.id for e in index.examples], k=k, seed=seed)
        folds = []
        for f in range(k):
            test = tuple(e for e in index.examples if fold_of[e.id] == f)
            valid = tuple(e for e in index.examples if fold_of[e.id] == (f + 1) % k)
            train = tuple(e for e in index.examples if fold_of[e.id] not in (f, (f + 1) % k))
            folds.append(Fold(f"fold{f}", train, valid, test))
        return folds

    def given_folds(self, index: DatasetIndex, fold_of: Mapping[str, int]) -> list[Fold]:
        """Cross-validation over the folds the reader assigned (``index.info["cv_folds"]``, ``{id: fold}``, folds
        ``0..k-1``): fold f tests, fold f + 1 (mod k) validates, the rest trains. Examples without a fold are left
        out; folds left empty (e.g. by skipped files) are dropped from the numbering."""
        ks = sorted({int(fold_of[e.id]) for e in index.examples if e.id in fold_of})
        if len(ks) < 3:
            raise TooFewTracks(f"{index.name} at {index.root}: the reader's folds leave {len(ks)} non-empty "
                               "fold(s); cross-validation needs at least 3")
        pos = {k: i for i, k in enumerate(ks)}
        of = {e.id: pos[int(fold_of[e.id])] for e in index.examples if e.id in fold_of}
        k, folds = len(ks), []
        for f in range(k):
            test = tuple(e for e in index.examples if of.get(e.id) == f)
            valid = tuple(e for e in index.examples if of.get(e.id) == (f + 1) % k)
            train = tuple(e for e in index.examples if e.id in of and of[e.id] not in (f, (f + 1) % k))
            folds.append(Fold(f"fold{ks[f]}", train, valid, test))
        return folds

    def cv_description(self, prep: Prepared, seed: int) -> dict | None:
        given = prep.index.info.get("cv_folds")
        if given:
            ks = sorted({int(v) for v in given.values()})
            return {"k": len(ks), "folds": "given by the reader (dataset.info.cv_folds)",
                    "seed": prep.index.info.get("cv_seed", seed), "valid_fold": "f + 1 (mod k)",
                    "stratified_by": prep.index.info.get("stratified_by"), "by": "track"}
        if prep.index.split_name != "none":
            return None
        return {"k": min(self.cv_folds, len(prep.index.examples)), "seed": seed, "valid_fold": "f + 1 (mod k)",
                "by": "track"}

    # -- probe inputs and scores -----------------------------------------------------------------------------------
    def n_outputs(self, prep: Prepared) -> int:
        raise NotImplementedError

    def targets(self, prep: Prepared, examples: Sequence[Example], counts: np.ndarray,
                eps: float) -> tuple[np.ndarray, np.ndarray]:
        """``(y, segments)``: targets of every row (``counts[i]`` rows per example, in order) and track offsets."""
        raise NotImplementedError

    def val_metric(self, prep: Prepared, examples: Sequence[Example], counts: np.ndarray,
                   eps: float) -> Callable | None:
        """The validation metric as a batched callable ``probs (P, N, K) → (P,)`` in the metric's own orientation,
        or None for the probe kind's default (which must then be the task's validation metric)."""
        return None

    def probe_data(self, prep: Prepared, examples: Sequence[Example], x: np.ndarray, counts: np.ndarray,
                   eps: float) -> ProbeData:
        """The :class:`probes.data.ProbeData` of ``examples`` from their rows ``x`` (for :meth:`evaluate`)."""
        y, seg = self.targets(prep, examples, counts, eps)
        return self.kind.make_data(x, y, seg)

    def evaluate(self, prep: Prepared, fitted, data: ProbeData, examples: Sequence[Example], eps: float) -> dict:
        raise NotImplementedError

    def corpus_metrics(self, wanted=None, **arrays: np.ndarray) -> dict:
        """The corpus-level test metrics of some test tracks, from the rows of the ``corpus.*`` arrays of
        ``evaluate``'s ``"_tracks"`` (keyword = the name after ``corpus.``); ``wanted`` (a set of metric names, or
        None for all) lets a task skip metrics nobody asked for. Tasks that store such arrays override it."""
        raise NotImplementedError(f"{self.name} stores no corpus-level per-track arrays")

    def corpus_resamples(self, corpus: Mapping[str, np.ndarray], idx: np.ndarray, wanted=None) -> dict | None:
        """The corpus-level metrics of every resample at once, ``{metric: (B,) float64}``, from the ``corpus.*``
        arrays (keyed by the name after ``corpus.``) and the ``(B, n)`` row indices ``idx``; each value must equal
        :meth:`corpus_metrics` of the resampled rows. None (the default): :meth:`resample_metrics` calls
        :meth:`corpus_metrics` once per resample. Tasks whose metrics can be vectorised over resamples override it."""
        return None

    def resample_metrics(self, tracks: Mapping[str, np.ndarray], idx: np.ndarray,
                         wanted=None) -> dict[str, np.ndarray]:
        """Every metric the per-track arrays ``tracks`` determine (or those of the set ``wanted`` when given), on
        each resample of the tracks: ``idx`` is ``(B, n)`` row indices into the arrays (``np.arange(n)[None]``
        gives the metrics of the test set itself); returns ``{metric: (B,) float64}`` (see the module docstring
        for the array names)."""
        import warnings

        idx = np.atleast_2d(np.asarray(idx, dtype=np.int64))
        out: dict[str, np.ndarray] = {}
        with warnings.catch_warnings(), np.errstate(invalid="ignore", divide="ignore"):
            warnings.simplefilter("ignore", RuntimeWarning)   # a resample where no track counts: NaN
            for key, values in tracks.items():
                kind, _, name = key.partition(".")
                if wanted is not None and name not in wanted:
                    continue
                if kind == "mean":
                    out[name] = np.nanmean(np.asarray(values, dtype=np.float64)[idx], axis=1)
                elif kind == "num":
                    num = np.asarray(values, dtype=np.float64)[idx].sum(axis=1)
                    out[name] = num / np.asarray(tracks[f"den.{name}"], dtype=np.float64)[idx].sum(axis=1)
        corpus = {k.partition(".")[2]: np.asarray(v) for k, v in tracks.items() if k.startswith("corpus.")}
        together = self.corpus_resamples(corpus, idx, wanted) if corpus else None
        if together is not None:
            out.update(together)
        elif corpus:
            import sklearn

            # the inputs were checked by the run; scikit-learn's per-call validation would dominate 1000 resamples
            with sklearn.config_context(skip_parameter_validation=True, assume_finite=True), \
                    warnings.catch_warnings(), np.errstate(invalid="ignore", divide="ignore"):
                # a resample may lack a class the predictions have (balanced accuracy warns), or be constant
                warnings.simplefilter("ignore", UserWarning)
                warnings.simplefilter("ignore", RuntimeWarning)
                rows = [self.corpus_metrics(wanted=wanted, **{k: v[i] for k, v in corpus.items()}) for i in idx]
            for key in rows[0]:
                if all(isinstance(r.get(key), (float, int, np.floating)) and not isinstance(r.get(key), bool)
                       for r in rows) and not key.startswith("n_") and (wanted is None or key in wanted):
                    out[key] = np.array([float(r[key]) for r in rows])
        return out

    def protocol(self, prep: Prepared) -> dict:
        return {"frontend": self.frontend.describe(), "probe_kind": self.kind.name,
                "validation_metric": self.validation.key, "primary_metric": self.primary.describe(),
                **dict(self.options), **dict(prep.options)}


@dataclass(frozen=True)
class ClipTask(Task):
    """Clip-level tasks: chunk vectors in, track-level scores (mean of chunk predictions) out."""

    def label(self, prep: Prepared, example: Example):
        raise NotImplementedError

    def targets(self, prep, examples, counts, eps):
        labels = np.stack([np.asarray(self.label(prep, e)) for e in examples]) if len(examples) else np.zeros(0)
        return np.repeat(labels, counts, axis=0), row_segments(counts)


@dataclass(frozen=True)
class SingleLabelTask(ClipTask):
    """Clip tasks whose label is one class id (:meth:`ClipTask.label`): the test metric is accuracy
    (:func:`probes.metrics.classification_metrics`, argmax of the track's mean class probabilities), and the per-track
    arrays for intervals are the labels and scores (``corpus.*``)."""

    def evaluate(self, prep, fitted, data, examples, eps) -> dict:
        y_true = np.asarray([self.label(prep, e) for e in examples], dtype=np.int64)
        scores = fitted.predict(data)
        return {**self.corpus_metrics(y_true=y_true, scores=scores),
                "_tracks": {"corpus.y_true": y_true, "corpus.scores": scores}}

    def corpus_metrics(self, wanted=None, *, y_true, scores) -> dict:
        from probes.metrics import classification_metrics

        return classification_metrics(y_true, scores)


@dataclass(frozen=True)
class FrameTask(Task):
    """Frame-level tasks: one row per embedding frame at the encoder's rate ``eps``; ``frame_targets`` gives the
    ``(T,)`` or ``(T, C)`` targets of one track."""

    def frame_targets(self, prep: Prepared, example: Example, n_frames: int, eps: float) -> np.ndarray:
        raise NotImplementedError

    def evaluate(self, prep, fitted, data, examples, eps) -> dict:
        return self.decode(prep, fitted.predict(data), data.y, examples, eps)

    def decode(self, prep: Prepared, acts: list[np.ndarray], y: list[np.ndarray], examples: Sequence[Example],
               eps: float) -> dict:
        """The test metrics (as :meth:`evaluate` returns them) from the probe's per-track activations ``acts``
        (``(T, K)`` each, at ``eps``) and frame targets ``y``: the task's post-processing (beat tracking, segment
        decoding) and scoring. It needs no torch and no embeddings, so the runner may run it in a worker process
        while the next fold trains (:mod:`benchmarks.postprocess`)."""
        raise NotImplementedError

    def targets(self, prep, examples, counts, eps):
        ys = [self.frame_targets(prep, e, int(n), eps) for e, n in zip(examples, counts)]
        if not ys:
            return np.zeros(0), row_segments([])
        return np.concatenate(ys, axis=0), row_segments(counts)
