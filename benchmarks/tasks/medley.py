"""Medley-solos-DB instrument recognition (``medley-solos``, ``synth-medley-solos``): 8 instruments, the official
``subset`` column as the split (training / validation / test), one chunk per 2.97 s clip, multi-class probe,
accuracy. Train and test come from different collections (MedleyDB vs solosDb) on the real data: a domain shift is
part of the task. Songs found in more than one subset are reported in ``dataset.info.songs_in_several_splits``.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from benchmarks.datasets import load_medley_solos
from benchmarks.datasets.medley_solos import INSTRUMENTS
from benchmarks.extract import Frontend
from probes.kinds import MULTICLASS

from .base import ACCURACY, Prepared, SingleLabelTask

LAYOUT = ("Medley-solos-DB_metadata.csv (subset, instrument, instrument_id, song_id, uuid4) at the folder or in "
          "annotation/, and the audio Medley-solos-DB_<subset>-<instrument_id>_<uuid4>.wav anywhere under it")


@dataclass(frozen=True)
class MedleyTask(SingleLabelTask):
    def load(self, data_dir: Path, **_) -> Prepared:
        return Prepared(self, load_medley_solos(data_dir),
                        options={"split": "official subset column (training / validation / test)"})

    def n_outputs(self, prep) -> int:
        return len(INSTRUMENTS)

    def label(self, prep, example):
        return INSTRUMENTS.index(example.target["instrument"])



def medley_task(name: str, synth_set: str | None = None) -> MedleyTask:
    what = "Medley-solos-DB" if synth_set is None else "synthesised Medley-solos-DB-layout set (soundfont solos)"
    return MedleyTask(name=name, description=f"{what}: 8 instruments, official split; accuracy", layout=LAYOUT,
                      data_subdir="medley-solos", frontend=Frontend("clip", 3.0), kind=MULTICLASS,
                      primary=ACCURACY, validation=ACCURACY, synth_set=synth_set)


TASKS = [medley_task("medley-solos"), medley_task("synth-medley-solos", synth_set="medley")]
