"""Bootstrap intervals and paired tests over test tracks (benchmarks.stats), checked against an independent
computation (scipy.stats.bootstrap), intervals shrinking as the test set grows, resampling within folds, Holm's
rule, and the sidecar's integrity checks."""
from __future__ import annotations

import numpy as np
import pytest
from scipy import stats as sps

from benchmarks import sidecar, stats
from benchmarks.sidecar import Tracks
from benchmarks.tasks import get_task

KEY = get_task("synth-key")          # mean-over-tracks metrics (weighted score, accuracy)
MTAT = get_task("synth-mtat")        # a corpus-level metric (macro PR-AUC, recomputed by scikit-learn)


def one_fold(values: np.ndarray, name: str = "mean.weighted_score") -> Tracks:
    return Tracks(({name: np.asarray(values, dtype=float)},), (0,), (0,), (tuple(f"t{i}" for i in range(len(values))),))


def scipy_interval(values: np.ndarray) -> tuple[float, float]:
    res = sps.bootstrap((values,), np.mean, n_resamples=stats.N_RESAMPLES, method="percentile", vectorized=True,
                        rng=np.random.default_rng(stats.SEED))
    return float(res.confidence_interval.low), float(res.confidence_interval.high)


def test_interval_of_a_per_track_mean_equals_scipy_bootstrap():
    values = np.random.default_rng(3).beta(5, 2, size=120)
    iv = stats.intervals(KEY, one_fold(values))["weighted_score"]
    lo, hi = scipy_interval(values)
    # the same generator and seed draw the same resamples, so the percentile intervals agree to rounding
    assert iv.value == pytest.approx(values.mean(), abs=1e-12)
    assert (iv.low, iv.high) == (pytest.approx(lo, abs=1e-12), pytest.approx(hi, abs=1e-12))
    assert iv.low < iv.value < iv.high and iv.n_resamples == 1000 and iv.seed == stats.SEED and iv.seed_std is None


def test_interval_shrinks_as_the_test_set_grows():
    rng = np.random.default_rng(0)
    widths = {}
    for n in (25, 100, 400, 1600):
        values = (rng.random(n) < 0.7).astype(float)          # per-track accuracies of a 70 % classifier
        iv = stats.intervals(KEY, one_fold(values, "mean.accuracy"))["accuracy"]
        widths[n] = iv.high - iv.low
    assert widths[25] > widths[100] > widths[400] > widths[1600]
    # width ∝ 1/sqrt(n): each 4x more tracks halves it (Monte-Carlo and binomial granularity: within 35 %)
    for a, b in ((25, 100), (100, 400), (400, 1600)):
        assert widths[a] / widths[b] == pytest.approx(2.0, rel=0.35)


def test_paired_bootstrap_equals_scipy_on_per_track_differences():
    rng = np.random.default_rng(7)
    a = rng.beta(6, 2, size=80)
    b = np.clip(a - 0.05 + 0.1 * rng.standard_normal(80), 0, 1)
    c = stats.paired(KEY, one_fold(a), one_fold(b), "weighted_score")
    # for a mean over tracks, A − B on the same resamples is the bootstrap of the per-track differences
    res = sps.bootstrap((a - b,), np.mean, n_resamples=1000, method="percentile", vectorized=True,
                        rng=np.random.default_rng(stats.SEED))
    assert c.diff == pytest.approx(float(np.mean(a - b)), abs=1e-12)
    assert (c.low, c.high) == (pytest.approx(res.confidence_interval.low, abs=1e-12),
                               pytest.approx(res.confidence_interval.high, abs=1e-12))
    d = res.bootstrap_distribution
    assert c.p_value == pytest.approx(min(1.0, 2 * min(np.sum(d <= 0) + 1, np.sum(d >= 0) + 1) / 1001))
    assert c.p_value < 0.01 and c.low > 0


def test_paired_test_of_a_model_against_itself_is_not_significant_and_tracks_are_matched_by_id():
    values = np.random.default_rng(1).random(50)
    a = one_fold(values)
    perm = np.random.default_rng(2).permutation(50)
    b = Tracks(({"mean.weighted_score": values[perm]},), (0,), (0,), (tuple(f"t{i}" for i in perm),))
    c = stats.paired(KEY, a, b, "weighted_score")
    assert c.diff == 0 and c.low == 0 and c.high == 0 and c.p_value == 1.0


def test_paired_refuses_records_on_other_tracks():
    a, b = one_fold(np.ones(10)), one_fold(np.ones(10))
    b = Tracks(b.runs, b.folds, b.seeds, (tuple(f"x{i}" for i in range(10)),))
    with pytest.raises(stats.NotPaired, match="do not share test tracks"):
        stats.paired(KEY, a, b, "weighted_score")


