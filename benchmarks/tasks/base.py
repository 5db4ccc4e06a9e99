"""What every task shares: the split into folds, building probe inputs from cached embeddings, clip-level scoring.

A task knows its dataset's layout (a reader of :mod:`benchmarks.datasets`), its probe kind, its frontend (chunking)
and its metrics. The runner asks it for folds, for :class:`probes.data.ProbeData` per fold and layer, and for the
test metrics of a fitted probe.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from benchmarks.datasets import DatasetIndex, Example
from benchmarks.extract import Extraction, Frontend
from probes.data import ProbeData, track_targets


@dataclass
class Fold:
    """One train / valid / test partition (a dataset split, or one fold of a cross-validation)."""

    name: str
    train: list[Example]
    valid: list[Example]
    test: list[Example]


@dataclass
class Task:
    """Base of the tasks. Subclasses implement :meth:`load`, :meth:`build` and :meth:`evaluate`."""

    name: str
    description: str
    kind: str                  # probe kind: "multilabel" | "multiclass" | "framewise"
    frontend: Frontend
    validation_metric: str     # name of the metric early stopping and the sweep maximise
    primary_metric: str        # the number tables show
    data_subdir: str           # folder under $OMAR_BENCH_DATA
    layout: str                # what the data folder must hold (for errors and `omar-bench tasks`)
    synth_set: str | None = None   # synthesised set it runs on (synth-* tasks)
    options: dict = field(default_factory=dict)

    # -- data ------------------------------------------------------------------------------------------------
    def load(self, data_dir: Path, **opts) -> DatasetIndex:
        raise NotImplementedError

    def folds(self, index: DatasetIndex, seed: int = 0) -> list[Fold]:
        """The dataset's own split as one fold (subclasses without a split do cross-validation)."""
        parts = {s: index.split(s) for s in ("train", "valid", "test")}
        empty = [s for s, exs in parts.items() if not exs]
        if empty:
            raise ValueError(f"{index.name} at {index.root}: no examples in split(s) {', '.join(empty)}")
        return [Fold(index.split_name or "split", parts["train"], parts["valid"], parts["test"])]

    # -- probe inputs and scores ---------------------------------------------------------------------------
    def build(self, examples: list[Example], extraction: Extraction, layer: int, encoder) -> ProbeData:
        raise NotImplementedError

    def val_metric(self, examples: list[Example], encoder) -> Callable | None:
        """Validation metric given to the probe (None = the probe kind's default)."""
        return None

    def fit_options(self, index: DatasetIndex) -> dict:
        return {}

    def evaluate(self, fitted, data: ProbeData, examples: list[Example], encoder, index: DatasetIndex) -> dict:
        raise NotImplementedError

    def protocol(self) -> dict:
        return {"frontend": self.frontend.describe(), "probe_kind": self.kind,
                "validation_metric": self.validation_metric, **self.options}


class ClipTask(Task):
    """Clip-level tasks: chunk vectors in, track-level scores (mean of chunk predictions) out."""

    def label(self, example: Example):
        raise NotImplementedError

    def build(self, examples, extraction, layer, encoder) -> ProbeData:
        xs, ys, groups = [], [], []
        for i, ex in enumerate(examples):
            arr = extraction.read(ex.id, layer)  # (n_chunks, C)
            xs.append(arr)
            y = self.label(ex)
            ys.append(np.repeat(np.asarray(y)[None], len(arr), axis=0))
            groups.append(np.full(len(arr), i, dtype=np.int64))
        return ProbeData(np.concatenate(xs).astype(np.float32), np.concatenate(ys), np.concatenate(groups))

    def scores(self, fitted, data: ProbeData) -> tuple[np.ndarray, np.ndarray]:
        return track_targets(self.kind, data), fitted.predict(data)
