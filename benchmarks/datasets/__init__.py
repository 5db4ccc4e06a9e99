"""Dataset readers: index the real on-disk layouts of MTAT, NSynth and beat-tracking sets (files and labels only).

Every reader returns a :class:`DatasetIndex` of :class:`Example` and raises :class:`DatasetLayoutError` when the folder
is missing or in the wrong layout. Audio is decoded elsewhere (:mod:`omar_rq.audio`). File discovery shared by several
readers (the GTZAN ``genres/<genre>/…`` tree, id-keyed searches) lives in :mod:`benchmarks.datasets.discovery`.
"""
from .base import DatasetIndex, DatasetLayoutError, Example
from .beats import (BeatAnnotation, BeatFileError, kfold_assignments, load_ballroom, load_beat_dataset, load_beats,
                    load_gtzan_rhythm, read_beats)
from .mtat import load_mtat
from .nsynth import load_nsynth, stratified_subset

__all__ = ["DatasetIndex", "DatasetLayoutError", "Example", "BeatAnnotation", "BeatFileError", "read_beats",
           "load_beats", "load_gtzan_rhythm", "load_ballroom", "load_beat_dataset", "kfold_assignments", "load_mtat",
           "load_nsynth", "stratified_subset"]
