"""MTG-Jamendo auto-tagging (``mtg-top50``, ``mtg-genre``, ``mtg-instrument``, ``mtg-moodtheme`` and their
``synth-`` twins): the split-0 TSVs of each subset (MARBLE's protocol), 30 s chunks, multi-label probe, track-level
macro ROC-AUC (primary, the first number of the MARBLE table) and macro PR-AUC (the validation metric, as MTAT),
with :func:`probes.metrics.tagging_metrics` (:class:`benchmarks.tasks.tagging.TaggingTask`).

Audio: the full-quality ``NN/<id>.mp3`` or the low-quality ``NN/<id>.low.mp3``, whichever is present, under
``audio/``, ``audio-low/``, … or ``--audio-dir``. Tags without a positive (or a negative) in one of the three splits
are excluded by the reader and reported in the record (``dataset.info.excluded_tags``); a tag without both classes in
the test clips that remain after skipped files is reported in ``metrics.excluded_tags``.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from benchmarks.datasets import load_mtg_jamendo
from benchmarks.extract import Frontend
from probes.kinds import MULTILABEL

from .base import Metric, Prepared, TaskOption
from .tagging import TaggingTask

LAYOUT = ("data/splits/split-0/autotagging_<subset>-{train,validation,test}.tsv (the mtg-jamendo-dataset repository) "
          "and the audio as audio/NN/<id>.mp3 or audio-low/NN/<id>.low.mp3 (or --audio-dir)")
ROC_AUC = Metric("roc_auc_macro", "ROC-AUC")
PR_AUC = Metric("pr_auc_macro", "PR-AUC")
SUBSET_NAMES = {"top50": "top-50 tags", "genre": "genre tags", "instrument": "instrument tags",
                "moodtheme": "mood/theme tags"}
OPTIONS = (TaskOption("audio_dir", "MTG-Jamendo: folder holding the NN/<id>.mp3 or NN/<id>.low.mp3 audio"),)


@dataclass(frozen=True)
class JamendoTask(TaggingTask):
    subset: str = "top50"

    def load(self, data_dir: Path, seed: int = 0, audio_dir: str | None = None, **_) -> Prepared:
        index = load_mtg_jamendo(data_dir, subset=self.subset, split=0, audio_dir=audio_dir)
        return Prepared(self, index, options={"subset": self.subset, "split": "split-0",
                                              "tags": list(index.label_names),
                                              "n_excluded_tags": len(index.info["excluded_tags"])})


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
