"""Performance difficulty (``difficulty``, ``synth-difficulty``): PianoSyllabus grades 0–10 with a track-level ordinal
probe on 30 s chunks (the ``ordinal`` kind of :mod:`probes.kinds`: 10 "grade above k?" outputs; a track's outputs are
the mean of its chunks'), scored by macro-MSE (the tables' "Difficulty MSE"; lower is better; also the kind's
validation metric), balanced accuracy and Kendall τ (:mod:`probes.ordinal`).

Data: ``metadata.csv`` (id, grade, optional split) + ``audio/<id>.<ext>`` (:mod:`benchmarks.datasets.difficulty`;
the public package's own layout is not confirmed). 5-fold cross-validation by piece unless a split is given.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from benchmarks.datasets.difficulty import LAYOUT, N_GRADES, load_pianosyllabus
from benchmarks.extract import Frontend
from probes.kinds import ORDINAL
from probes.ordinal import decode, difficulty_metrics, ordinal_targets

from .base import ClipTask, Metric, Prepared

MSE = Metric("mse_macro", "MSE", lower_is_better=True)


@dataclass(frozen=True)
class DifficultyTask(ClipTask):
    def load(self, data_dir: Path, **_) -> Prepared:
        return Prepared(self, load_pianosyllabus(data_dir),
                        options={"grades": N_GRADES, "probe_targets": "ordinal: [grade > k], k = 0..9",
                                 "decoding": "count of leading outputs > 0.5 (PSyllabus prediction2label)"})

    def n_outputs(self, prep) -> int:
        return N_GRADES - 1

    def label(self, prep, example):
        return ordinal_targets(example.target)

    def evaluate(self, prep, fitted, data, examples, eps) -> dict:
        true, pred = np.array([e.target for e in examples], dtype=np.int64), decode(fitted.predict(data))
        return {**difficulty_metrics(true, pred), "_tracks": {"corpus.true": true, "corpus.pred": pred}}

    def corpus_metrics(self, true, pred, wanted=None) -> dict:
        return difficulty_metrics(true, pred)


def difficulty_task(name: str, synth_set: str | None = None) -> DifficultyTask:
    what = "piano performance difficulty (PianoSyllabus, 11 grades)" if synth_set is None else \
        "synthesised difficulty set (piano pieces of controlled density and tempo)"
    return DifficultyTask(name=name, description=f"{what}: ordinal probe; macro-MSE (lower is better), balanced "
                                                 "accuracy, Kendall tau",
                          layout=LAYOUT, data_subdir="pianosyllabus", frontend=Frontend("clip", 30.0),
                          kind=ORDINAL, primary=MSE, validation=MSE, synth_set=synth_set,
                          shown=("balanced_accuracy", "kendall_tau"), cv_folds=5)


TASKS = [difficulty_task("difficulty"), difficulty_task("synth-difficulty", synth_set="difficulty")]
