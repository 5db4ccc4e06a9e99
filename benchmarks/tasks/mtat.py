"""MagnaTagATune tagging (``mtat``): 30 s chunks, multi-label probe, track-level macro ROC-AUC and PR-AUC ("mAP")."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from benchmarks.datasets import load_mtat
from benchmarks.extract import Frontend
from probes.metrics import tagging_metrics

from .base import ClipTask

LAYOUT = ("annotations_final.csv (tab-separated: clip_id, tag columns, mp3_path) and mp3/<0-9a-f>/<name>.mp3; "
          "optionally the clean-split files train.npy / valid.npy / test.npy / binary.npy / tags.npy in split/ "
          "(or split/mtat/, or the root)")


SPLIT_NAMES = {"clean": "clean split (Won et al. 2020, as the OMAR-RQ tables)",
               "original": "original 16-folder split (0-b train, c valid, d-f test)"}


class MTATTask(ClipTask):
    def __init__(self, name: str = "mtat", synth_set: str | None = None, split: str = "clean"):
        super().__init__(
            name=name, kind="multilabel", frontend=Frontend("clip", 30.0),
            description=(f"MagnaTagATune top-50 tagging, {SPLIT_NAMES[split]}; "
                         "metrics roc_auc_macro, pr_auc_macro (= mAP)") if synth_set is None else
            "synthesised MTAT-layout tagging set (tags known by construction); roc_auc_macro, pr_auc_macro",
            validation_metric="pr_auc_macro", primary_metric="pr_auc_macro", data_subdir="mtat", layout=LAYOUT,
            synth_set=synth_set, options={"split": split})

    def load(self, data_dir: Path, split: str | None = None, split_dir: str | None = None, **_):
        split = split or self.options["split"]
        self.options["split"] = split
        return load_mtat(data_dir, split=split, split_dir=split_dir)

    def label(self, example):
        return np.asarray(example.target, dtype=np.float32)

    def evaluate(self, fitted, data, examples, encoder, index) -> dict:
        y_true, y_score = self.scores(fitted, data)
        m = tagging_metrics(y_true, y_score, tag_names=index.label_names)
        return {"roc_auc_macro": m["roc_auc_macro"], "pr_auc_macro": m["pr_auc_macro"],
                "n_tags_scored": m["n_tags_scored"], "excluded_tags": list(m["excluded_tags"])}
