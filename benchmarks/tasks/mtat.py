"""MagnaTagATune tagging (``mtat``, ``mtat-original``, ``synth-mtat``): 30 s chunks, multi-label probe, track-level
macro ROC-AUC and PR-AUC (the tables' "mAP" is ``pr_auc_macro``; targets, metrics and their bootstrap:
:class:`benchmarks.tasks.tagging.TaggingTask`)."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from benchmarks.datasets import load_mtat
from benchmarks.extract import Frontend
from probes.kinds import MULTILABEL

from .base import Metric, Prepared, TaskOption
from .tagging import TaggingTask

LAYOUT = ("annotations_final.csv (tab-separated: clip_id, tag columns, mp3_path) and mp3/<0-9a-f>/<name>.mp3; "
          "optionally the clean-split files train.npy / valid.npy / test.npy / binary.npy / tags.npy in split/ "
          "(or split/mtat/, or the root)")

SPLIT_NAMES = {"clean": "clean split (Won et al. 2020, as the OMAR-RQ tables)",
               "original": "original 16-folder split (0-b train, c valid, d-f test)"}
PR_AUC = Metric("pr_auc_macro", "mAP")
OPTIONS = (TaskOption("split", "MTAT split (default clean: Won et al. 2020, as the OMAR-RQ tables; original: the "
                               "16-folder split)", choices=tuple(SPLIT_NAMES)),
           TaskOption("split_dir", "MTAT: folder with train/valid/test/binary/tags .npy files"))


@dataclass(frozen=True)
class MTATTask(TaggingTask):
    split: str = "clean"

    def load(self, data_dir: Path, seed: int = 0, split: str | None = None, split_dir: str | None = None,
             **_) -> Prepared:
        split = split or self.split
        index = load_mtat(data_dir, split=split, split_dir=split_dir)
        return Prepared(self, index, options={"split": split})


def mtat_task(name: str, split: str = "clean", synth_set: str | None = None) -> MTATTask:
    description = (f"MagnaTagATune top-50 tagging, {SPLIT_NAMES[split]}; metrics roc_auc_macro, pr_auc_macro (= mAP)"
                   if synth_set is None else
                   "synthesised MTAT-layout tagging set (tags known by construction); roc_auc_macro, pr_auc_macro")
    return MTATTask(name=name, description=description, layout=LAYOUT, data_subdir="mtat",
                    frontend=Frontend("clip", 30.0), kind=MULTILABEL, primary=PR_AUC, validation=PR_AUC,
                    synth_set=synth_set, shown=("roc_auc_macro",), split=split, load_options=OPTIONS)


TASKS = [mtat_task("mtat"), mtat_task("mtat-original", split="original"), mtat_task("synth-mtat", synth_set="mtat")]
