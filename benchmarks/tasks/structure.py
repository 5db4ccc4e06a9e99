"""Music structure (``structure``, ``synth-structure``): a frame-level probe over the 7 functional classes (intro,
verse, chorus, bridge, inst, outro, silence; raw labels mapped by the substring rule of Wang et al. 2022), scored by
frame accuracy (the tables' "Structure acc.") and boundary hit-rate F at 0.5 s and 3 s (:mod:`probes.segments`).

Data: the Harmonix Set (``dataset/segments/*.txt``, ``dataset/metadata.csv``) with the audio you bring as
``audio/<stem>.mp3|wav`` (:mod:`benchmarks.datasets.structure`). 8-fold cross-validation by track unless a
``splits.tsv`` gives a split.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from benchmarks.datasets.structure import load_harmonix
from benchmarks.extract import Frontend
from probes.segments import FUNCTIONS, frame_functions, structure_metrics

from probes.kinds import FRAMEWISE_MULTICLASS

from .base import FrameTask, Metric, Prepared

LAYOUT = ("Harmonix Set: dataset/segments/<NNNN_name>.txt + dataset/metadata.csv (the harmonixset repository) and "
          "audio/<NNNN_name>.<mp3|wav>; optional splits.tsv (<stem>\\t<train|valid|test>)")


@dataclass(frozen=True)
class StructureTask(FrameTask):
    def load(self, data_dir: Path, **_) -> Prepared:
        index = load_harmonix(data_dir)
        return Prepared(self, index, options={"classes": list(FUNCTIONS), "mapping": "Wang et al. 2022 substrings",
                                             "leading_gap": "ignored (not trained, not scored)",
                                             "boundaries": "mir_eval.segment.detection, trim=False, on predictions "
                                                           "majority-filtered over 1 s"})

    def n_outputs(self, prep) -> int:
        return len(FUNCTIONS)

    def frame_targets(self, prep, example, n_frames, eps):
        seg = example.target
        return frame_functions(seg.intervals(duration=n_frames / eps), seg.labels, n_frames, eps)

    def decode(self, prep, acts, y, examples, eps) -> dict:
        refs = [(e.target.intervals(duration=len(a) / eps), t) for e, a, t in zip(examples, acts, y)]
        out = structure_metrics(refs, [a.argmax(axis=1) for a in acts], eps, per_track=True)
        per = out.pop("per_track")
        out["_tracks"] = {"mean.accuracy": np.where(per["scored"] > 0, per["hits"] / np.maximum(per["scored"], 1),
                                                    np.nan),
                          "num.accuracy_pooled": per["hits"], "den.accuracy_pooled": per["scored"],
                          "mean.hr_f_0_5": per["hr_f_0_5"], "mean.hr_f_3": per["hr_f_3"]}
        return out


def structure_task(name: str, synth_set: str | None = None) -> StructureTask:
    what = "music structure (Harmonix)" if synth_set is None else \
        "synthesised structure set (songs composed from sections with repeats, Harmonix layout)"
    return StructureTask(name=name, description=f"{what}: frame probe over 7 functional classes; frame accuracy, "
                                                "boundary hit rate F @0.5 s / 3 s",
                         layout=LAYOUT, data_subdir="harmonix", frontend=Frontend("frame"),
                         kind=FRAMEWISE_MULTICLASS, primary=Metric("accuracy", "acc."),
                         validation=Metric("frame_accuracy", "frame acc."), synth_set=synth_set,
                         shown=("accuracy_pooled", "hr_f_0_5", "hr_f_3"), cv_folds=8)


TASKS = [structure_task("structure"), structure_task("synth-structure", synth_set="structure")]
