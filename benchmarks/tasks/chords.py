"""Chord recognition (``chords``, ``synth-chords``): a frame-level probe over 25 classes (12 major, 12 minor, N;
other qualities and ``X`` ignored), scored with ``mir_eval.chord`` majmin and root per track (averaged) and as the
pooled WCSR (:mod:`probes.chords`).

Data: Isophonics (``chordlab/`` trees), McGill Billboard (``billboard-2.0.1-mirex/NNNN/majmin.lab`` + index CSV),
RWC-Pop (``RWC_Pop_Chords/``) or Chords1217 (``chordlab/<id>.lab`` + ``audio/<id>.mp3`` + its 5 fold files), see
:mod:`benchmarks.datasets.chords`. With Chords1217's fold files the 5 folds are used as given (validation: the last
quarter of a seeded permutation of each train file); otherwise seeded 5-fold cross-validation by track.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from benchmarks.datasets.chords import load_chords, read_fold_files
from benchmarks.extract import Frontend
from probes.chords import N_CLASSES, frame_classes, frames_to_segments, chord_metrics

from probes.kinds import FRAMEWISE_MULTICLASS

from .base import EmptySplit, Fold, FrameTask, Metric, Prepared

LAYOUT = ("chordlab/<id>.lab + audio/<id>.<mp3|wav|flac> (Chords1217, with train0k.csv/test0k.csv fold files; "
          "Isophonics trees chordlab/<Artist>/<Album>/<track>.lab), billboard-2.0.1-mirex/NNNN/majmin.lab + "
          "billboard-2.0-index.csv + audio/NNNN.<ext>, or RWC_Pop_Chords/N###-M##-T##.lab + audio/rwc-p-m##/<T>.wav")


@dataclass(frozen=True)
class ChordTask(FrameTask):
    def load(self, data_dir: Path, **_) -> Prepared:
        index = load_chords(data_dir)
        folds = read_fold_files(index.root) if index.split_name == "folds" else None
        options = {"vocabulary": "25 classes (12 maj, 12 min, N); X and other qualities ignored",
                   "split": "Chords1217 fold files" if folds else f"{self.cv_folds}-fold cross-validation by track"}
        return Prepared(self, index, options=options, flags={"folds": folds})

    def folds(self, prep, seed: int = 0) -> list[Fold]:
        given = prep.flags.get("folds")
        if not given:
            return self.cross_validation(prep.index, seed)
        by_id = {e.id: e for e in prep.index.examples}
        out = []
        for k, parts in enumerate(given):
            train, valid, test = (tuple(by_id[i] for i in ids if i in by_id) for ids in parts)
            if not (train and valid and test):
                raise EmptySplit(f"chords at {prep.index.root}: fold {k} of the fold files has no usable tracks in "
                                 f"train, valid or test ({len(train)} / {len(valid)} / {len(test)})")
            out.append(Fold(f"fold{k}", train, valid, test))
        return out

    def cv_description(self, prep, seed):
        return None if prep.flags.get("folds") else super().cv_description(prep, seed)

    def n_outputs(self, prep) -> int:
        return N_CLASSES

    def frame_targets(self, prep, example, n_frames, eps):
        return frame_classes(example.target.intervals, example.target.labels, n_frames, eps)

    def decode(self, prep, acts, y, examples, eps) -> dict:
        preds = [a.argmax(axis=1) for a in acts]
        refs = [(e.target.intervals, e.target.labels) for e in examples]
        out = chord_metrics(refs, [frames_to_segments(p, eps) for p in preds], per_track=True)
        targets = np.concatenate([np.asarray(t) for t in y])
        pred = np.concatenate(preds)
        keep = targets >= 0
        out["frame_accuracy"] = float(np.mean(pred[keep] == targets[keep])) if keep.any() else float("nan")
        per, tracks = out.pop("per_track"), {}
        for name in ("majmin", "root"):
            c, t = per[f"{name}_correct"], per[f"{name}_total"]
            tracks[f"mean.{name}"] = np.where(t > 0, c / np.where(t > 0, t, 1), np.nan)
            tracks[f"num.{name}_wcsr"], tracks[f"den.{name}_wcsr"] = c, t
        tracks["num.frame_accuracy"] = np.array([np.sum((p == t)[t >= 0]) for p, t in zip(preds, y)], float)
        tracks["den.frame_accuracy"] = np.array([np.sum(np.asarray(t) >= 0) for t in y], float)
        out["_tracks"] = tracks
        return out


def chord_task(name: str, synth_set: str | None = None) -> ChordTask:
    what = "chord recognition" if synth_set is None else "synthesised chord set (rendered chorales and pop " \
                                                         "progressions, Chords1217 layout)"
    return ChordTask(name=name, description=f"{what}: frame probe over 25 maj/min/N classes; mir_eval majmin & root "
                                            "(mean over tracks, and pooled WCSR)",
                     layout=LAYOUT, data_subdir="chords", frontend=Frontend("frame"), kind=FRAMEWISE_MULTICLASS,
                     primary=Metric("majmin", "maj/min"), validation=Metric("frame_accuracy", "frame acc."),
                     synth_set=synth_set, shown=("root", "majmin_wcsr", "frame_accuracy"), cv_folds=5)


TASKS = [chord_task("chords"), chord_task("synth-chords", synth_set="chords")]
