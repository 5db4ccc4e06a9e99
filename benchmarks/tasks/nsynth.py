"""NSynth pitch (128 MIDI classes) and instrument family (11 classes): 4 s notes, multi-class probe, accuracy."""
from __future__ import annotations

from pathlib import Path

from benchmarks.datasets import load_nsynth, stratified_subset
from benchmarks.extract import Frontend
from probes.metrics import classification_metrics, pitch_metrics

from .base import ClipTask

LAYOUT = ("nsynth-train/, nsynth-valid/, nsynth-test/, each with examples.json (keyed by note_str) and "
          "audio/<note_str>.wav (16 kHz, 4 s)")


class NSynthTask(ClipTask):
    """``target`` = ``"pitch"`` (label = MIDI pitch, 128 classes) or ``"instrument_family"`` (11 families)."""

    def __init__(self, target: str, name: str, synth_set: str | None = None):
        self.target = target
        what = "pitch (128 MIDI classes; accuracy, accuracy_88, chroma_accuracy)" if target == "pitch" else \
            "instrument family (11 classes; accuracy)"
        super().__init__(
            name=name, kind="multiclass", frontend=Frontend("clip", 4.0),
            description=("NSynth " if synth_set is None else "synthesised NSynth-layout set: ") + what,
            validation_metric="accuracy", primary_metric="accuracy", data_subdir="nsynth", layout=LAYOUT,
            synth_set=synth_set, options={"label": target})

    @property
    def n_classes(self) -> int:
        return 128 if self.target == "pitch" else 11

    def load(self, data_dir: Path, train_subset: int | None = None, seed: int = 0, **_):
        index = load_nsynth(data_dir)
        if train_subset:
            train = stratified_subset(index.split("train"), int(train_subset), key=self.target, seed=seed)
            keep = {e.id for e in train}
            index.examples = [e for e in index.examples if e.split != "train" or e.id in keep]
            index.info["train_subset"] = {"n": int(train_subset), "stratified_by": self.target, "seed": seed}
            self.options["train_subset"] = int(train_subset)
        return index

    def label(self, example):
        return int(example.target[self.target])

    def fit_options(self, index) -> dict:
        return {"n_classes": self.n_classes}

    def evaluate(self, fitted, data, examples, encoder, index) -> dict:
        y_true, scores = self.scores(fitted, data)
        if self.target == "pitch":
            return pitch_metrics(y_true, scores)
        return classification_metrics(y_true, scores)
