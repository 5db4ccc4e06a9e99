"""NSynth pitch (128 MIDI classes) and instrument family (11 classes): 4 s notes, multi-class probe, accuracy."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from benchmarks.datasets import load_nsynth, stratified_subset
from benchmarks.extract import Frontend
from probes.metrics import classification_metrics, pitch_metrics

from probes.kinds import MULTICLASS

from .base import ACCURACY, ClipTask, Prepared, TaskOption

LAYOUT = ("nsynth-train/, nsynth-valid/, nsynth-test/, each with examples.json (keyed by note_str) and "
          "audio/<note_str>.wav (16 kHz, 4 s)")
OPTIONS = (TaskOption("train_subset", "NSynth: stratified subset of N training notes (seeded by --seed), recorded in "
                                      "the result", int),)


@dataclass(frozen=True)
class NSynthTask(ClipTask):
    """``target`` = ``"pitch"`` (label = MIDI pitch, 128 classes) or ``"instrument_family"`` (11 families)."""

    target: str = "pitch"

    def load(self, data_dir: Path, seed: int = 0, train_subset: int | None = None, **_) -> Prepared:
        index = load_nsynth(data_dir)
        options = {"label": self.target}
        if train_subset:
            train = stratified_subset(index.split("train"), int(train_subset), key=self.target, seed=seed)
            keep = {e.id for e in train}
            index.examples = [e for e in index.examples if e.split != "train" or e.id in keep]
            index.info["train_subset"] = {"n": int(train_subset), "stratified_by": self.target, "seed": seed}
            options["train_subset"] = int(train_subset)
        return Prepared(self, index, options=options)

    def n_outputs(self, prep) -> int:
        return 128 if self.target == "pitch" else 11

    def label(self, prep, example):
        return int(example.target[self.target])

    def evaluate(self, prep, fitted, data, examples, eps) -> dict:
        y_true = [self.label(prep, e) for e in examples]
        scores = fitted.predict(data)
        return {**self.corpus_metrics(y_true, scores),
                "_tracks": {"corpus.y_true": np.asarray(y_true, dtype=np.int64), "corpus.scores": scores}}

    def corpus_metrics(self, y_true, scores, wanted=None) -> dict:
        if wanted is not None and set(wanted) <= {"accuracy"}:     # the primary metric alone: one accuracy
            return classification_metrics(y_true, scores)
        return pitch_metrics(y_true, scores) if self.target == "pitch" else classification_metrics(y_true, scores)


def nsynth_task(target: str, name: str, synth_set: str | None = None) -> NSynthTask:
    what = "pitch (128 MIDI classes; accuracy, accuracy_88, chroma_accuracy)" if target == "pitch" else \
        "instrument family (11 classes; accuracy)"
    return NSynthTask(name=name, description=("NSynth " if synth_set is None else
                                              "synthesised NSynth-layout set: ") + what,
                      layout=LAYOUT, data_subdir="nsynth", frontend=Frontend("clip", 4.0), kind=MULTICLASS,
                      primary=ACCURACY, validation=ACCURACY, synth_set=synth_set,
                      shown=("accuracy_88", "chroma_accuracy") if target == "pitch" else (), target=target,
                      load_options=OPTIONS)


TASKS = [nsynth_task("pitch", "nsynth-pitch"), nsynth_task("instrument_family", "nsynth-instrument"),
         nsynth_task("pitch", "synth-nsynth-pitch", synth_set="nsynth"),
         nsynth_task("instrument_family", "synth-nsynth-instrument", synth_set="nsynth")]
