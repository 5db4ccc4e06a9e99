"""Multi-label tagging on clips (MTAT and every task scored like it): track-level scores, macro ROC-AUC and PR-AUC
over tags (:func:`probes.metrics.tagging_metrics`; the tables' "mAP" is ``pr_auc_macro``).

A tagging task's examples carry their tags as a 0/1 vector (``example.target``, one entry per name in the index's
``label_names``). :meth:`TaggingTask.evaluate` stores the test tracks' targets and scores as ``corpus.y_true`` /
``corpus.y_score``, and the bootstrap scores all resamples at once (:meth:`TaggingTask.corpus_resamples`, with
:func:`probes.metrics.tagging_metrics_weighted`: the same values as scikit-learn on each resample, ~100× faster).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from probes.metrics import pr_auc_macro, tagging_metrics, tagging_metrics_weighted

from .base import ClipTask

#: The metrics a tagging task reports (and that its resamples recompute).
TAGGING_METRICS = ("roc_auc_macro", "pr_auc_macro")

#: Resamples turned into row weights at once by :meth:`TaggingTask.corpus_resamples` (bounds the ``(B, n)`` weights).
RESAMPLE_CHUNK = 256


@dataclass(frozen=True)
class TaggingTask(ClipTask):
    """A clip task with multi-label targets scored by macro ROC-AUC and PR-AUC over the index's ``label_names``."""

    def n_outputs(self, prep) -> int:
        return len(prep.index.label_names)

    def label(self, prep, example):
        return np.asarray(example.target, dtype=np.float32)

    def evaluate(self, prep, fitted, data, examples, eps) -> dict:
        y_true, y_score = np.asarray([self.label(prep, e) for e in examples]), fitted.predict(data)
        m = tagging_metrics(y_true, y_score, tag_names=prep.index.label_names)
        return {"roc_auc_macro": m["roc_auc_macro"], "pr_auc_macro": m["pr_auc_macro"],
                "n_tags_scored": m["n_tags_scored"], "excluded_tags": list(m["excluded_tags"]),
                "_tracks": {"corpus.y_true": y_true.astype(np.int8), "corpus.y_score": y_score}}

    def corpus_metrics(self, y_true, y_score, wanted=None) -> dict:
        if wanted is not None and "roc_auc_macro" not in wanted:   # half the work when only mAP is asked for
            return {"pr_auc_macro": pr_auc_macro(y_true, y_score)}
        m = tagging_metrics(y_true, y_score)
        return {"roc_auc_macro": m["roc_auc_macro"], "pr_auc_macro": m["pr_auc_macro"]}

    def corpus_resamples(self, corpus, idx, wanted=None) -> dict:
        """:meth:`corpus_metrics` of every resample ``y_true[idx[b]], y_score[idx[b]]``: each resample is turned
        into row counts (``np.bincount``) and scored by :func:`probes.metrics.tagging_metrics_weighted`."""
        y_true, y_score = corpus["y_true"], corpus["y_score"]
        idx = np.atleast_2d(np.asarray(idx, dtype=np.int64))
        n = len(y_true)
        keys = [k for k in TAGGING_METRICS if wanted is None or k in wanted]
        parts: dict[str, list] = {k: [] for k in keys}
        for lo in range(0, len(idx), RESAMPLE_CHUNK):
            chunk = idx[lo:lo + RESAMPLE_CHUNK]
            offsets = (chunk + n * np.arange(len(chunk))[:, None]).ravel()
            weights = np.bincount(offsets, minlength=len(chunk) * n).reshape(len(chunk), n)
            got = tagging_metrics_weighted(y_true, y_score, weights)
            for k in keys:
                parts[k].append(got[k])
        return {k: np.concatenate(v) if v else np.zeros(0) for k, v in parts.items()}
