"""MTG-Jamendo auto-tagging (``mtg-top50``, ``mtg-genre``, ``mtg-instrument``, ``mtg-moodtheme`` and their
``synth-`` twins): the split-0 TSVs of each subset (MARBLE's protocol), 30 s chunks, multi-label probe, track-level
macro ROC-AUC (primary, the first number of the MARBLE table) and macro PR-AUC (the validation metric, as MTAT),
with :func:`probes.metrics.tagging_metrics`.

Audio: the full-quality ``NN/<id>.mp3`` or the low-quality ``NN/<id>.low.mp3``, whichever is present, under
``audio/``, ``audio-low/``, … or ``--audio-dir``. Tags without a positive (or a negative) in one of the three splits
are excluded by the reader and reported in the record (``dataset.info.excluded_tags``); a tag without both classes in
the test clips that remain after skipped files is reported in ``metrics.excluded_tags``.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from benchmarks.datasets import load_mtg_jamendo
from benchmarks.extract import Frontend
from probes.kinds import MULTILABEL
from probes.metrics import tagging_metrics

from .base import ClipTask, Metric, Prepared, TaskOption

LAYOUT = ("data/splits/split-0/autotagging_<subset>-{train,validation,test}.tsv (the mtg-jamendo-dataset repository) "
          "and the audio as audio/NN/<id>.mp3 or audio-low/NN/<id>.low.mp3 (or --audio-dir)")
ROC_AUC = Metric("roc_auc_macro", "ROC-AUC")
PR_AUC = Metric("pr_auc_macro", "PR-AUC")
SUBSET_NAMES = {"top50": "top-50 tags", "genre": "genre tags", "instrument": "instrument tags",
                "moodtheme": "mood/theme tags"}
OPTIONS = (TaskOption("audio_dir", "MTG-Jamendo: folder holding the NN/<id>.mp3 or NN/<id>.low.mp3 audio"),)


@dataclass(frozen=True)
class JamendoTask(ClipTask):
    subset: str = "top50"

    def load(self, data_dir: Path, seed: int = 0, audio_dir: str | None = None, **_) -> Prepared:
        index = load_mtg_jamendo(data_dir, subset=self.subset, split=0, audio_dir=audio_dir)
        return Prepared(self, index, options={"subset": self.subset, "split": "split-0",
                                              "tags": list(index.label_names),
                                              "n_excluded_tags": len(index.info["excluded_tags"])})

    def n_outputs(self, prep) -> int:
        return len(prep.index.label_names)

    def label(self, prep, example):
        return np.asarray(example.target, dtype=np.float32)

    def evaluate(self, prep, fitted, data, examples, eps) -> dict:
        m = tagging_metrics(np.asarray([self.label(prep, e) for e in examples]), fitted.predict(data),
                            tag_names=prep.index.label_names)
        return {"roc_auc_macro": m["roc_auc_macro"], "pr_auc_macro": m["pr_auc_macro"],
                "n_tags_scored": m["n_tags_scored"], "excluded_tags": list(m["excluded_tags"])}


def jamendo_task(subset: str, synth: bool = False) -> JamendoTask:
    name = f"mtg-{subset}"
    what = f"MTG-Jamendo {SUBSET_NAMES[subset]}, split 0" if not synth else \
        f"synthesised MTG-Jamendo-layout set, {SUBSET_NAMES[subset]}"
    return JamendoTask(name=f"synth-{name}" if synth else name,
                       description=f"{what}: multi-label; roc_auc_macro, pr_auc_macro",
                       layout=LAYOUT, data_subdir="mtg-jamendo", frontend=Frontend("clip", 30.0), kind=MULTILABEL,
                       primary=ROC_AUC, validation=PR_AUC, synth_set="jamendo" if synth else None,
                       shown=("pr_auc_macro",), subset=subset, load_options=OPTIONS)


TASKS = [jamendo_task(s) for s in SUBSET_NAMES] + [jamendo_task(s, synth=True) for s in SUBSET_NAMES]
