"""The tagging bootstrap scores all resamples at once (probes.metrics.tagging_metrics_weighted, TaggingTask.
corpus_resamples): each resample's macro PR-AUC and ROC-AUC must equal scikit-learn's (tagging_metrics) on the
resampled rows, ties, excluded tags and degenerate sets included, and the tasks' intervals must not change."""
from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import average_precision_score, roc_auc_score

from benchmarks import stats
from benchmarks.sidecar import Tracks
from benchmarks.tasks import get_task
from benchmarks.tasks.base import Task
from probes.metrics import tagging_metrics, tagging_metrics_weighted

KEYS = ("pr_auc_macro", "roc_auc_macro")


def counts(idx: np.ndarray, n: int) -> np.ndarray:
    return np.stack([np.bincount(i, minlength=n) for i in np.atleast_2d(idx)])


def assert_matches_resampled_rows(y, s, idx):
    got = tagging_metrics_weighted(y, s, counts(idx, len(y)))
    for b, rows in enumerate(np.atleast_2d(idx)):
        want = tagging_metrics(y[rows], s[rows])
        for k in KEYS:
            if np.isnan(want[k]):
                assert np.isnan(got[k][b]), (k, b)
            else:
                assert got[k][b] == pytest.approx(want[k], abs=1e-12, rel=0), (k, b)


def test_every_resample_equals_scikit_learn_on_the_resampled_rows_with_ties():
    rng = np.random.default_rng(0)
    n, k = 90, 7
    y = (rng.random((n, k)) < 0.25).astype(np.int8)
    y[:, 6] = 0
    y[5, 6] = 1                              # a tag with one positive: absent from many resamples (excluded there)
    s = np.round(rng.random((n, k)) + 0.3 * y, 1)   # one decimal: many ties, some across classes
    s[:, 3] = 0.5                            # all scores equal for a tag: AP = prevalence, ROC-AUC = 1/2
    idx = rng.integers(0, n, (60, n))
    assert_matches_resampled_rows(y, s, idx)
    got = tagging_metrics_weighted(y, s, counts(idx, n))
    assert got["pr_auc_macro"].shape == (60,) and np.ptp(got["pr_auc_macro"]) > 0.01   # the resamples differ
    excluded = ~np.isin(np.arange(60), np.flatnonzero((idx == 5).any(axis=1)))
    assert excluded.any() and (~excluded).any()          # both cases of the single-positive tag occur


def test_continuous_scores_and_the_unresampled_set():
    rng = np.random.default_rng(1)
    y = (rng.random((200, 12)) < 0.1).astype(int)
    s = rng.random((200, 12)).astype(np.float32) + 0.2 * y
    assert_matches_resampled_rows(y, s, rng.integers(0, 200, (20, 200)))
    assert_matches_resampled_rows(y, s, np.arange(200)[None])


def test_degenerate_sets():
    # a single row: no tag has both classes, nothing is scored
    got = tagging_metrics_weighted(np.array([[1, 0]]), np.array([[0.3, 0.4]]), np.ones((3, 1)))
    assert np.isnan(got["pr_auc_macro"]).all() and np.isnan(got["roc_auc_macro"]).all()
    # a tag that is always positive and one never positive: excluded; the remaining tag decides
    y = np.array([[1, 0, 1], [1, 0, 0], [1, 0, 1], [1, 0, 0]])
    s = np.array([[0.1, 0.2, 0.9], [0.2, 0.1, 0.1], [0.3, 0.5, 0.2], [0.4, 0.3, 0.15]])
    assert_matches_resampled_rows(y, s, np.array([[0, 1, 2, 3], [0, 0, 1, 1], [2, 2, 3, 3], [0, 2, 0, 2]]))
    got = tagging_metrics_weighted(y, s, np.ones((1, 4)))
    assert got["roc_auc_macro"][0] == 1.0 and got["pr_auc_macro"][0] == 1.0
    # all scores equal: AP = the positive share, ROC-AUC = 1/2
    got = tagging_metrics_weighted(np.array([[1], [0], [0], [1], [0]]), np.full((5, 1), 0.7), np.ones(5))
    assert got["pr_auc_macro"][0] == pytest.approx(0.4) and got["roc_auc_macro"][0] == 0.5


def test_real_valued_sample_weights_equal_scikit_learn_with_sample_weight():
    rng = np.random.default_rng(2)
    n, k = 50, 4
    y = (rng.random((n, k)) < 0.4).astype(int)
    y[0], y[1] = 1, 0
    s = np.round(rng.random((n, k)), 1)
    w = rng.random((5, n)) * (rng.random((5, n)) < 0.7)     # some rows weigh nothing
    got = tagging_metrics_weighted(y, s, w)
    for b in range(5):
        scored = [j for j in range(k) if (w[b] * y[:, j]).sum() > 0 and (w[b] * (1 - y[:, j])).sum() > 0]
        ap = np.mean([average_precision_score(y[:, j], s[:, j], sample_weight=w[b]) for j in scored])
        roc = np.mean([roc_auc_score(y[:, j], s[:, j], sample_weight=w[b]) for j in scored])
        assert got["pr_auc_macro"][b] == pytest.approx(ap, abs=1e-12, rel=0)
        assert got["roc_auc_macro"][b] == pytest.approx(roc, abs=1e-12, rel=0)


def test_bad_weights_are_refused():
    y, s = np.array([[1], [0]]), np.array([[0.2], [0.1]])
    with pytest.raises(ValueError, match=r"weights must be \(B, 2\)"):
        tagging_metrics_weighted(y, s, np.ones((2, 3)))
    with pytest.raises(ValueError, match="non-negative"):
        tagging_metrics_weighted(y, s, np.array([[1.0, -1.0]]))




@pytest.mark.parametrize("name", ["synth-mtat", "mtat"])
def test_task_resampling_equals_the_per_resample_scikit_learn_path(name):
    task = get_task(name)
    rng = np.random.default_rng(3)
    # sidecar-like: two folds × two seeds of int8 targets and float32 scores
    runs, folds, seeds, ids = [], [], [], []
    for f, n in ((0, 40), (1, 55)):
        y = (rng.random((n, 6)) < 0.3).astype(np.int8)
        for sd in (0, 1):
            runs.append({"corpus.y_true": y, "corpus.y_score": rng.random((n, 6)).astype(np.float32)})
            folds.append(f), seeds.append(sd), ids.append(tuple(f"{f}-{i}" for i in range(n)))
    tracks = Tracks(tuple(runs), tuple(folds), tuple(seeds), tuple(ids))
    idx = stats.fold_resamples({0: 40, 1: 55}, 50, 11)
    for wanted in (None, {"pr_auc_macro"}):
        new = stats.distributions(task, tracks, idx, wanted)
        with pytest.MonkeyPatch.context() as mp:   # the default: one scikit-learn corpus_metrics call per resample
            mp.setattr(type(task), "corpus_resamples", Task.corpus_resamples)
            old = stats.distributions(task, tracks, idx, wanted)
        assert set(new) == set(old) == (set(KEYS) if wanted is None else wanted)
        for k in old:
            np.testing.assert_allclose(new[k], old[k], rtol=0, atol=1e-12)
        assert np.ptp(new["pr_auc_macro"]) > 0
    point = task.resample_metrics(runs[0], np.arange(40)[None])
    ref = tagging_metrics(runs[0]["corpus.y_true"], runs[0]["corpus.y_score"])
    assert point["roc_auc_macro"][0] == pytest.approx(ref["roc_auc_macro"], abs=1e-12, rel=0)
