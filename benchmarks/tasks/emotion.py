"""EmoMusic emotion regression (``emomusic``, ``synth-emomusic``): static arousal and valence, the ``regression`` probe
kind on 15 s chunks of each 45 s clip (non-overlapping, as MARBLE's slices); a clip's prediction is the mean of its
chunks' outputs.

Split (the reader's, JukeMIR / MARBLE): the MediaEval 2013 evaluation set is test (125 clips); the development clips
are split by the sha1 of the artist into train (504) and valid (115). Targets are ``[arousal, valence]`` z-scored
with the **training** split's mean and standard deviation (ddof 0; :func:`benchmarks.datasets.emomusic.zscore_targets`,
the statistics in ``dataset.info.target_mean`` / ``target_std`` of the record).

Metrics (``sklearn.metrics.r2_score`` on the z-scored targets and predictions; R² is unchanged by undoing the
z-scoring, which maps targets and predictions by the same affine map per output): ``r2`` (uniform average over the
two outputs, the primary and validation metric), ``arousal_r2``, ``valence_r2``.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sklearn.metrics import r2_score

from benchmarks.datasets import load_emomusic
from benchmarks.datasets.emomusic import TARGETS, zscore_targets
from benchmarks.extract import Frontend
from probes.kinds import REGRESSION

from .base import ClipTask, Metric, Prepared, row_segments

LAYOUT = ("clips_45seconds/<song_id>.mp3 (unpadded names), songs_info.csv (song_id, file_name, Artist, …, "
          "start / end of the segment (min.sec), Genre, Mediaeval 2013 set) and static_annotations.csv (song_id, "
          "mean_arousal, std_arousal, mean_valence, std_valence) at the folder")
R2 = Metric("r2", "R²")


@dataclass(frozen=True)
class EmotionTask(ClipTask):
    def load(self, data_dir: Path, **_) -> Prepared:
        index = load_emomusic(data_dir)
        return Prepared(self, index, options={
            "split": "MediaEval 2013 evaluation set = test; development split by artist sha1 (JukeMIR / MARBLE)",
            "targets": "[arousal, valence] z-scored with the training split's mean and std (ddof 0)",
            "metric_space": "z-scored targets (R² is the same de-normalised)"})

    def n_outputs(self, prep) -> int:
        return len(TARGETS)

    def targets(self, prep, examples, counts, eps):
        y = zscore_targets(prep.index, list(examples))
        return np.repeat(y, counts, axis=0), row_segments(counts)

    def evaluate(self, prep, fitted, data, examples, eps) -> dict:
        y = zscore_targets(prep.index, list(examples)).astype(np.float64)
        pred = np.asarray(fitted.predict(data), dtype=np.float64)
        return {**self.corpus_metrics(y_true=y, y_pred=pred), "_tracks": {"corpus.y_true": y, "corpus.y_pred": pred}}

    def corpus_metrics(self, wanted=None, *, y_true, y_pred) -> dict:
        per = r2_score(y_true, y_pred, multioutput="raw_values")
        return {"r2": float(r2_score(y_true, y_pred, multioutput="uniform_average")),
                **{f"{name}_r2": float(v) for name, v in zip(TARGETS, per)}}


def emotion_task(name: str, synth_set: str | None = None) -> EmotionTask:
    what = "EmoMusic (MediaEval 2013)" if synth_set is None else \
        "synthesised EmoMusic-layout set (arousal / valence from tempo, loudness and mode)"
    return EmotionTask(name=name, description=f"{what}: arousal and valence regression; r2 (uniform average), "
                                              "arousal_r2, valence_r2",
                       layout=LAYOUT, data_subdir="emomusic", frontend=Frontend("clip", 15.0, overlap=0.0),
                       kind=REGRESSION, primary=R2, validation=R2, synth_set=synth_set,
                       shown=("arousal_r2", "valence_r2"))


TASKS = [emotion_task("emomusic"), emotion_task("synth-emomusic", synth_set="emomusic")]
