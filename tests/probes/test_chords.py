"""Chord classes and scores (probes.chords): the 25-class vocabulary, frame targets and mir_eval chord scores."""
from __future__ import annotations

import numpy as np
import pytest

import mir_eval
from probes.chords import IGNORE, N_CHORD, NAMES, chord_class, chord_metrics, frame_classes, frames_to_segments


# ------------------------------------------------------------------------------------------------------------------
# vocabulary
# ------------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("label, cls", [
    ("C:maj", 0), ("G", 7), ("A:min", 21), ("N", N_CHORD), ("X", IGNORE), ("C:7", 0), ("C:maj7", 0),
    ("A:min7", 21), ("D:maj/2", 2), ("Cb:maj", 11), ("Fb:maj", 4), ("A#:min", 22), ("Bb:maj6", 10),
    ("C:sus4", IGNORE), ("C:dim", IGNORE), ("C:aug", IGNORE), ("C:5", IGNORE), ("C:1/1", IGNORE),
    ("C:maj(*3)", IGNORE), ("G:sus4(b7)", IGNORE), ("E:hdim7", IGNORE), ("H:maj", IGNORE)])
def test_chord_classes(label, cls):
    assert chord_class(label) == cls


def test_frame_targets_ignore_frames_outside_the_annotation():
    iv = np.array([[1.0, 2.0], [2.0, 3.0]])
    y = frame_classes(iv, ["C:maj", "X"], n_frames=8, fps=2.0)  # centres 0.25, 0.75, …, 3.75
    assert y.tolist() == [IGNORE, IGNORE, 0, 0, IGNORE, IGNORE, IGNORE, IGNORE]


def test_chord_metrics_match_mir_eval_and_pool_durations():
    ref = (np.array([[0.0, 2.0], [2.0, 4.0], [4.0, 5.0]]), ["C:maj", "A:min", "X"])
    est_classes = np.array([0, 0, 0, 0, 21, 21, 0, 0, 24, 24])  # 2 fps: C C C C Am Am C C N N
    est = frames_to_segments(est_classes, 2.0)
    assert est[1] == [NAMES[0], NAMES[21], NAMES[0], "N"]
    m = chord_metrics([ref], [est])
    expected = mir_eval.chord.evaluate(ref[0], ref[1], est[0], est[1])
    assert m["majmin"] == pytest.approx(expected["majmin"]) and m["root"] == pytest.approx(expected["root"])
    # two tracks of different lengths: the pooled WCSR weighs by scored duration, the mean does not
    short = (np.array([[0.0, 1.0]]), ["C:maj"])
    m2 = chord_metrics([ref, short], [est, frames_to_segments(np.array([21, 21]), 2.0)])
    assert m2["majmin"] == pytest.approx((expected["majmin"] + 0.0) / 2)
    assert m2["majmin_wcsr"] == pytest.approx(expected["majmin"] * 4 / 5)
