"""GTZAN genre classification (``gtzan-genre``, ``synth-gtzan-genre``): 10 genres, 30 s chunks (the whole clip),
multi-class probe, accuracy.

Split (``--split``): ``filtered`` (default) — the fault-filtered lists ``train_filtered.txt`` / ``valid_filtered.txt``
/ ``test_filtered.txt`` (443 / 197 / 290 on the real data) in the data folder, under ``split/`` or in
``--split-dir``; ``cv10`` — the 10-fold protocol of HEAR and X-ARES over every clip of the tree, folds stratified by
genre and seeded by ``--seed`` (fold f tests, f + 1 validates; the reader's ``info["cv_folds"]``). The record's
``protocol.split`` says which. ``jazz.00054`` (corrupt in public copies) is indexed like any clip; when it cannot be
decoded it is skipped and listed in ``dataset.skipped_files``, as any bad audio.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from benchmarks.datasets import load_gtzan
from benchmarks.datasets.gtzan import GENRES
from benchmarks.extract import Frontend
from probes.kinds import MULTICLASS

from .base import ACCURACY, Prepared, SingleLabelTask, TaskOption

LAYOUT = ("genres/<genre>/<genre>.<nnnnn>.<wav|au> (or genres_original/, Data/genres_original/) and, for the "
          "fault-filtered split, train_filtered.txt / valid_filtered.txt / test_filtered.txt in the folder, "
          "split/ or --split-dir")
SPLITS = {"filtered": "fault-filtered split (Kereliuk et al. 2015; 443 / 197 / 290)",
          "cv10": "10-fold cross-validation over all clips, stratified by genre (HEAR, X-ARES)"}
OPTIONS = (TaskOption("split", "GTZAN split (default filtered: the fault-filtered lists; cv10: 10 folds over every "
                               "clip, as HEAR and X-ARES)", choices=tuple(SPLITS)),
           TaskOption("split_dir", "GTZAN: folder with train_filtered.txt, valid_filtered.txt, test_filtered.txt"))


@dataclass(frozen=True)
class GenreTask(SingleLabelTask):
    def load(self, data_dir: Path, seed: int = 0, split: str | None = None, split_dir: str | None = None,
             **_) -> Prepared:
        split = split or "filtered"
        index = load_gtzan(data_dir, split=split, split_dir=split_dir, seed=seed)
        return Prepared(self, index, options={"split": SPLITS[split], "split_option": split})

    def n_outputs(self, prep) -> int:
        return len(GENRES)

    def label(self, prep, example):
        return GENRES.index(example.target["genre"])



def genre_task(name: str, synth_set: str | None = None) -> GenreTask:
    what = "GTZAN genre" if synth_set is None else "synthesised GTZAN-layout genre set (styles of groove and harmony)"
    return GenreTask(name=name, description=f"{what}: 10 classes, accuracy; fault-filtered split or --split cv10",
                     layout=LAYOUT, data_subdir="gtzan", frontend=Frontend("clip", 30.0), kind=MULTICLASS,
                     primary=ACCURACY, validation=ACCURACY, synth_set=synth_set, load_options=OPTIONS)


TASKS = [genre_task("gtzan-genre"), genre_task("synth-gtzan-genre", synth_set="gtzan")]
