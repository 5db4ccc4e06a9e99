"""Dataset readers: index the real on-disk layouts of MTAT, NSynth and beat-tracking sets (files and labels only).

Every reader returns a :class:`DatasetIndex` of :class:`Example` and raises :class:`DatasetLayoutError` when the folder
is missing or in the wrong layout. Audio is decoded elsewhere (:mod:`omar_rq.audio`). File discovery shared by several
readers (the GTZAN ``genres/<genre>/…`` tree, id-keyed searches) lives in :mod:`benchmarks.datasets.discovery`.
"""
from .base import DatasetIndex, DatasetLayoutError, Example
from .beats import (BeatAnnotation, BeatFileError, load_ballroom, load_beat_dataset, load_beats,
                    load_gtzan_rhythm, read_beats)
from .emomusic import load_emomusic
from .discovery import find_gtzan_audio
from .folds import kfold_assignments
from .gtzan import load_gtzan
from .medley_solos import load_medley_solos
from .mtat import load_mtat
from .mtg_jamendo import load_mtg_jamendo
from .nsynth import load_nsynth, stratified_subset
from .vocalset import load_vocalset

__all__ = ["DatasetIndex", "DatasetLayoutError", "Example", "BeatAnnotation", "BeatFileError", "read_beats",
           "load_beats", "load_gtzan_rhythm", "load_ballroom", "load_beat_dataset", "kfold_assignments", "load_mtat",
           "load_nsynth", "stratified_subset", "load_gtzan", "find_gtzan_audio", "load_emomusic", "load_mtg_jamendo",
           "load_vocalset", "load_medley_solos"]
