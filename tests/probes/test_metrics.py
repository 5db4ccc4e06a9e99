"""Metrics agree with scikit-learn / mir_eval computed directly on the same predictions."""
import warnings

import mir_eval
import numpy as np
import pytest
from sklearn.metrics import accuracy_score, average_precision_score, roc_auc_score

from probes.metrics import (BEAT_KEYS, beat_f_measure, beat_metrics, classification_metrics, downbeat_metrics,
                            pitch_metrics, pooled_f_measure, pr_auc_macro, tagging_metrics)


def _tag_data(seed=0, n=60, k=6):
    rng = np.random.default_rng(seed)
    y = (rng.random((n, k)) < 0.35).astype(int)
    s = y * rng.random((n, k)) + rng.random((n, k))  # informative, imperfect
    return y, s


def test_tagging_matches_sklearn_macro():
    y, s = _tag_data()
    m = tagging_metrics(y, s)
    assert m["roc_auc_macro"] == pytest.approx(roc_auc_score(y, s, average="macro"), abs=1e-12)
    assert m["pr_auc_macro"] == pytest.approx(average_precision_score(y, s, average="macro"), abs=1e-12)
    assert m["n_tags_scored"] == 6 and m["excluded_tags"] == []


def test_tagging_excludes_degenerate_tags_and_reports_them():
    y, s = _tag_data()
    y[:, 1] = 0  # no positive
    y[:, 4] = 1  # no negative
    names = ["rock", "jazz", "piano", "vocal", "guitar", "beat"]
    m = tagging_metrics(y, s, tag_names=names, per_tag=True)
    keep = [0, 2, 3, 5]
    assert m["excluded_tags"] == ["jazz", "guitar"] and m["n_tags_scored"] == 4
    assert m["roc_auc_macro"] == pytest.approx(roc_auc_score(y[:, keep], s[:, keep], average="macro"), abs=1e-12)
    assert m["pr_auc_macro"] == pytest.approx(average_precision_score(y[:, keep], s[:, keep]), abs=1e-12)
    assert set(m["pr_auc_per_tag"]) == {"rock", "piano", "vocal", "beat"}
    assert tagging_metrics(y, s)["excluded_tags"] == [1, 4]  # indices without names


def test_tagging_single_scored_tag_and_pr_auc_shortcut():
    y, s = _tag_data()
    y[:, 1:] = 0
    m = tagging_metrics(y, s)
    assert m["n_tags_scored"] == 1
    assert m["roc_auc_macro"] == pytest.approx(roc_auc_score(y[:, 0], s[:, 0]), abs=1e-12)
    assert m["pr_auc_macro"] == pytest.approx(average_precision_score(y[:, 0], s[:, 0]), abs=1e-12)
    y, s = _tag_data(3)
    assert pr_auc_macro(y, s) == tagging_metrics(y, s)["pr_auc_macro"]


def test_tagging_all_excluded_is_nan_not_a_crash():
    m = tagging_metrics(np.zeros((5, 3), int), np.random.default_rng(0).random((5, 3)))
    assert np.isnan(m["roc_auc_macro"]) and np.isnan(m["pr_auc_macro"])
    assert m["n_tags_scored"] == 0 and m["excluded_tags"] == [0, 1, 2]
    with pytest.raises(ValueError):
        tagging_metrics(np.full((2, 2), 0.5), np.zeros((2, 2)))


def test_classification_matches_sklearn():
    rng = np.random.default_rng(1)
    y = rng.integers(0, 11, 100)
    s = rng.random((100, 11))
    s[np.arange(50), y[:50]] += 1.0
    assert classification_metrics(y, s)["accuracy"] == accuracy_score(y, s.argmax(axis=1))


