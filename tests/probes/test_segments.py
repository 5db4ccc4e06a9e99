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


def test_boundary_hit_rates_for_boundaries_offset_by_known_amounts():
    """Three 10 s sections at 10 frames/s; the prediction moves the inner boundaries to 10.3 s and 21.0 s (runs far
    longer than the 1 s majority filter, which leaves them in place). With ``trim=False`` the ends 0 s and 30 s count
    as boundaries of both: at ±0.5 s, 3 of the 4 estimated boundaries hit 3 of the 4 references (P = R = F = 0.75);
    at ±3 s all 4 hit (F = 1)."""
    fps = 10.0
    iv = np.array([[0.0, 10.0], [10.0, 20.0], [20.0, 30.0]])
    y = frame_functions(iv, ["intro", "verse", "chorus"], n_frames=300, fps=fps)
    assert np.bincount(y).tolist() == [100, 100, 100]
    pred = np.repeat([0, 1, 2], [103, 107, 90])
    m = structure_metrics([(iv, y)], [pred], fps=fps, per_track=True)
    assert m["hr_f_0_5"] == pytest.approx(0.75, abs=1e-12) and m["hr_f_3"] == pytest.approx(1.0, abs=1e-12)
    assert m["accuracy"] == pytest.approx(287 / 300, abs=1e-12) and m["accuracy_pooled"] == m["accuracy"]
    assert m["per_track"]["hits"].tolist() == [287.0] and m["per_track"]["scored"].tolist() == [300.0]
    # the same hit rates from mir_eval on the boundaries written out by hand
    est = np.array([[0.0, 10.3], [10.3, 21.0], [21.0, 30.0]])
    assert mir_eval.segment.detection(iv, est, window=0.5, trim=False) == pytest.approx((0.75, 0.75, 0.75))
    # a perfect prediction scores 1 everywhere; a two-frame flicker inside a section is smoothed away
    perfect = np.repeat([0, 1, 2], 100)
    flicker = perfect.copy()
    flicker[50:52] = 4
    for p in (perfect, flicker):
        m = structure_metrics([(iv, y)], [p], fps=fps)
        assert (m["hr_f_0_5"], m["hr_f_3"]) == (1.0, 1.0)
    assert structure_metrics([(iv, y)], [flicker], fps=fps)["accuracy"] == pytest.approx(298 / 300, abs=1e-12)


def test_boundary_hit_rate_with_a_missed_boundary():
    """The prediction never changes class at 20 s: estimated boundaries 0, 10, 30 against references 0, 10, 20, 30
    → P = 3/3, R = 3/4, F = 2PR/(P+R) = 6/7 at both windows."""
    iv = np.array([[0.0, 10.0], [10.0, 20.0], [20.0, 30.0]])
    y = frame_functions(iv, ["intro", "verse", "chorus"], n_frames=300, fps=10.0)
    pred = np.repeat([0, 1], [100, 200])
    m = structure_metrics([(iv, y)], [pred], fps=10.0)
    assert m["hr_f_0_5"] == pytest.approx(6 / 7, abs=1e-12) and m["hr_f_3"] == pytest.approx(6 / 7, abs=1e-12)
    assert m["accuracy"] == pytest.approx(200 / 300, abs=1e-12)
