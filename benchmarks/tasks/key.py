"""Key detection (``key``, ``synth-key``): train on GiantSteps MTG Key, test on GiantSteps Key; a clip-level probe over
24 keys on non-overlapping 30 s clips, a track's logits averaged over its clips, scored with
``mir_eval.key.weighted_score`` and accuracy (:mod:`probes.keys`).

Data: both GiantSteps repositories side by side (:mod:`benchmarks.datasets.key`).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from benchmarks.datasets.key import LAYOUT, load_giantsteps
from benchmarks.extract import Frontend
from probes.keys import NAMES, SCORE as KEY_SCORE, BatchedKeyScore, key_index, key_metrics

from probes.kinds import MULTICLASS

from .base import ClipTask, Metric, Prepared, row_segments

SCORE = Metric("weighted_score", "weighted")


@dataclass(frozen=True)
class KeyTask(ClipTask):
    def load(self, data_dir: Path, **_) -> Prepared:
        return Prepared(self, load_giantsteps(data_dir),
                        options={"classes": "24 keys", "train": "GiantSteps MTG Key (confidence 2, single key)",
                                 "test": "GiantSteps Key", "track_prediction": "argmax of the mean clip logits"})

    def n_outputs(self, prep) -> int:
        return len(NAMES)

    def label(self, prep, example):
        return key_index(example.target)

    def val_metric(self, prep, examples, counts, eps):
        return BatchedKeyScore(row_segments(counts), [key_index(e.target) for e in examples])

    def evaluate(self, prep, fitted, data, examples, eps) -> dict:
        logits = fitted.predict(data, output="logits")
        true, pred = np.array([key_index(e.target) for e in examples]), logits.argmax(axis=1)
        return {**key_metrics(true, pred),
                "_tracks": {"mean.weighted_score": KEY_SCORE[true, pred], "mean.accuracy": (true == pred) * 1.0}}


def key_task(name: str, synth_set: str | None = None) -> KeyTask:
    what = "key detection (GiantSteps)" if synth_set is None else \
        "synthesised key set (tonal loops in 24 keys, GiantSteps layouts)"
    return KeyTask(name=name, description=f"{what}: 24-class probe on 30 s clips; mir_eval weighted score, accuracy",
                   layout=LAYOUT, data_subdir="giantsteps", frontend=Frontend("clip", 30.0, overlap=0.0),
                   kind=MULTICLASS, primary=SCORE, validation=SCORE, synth_set=synth_set, shown=("accuracy",))


TASKS = [key_task("key"), key_task("synth-key", synth_set="key")]