def test_pitch_metrics_conventions():
    y = np.array([60, 60, 60, 10, 110])
    s = np.zeros((5, 128))
    s[0, 60] = 1  # exact
    s[1, 72] = 1  # octave error: chroma right
    s[2, 61] = 1  # wrong
    s[3, 10] = 1  # exact, outside the 88 keys → not in accuracy_88
    s[4, 110] = 1  # exact, outside the 88 keys
    m = pitch_metrics(y, s)
    assert m["accuracy"] == accuracy_score(y, s.argmax(axis=1)) == pytest.approx(3 / 5)
    assert m["chroma_accuracy"] == pytest.approx(4 / 5)
    assert m["n_examples_88"] == 3 and m["accuracy_88"] == pytest.approx(1 / 3)
    assert m["chroma_accuracy_88"] == pytest.approx(2 / 3)
    # accuracy_88 takes the argmax over the 88 key columns only (HEAR's restricted label set)
    y2, s2 = np.array([60]), np.zeros((1, 128))
    s2[0, 5], s2[0, 60] = 0.9, 0.5
    m2 = pitch_metrics(y2, s2)
    assert m2["accuracy"] == 0.0 and m2["accuracy_88"] == 1.0


def test_beat_metrics_match_mir_eval_per_track_mean():
    rng = np.random.default_rng(0)
    refs = [np.arange(0.3, 30, 0.5), np.arange(0.1, 25, 0.6), np.arange(1.0, 20, 0.45)]
    ests = [refs[0] + rng.normal(0, 0.03, len(refs[0])), refs[1][::2] + 0.01, np.arange(0.7, 21, 0.45)]
    m = beat_metrics(refs, ests)
    direct = [mir_eval.beat.evaluate(r, e) for r, e in zip(refs, ests)]
    for key, ours in BEAT_KEYS.items():
        assert m[ours] == pytest.approx(np.mean([d[key] for d in direct]), abs=1e-12), key
    assert set(m) >= {"f_measure", "cemgil", "cemgil_best_metric_level", "goto", "p_score", "cmlc", "cmlt", "amlc",
                      "amlt", "information_gain", "f_measure_pooled", "n_tracks"}
    assert m["n_tracks"] == 3


def test_beat_metrics_empty_estimates_are_zero_and_silent():
    refs = [np.arange(0, 20, 0.5), np.arange(0, 20, 0.5)]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        m = beat_metrics(refs, [np.array([]), refs[1]])
    assert m["f_measure"] == pytest.approx(0.5) and m["n_empty_estimates"] == 1
    assert m["f_measure_pooled"] == pytest.approx(2 * 0.5 * 1.0 / 1.5)  # P = 1, R = 0.5


def test_pooled_f_hand_count():
    # track 1: refs 1.00, 2.00, 3.00; ests 1.05 (hit), 1.06 (second est near the same ref: no second hit), 2.10 (miss)
    # track 2: refs 0.50; ests 0.44 (hit, |d| = 60 ms), 4.00 (miss)
    refs = [np.array([1.0, 2.0, 3.0]), np.array([0.5])]
    ests = [np.array([1.05, 1.06, 2.10]), np.array([0.44, 4.0])]
    p = pooled_f_measure(refs, ests)
    assert (p["hits"], p["n_estimates"], p["n_references"]) == (2, 5, 4)
    P, R = 2 / 5, 2 / 4
    assert p["f_measure_pooled"] == pytest.approx(2 * P * R / (P + R))
    assert beat_metrics(refs, ests)["f_measure_pooled"] == pytest.approx(2 * P * R / (P + R))
    # pooled F does not trim the first 5 s; mir_eval's per-track F does (here: nothing left → 0)
    assert beat_metrics(refs, ests)["f_measure"] == 0.0


def test_downbeat_metrics():
    refs = [np.arange(0, 30, 2.0)]
    ests = [np.arange(0, 30, 2.0) + 0.02]
    m = downbeat_metrics(refs, ests)
    assert m["f_measure"] == 1.0 and m["f_measure_pooled"] == 1.0 and m["n_tracks"] == 1
    assert downbeat_metrics(refs, [np.arange(1, 30, 2.0)])["f_measure"] == 0.0


def test_beat_f_measure_is_beat_metrics_f_measure():
    """The cheap validation metric equals the full evaluation's f_measure."""
    rng = np.random.default_rng(3)
    refs = [np.sort(rng.uniform(0, 30, 40)) for _ in range(4)]
    ests = [np.sort(r + rng.normal(0, 0.05, r.shape)) for r in refs]
    ests[1] = np.zeros(0)
    assert beat_f_measure(refs, ests) == pytest.approx(beat_metrics(refs, ests)["f_measure"], abs=1e-12)