def test_cross_validation_resamples_within_folds_and_averages_runs():
    # two folds (sizes 3 and 5), two seeds each: every run is scored on its own fold's resample
    f0, f1 = np.array([1.0, 1.0, 1.0]), np.array([0.0, 0.0, 0.0, 0.0, 1.0])
    runs = ({"mean.accuracy": f0}, {"mean.accuracy": f1}, {"mean.accuracy": f0 * 0.5}, {"mean.accuracy": f1})
    tracks = Tracks(runs, (0, 1, 0, 1), (0, 0, 1, 1), (("a", "b", "c"), ("d", "e", "f", "g", "h"),
                                                       ("a", "b", "c"), ("d", "e", "f", "g", "h")))
    idx = stats.fold_resamples({0: 3, 1: 5}, 200, 1)
    assert idx[0].shape == (200, 3) and idx[1].shape == (200, 5) and idx[0].max() < 3 and idx[1].max() < 5
    iv = stats.intervals(KEY, tracks)["accuracy"]
    # point: mean over the 4 runs = (1 + 0.2 + 0.5 + 0.2) / 4; seeds: seed 0 → 0.6, seed 1 → 0.35
    assert iv.value == pytest.approx(0.475) and iv.seed_std == pytest.approx(0.125)
    # fold 0 of seed 0 is constant, so only fold 1's resamples move the value: it stays within the runs' bounds
    dist = stats.distributions(KEY, tracks, stats.fold_resamples({0: 3, 1: 5}))["accuracy"]
    assert dist.min() >= (1 + 0 + 0.5 + 0) / 4 - 1e-12 and dist.max() <= (1 + 1 + 0.5 + 1) / 4 + 1e-12
    assert iv.low < iv.value < iv.high


def test_corpus_metric_is_recomputed_on_each_resample():
    rng = np.random.default_rng(4)
    y = (rng.random((60, 5)) < 0.3).astype(np.int8)
    y[0], y[1] = 1, 0
    scores = np.clip(y * 0.4 + rng.random((60, 5)) * 0.7, 0, 1)
    tracks = Tracks(({"corpus.y_true": y, "corpus.y_score": scores},), (0,), (0,), (tuple(map(str, range(60))),))
    from probes.metrics import tagging_metrics

    iv = stats.intervals(MTAT, tracks)["pr_auc_macro"]
    assert iv.value == pytest.approx(tagging_metrics(y, scores)["pr_auc_macro"], abs=1e-12)
    idx = stats.fold_resamples({0: 60})[0]
    dist = stats.distributions(MTAT, tracks, {0: idx})["pr_auc_macro"]
    for b in (0, 17, 999):   # each resample's value is scikit-learn's metric of the resampled rows
        assert dist[b] == pytest.approx(tagging_metrics(y[idx[b]], scores[idx[b]])["pr_auc_macro"], abs=1e-12)
    assert np.percentile(dist, 2.5) == pytest.approx(iv.low) and iv.low < iv.value < iv.high


def test_holm_step_down():
    assert stats.holm([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])
    assert stats.holm([0.5, float("nan"), 0.01]) [::2] == pytest.approx([0.5, 0.02])


def test_column_marks_best_and_not_significantly_worse():
    rng = np.random.default_rng(5)
    base = (rng.random(200) < 0.8).astype(float)
    close = base.copy()
    close[:3] = 1 - close[:3]                          # 3 tracks differ: not significant
    far = (rng.random(200) < 0.4).astype(float)        # much worse
    entries = [(float(v.mean()), one_fold(v, "mean.accuracy")) for v in (close, base, far)] + [(0.1, None)]
    marks = stats.column_marks(KEY, entries, False, "accuracy")
    best = int(np.argmax([e[0] for e in entries]))
    assert marks[best] == stats.BEST
    assert marks[2] == "" and marks[3] == ""          # significantly worse; no sidecar: no mark
    assert marks[1 - best] == stats.NOT_WORSE


def test_sidecar_round_trip_is_content_addressed_and_damage_is_detected(tmp_path):
    arrays = sidecar.pack([(0, 0, ["a", "b"], {"mean.accuracy": np.array([1.0, 0.0])}),
                           (1, 0, ["c"], {"mean.accuracy": np.array([1.0])})])
    ref = sidecar.write(tmp_path, arrays)
    assert ref == sidecar.write(tmp_path, arrays)           # same content, same file
    assert ref["file"] == f"tracks-{ref['blake2b']}.npz" and ref["n_tracks"] == 3 and ref["n_runs"] == 2
    rec = {"_path": str(tmp_path / "rec.json"), "tracks": ref}
    tr = sidecar.load(rec)
    assert tr.folds == (0, 1) and tr.ids == (("a", "b"), ("c",)) and tr.runs[0]["mean.accuracy"].tolist() == [1, 0]
    path = tmp_path / ref["file"]
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.warns(sidecar.SidecarWarning, match="does not match"):
        assert sidecar.load(rec) is None
    path.unlink()
    with pytest.warns(sidecar.SidecarWarning, match="unreadable"):
        assert sidecar.load(rec) is None
    assert sidecar.load({"_path": str(tmp_path / "old.json")}) is None   # an older record: no sidecar, no warning


def test_asking_for_one_metric_gives_the_same_values_as_asking_for_all():
    rng = np.random.default_rng(8)
    y = (rng.random((40, 4)) < 0.4).astype(np.int8)
    tags = Tracks(({"corpus.y_true": y, "corpus.y_score": rng.random((40, 4))},), (0,), (0,),
                  (tuple(map(str, range(40))),))
    labels = rng.integers(48, 60, 40)
    pitch = Tracks(({"corpus.y_true": labels, "corpus.scores": rng.random((40, 128))},), (0,), (0,),
                   (tuple(map(str, range(40))),))
    for task, tracks, metric in ((MTAT, tags, "pr_auc_macro"), (get_task("synth-nsynth-pitch"), pitch, "accuracy")):
        idx = stats.fold_resamples({0: 40}, 50, 3)
        every, one = stats.distributions(task, tracks, idx), stats.distributions(task, tracks, idx, {metric})
        assert set(one) == {metric} and len(every) > 1
        np.testing.assert_array_equal(one[metric], every[metric])
