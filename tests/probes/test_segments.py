"""Music structure on frames (probes.segments): the functional class of raw segment labels, frame targets, frame
accuracy and boundary hit rates."""
from __future__ import annotations

import mir_eval
import numpy as np
import pytest

from probes.segments import FUNCTIONS, IGNORE, frame_functions, function_class, structure_metrics


@pytest.mark.parametrize("label, function", [
    ("Intro", "intro"), ("verse2", "verse"), ("prechorus", "verse"), ("pre-chorus", "verse"), ("chorus", "chorus"),
    ("postchorus", "chorus"), ("refrain", "chorus"), ("bridge", "bridge"), ("transition", "bridge"),
    ("solo", "inst"), ("instrumental", "inst"), ("gtr", "inst"), ("worstthingever", "inst"), ("outro", "outro"),
    ("coda", "outro"), ("silence", "silence"), ("fadein", "intro"), ("section3", "verse"), ("break", "inst"),
    ("mainriff", "inst"), ("rap", "verse")])
def test_functional_mapping(label, function):
    assert FUNCTIONS[function_class(label)] == function


def test_structure_targets_and_metrics():
    iv = np.array([[1.0, 3.0], [3.0, 5.0]])
    y = frame_functions(iv, ["verse", "chorus"], n_frames=12, fps=2.0)
    assert y.tolist() == [IGNORE, IGNORE, 1, 1, 1, 1, 2, 2, 2, 2, IGNORE, IGNORE]
    pred = np.array([0, 0, 1, 1, 1, 2, 2, 2, 2, 2, 0, 0])  # boundary one frame (0.5 s) early
    m = structure_metrics([(iv, y)], [pred], fps=2.0)
    assert m["accuracy"] == pytest.approx(7 / 8)
    est = np.array([[1.0, 2.5], [2.5, 5.0]])
    assert m["hr_f_0_5"] == pytest.approx(mir_eval.segment.detection(iv, est, window=0.5, trim=False)[2])
    assert m["hr_f_0_5"] == 1.0 and m["hr_f_3"] == 1.0
