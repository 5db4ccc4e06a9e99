"""VocalSet singer and technique identification (``vocalset-singer``, ``vocalset-technique`` and their ``synth-``
twins): 20 singers / 10 techniques (MARBLE v1), 3 s slices of each file (non-overlapping, a shorter last slice kept
when it is at least 0.3 s long, as MARBLE's ``--keep``), multi-class probe; a file's prediction is the mean of its slices'
softmax outputs; accuracy.

Splits (:func:`benchmarks.datasets.vocalset.load_vocalset`): singer — within each singer, a seeded shuffle of the
files (seeded by ``--seed``) into train / valid / test, so every singer is in every split (a file is the group:
its slices never cross splits); technique — singers f2, f8, m3, m5, m10 are test (MARBLE v1), a seeded share of the
others' files per technique is valid. Labels come from the folders; misnamed files, misspelt technique folders and
duplicate files are reported in the record (``dataset.info``: ``misnamed``, ``technique_folder_aliases``,
``duplicates``).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from benchmarks.datasets import load_vocalset
from benchmarks.datasets.vocalset import SINGERS, TECHNIQUES
from benchmarks.extract import Frontend
from probes.kinds import MULTICLASS

from .base import ACCURACY, Prepared, SingleLabelTask

LAYOUT = ("FULL/<singer>/<context>/<technique>/<short singer>_<context>_<technique>_<vowel>.wav (VocalSet11.zip), "
          "singers female1-female9 and male1-male11")
CLASSES = {"singer": SINGERS, "technique": TECHNIQUES}
SPLITS = {"singer": "every singer's files shuffled (seeded) into train / valid / test",
          "technique": "test singers f2, f8, m3, m5, m10 (MARBLE v1); a seeded share of the others' files valid"}


@dataclass(frozen=True)
class VocalSetTask(SingleLabelTask):
    target: str = "singer"

    def load(self, data_dir: Path, seed: int = 0, **_) -> Prepared:
        index = load_vocalset(data_dir, task=self.target, seed=seed)
        return Prepared(self, index, options={"label": self.target, "split": SPLITS[self.target],
                                              "n_misnamed": len(index.info["misnamed"]),
                                              "n_duplicates": len(index.info["duplicates"])})

    def n_outputs(self, prep) -> int:
        return len(CLASSES[self.target])

    def label(self, prep, example):
        return CLASSES[self.target].index(example.target[self.target])



def vocalset_task(target: str, synth: bool = False) -> VocalSetTask:
    what = "VocalSet" if not synth else "synthesised VocalSet-layout set (source-filter voices)"
    n = len(CLASSES[target])
    return VocalSetTask(name=f"{'synth-' if synth else ''}vocalset-{target}",
                        description=f"{what}: {target} ({n} classes), 3 s slices averaged per file; accuracy",
                        layout=LAYOUT, data_subdir="vocalset", frontend=Frontend("clip", 3.0, overlap=0.0,
                                                                                 min_last=0.1),
                        kind=MULTICLASS, primary=ACCURACY, validation=ACCURACY,
                        synth_set="vocalset" if synth else None, target=target)


TASKS = [vocalset_task("singer"), vocalset_task("technique"), vocalset_task("singer", synth=True),
         vocalset_task("technique", synth=True)]
