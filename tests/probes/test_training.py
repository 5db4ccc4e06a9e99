"""Probe training: learning, early stopping / best-checkpoint restore, determinism, sweep (real Lightning Trainer)."""
import numpy as np
import pytest
import torch

from probes.data import ProbeData, aggregate_by_group
from probes.kinds import get_kind
from probes.metrics import classification_metrics, tagging_metrics
from probes.grid import GRID, grid_for, grid_points
from probes.training import fit_probe, sweep

from helpers import beat_sequences, clusters, tags


FAST = dict(max_epochs=40, patience=10, batch_size=32)


# ------------------------------------------------------------------------------------------------------------------
# (a) each kind learns
# ------------------------------------------------------------------------------------------------------------------
def test_multiclass_learns_clusters():
    train, valid, test = clusters(200, 1), clusters(60, 2), clusters(60, 3)
    probe = fit_probe("multiclass", train, valid, lr=1e-3, hidden=0, dropout=0.0, **FAST)
    scores = probe.predict(test)
    assert scores.shape == (60, 8)
    np.testing.assert_allclose(scores.sum(axis=1), 1.0, rtol=1e-6)
    acc = classification_metrics(get_kind("multiclass").track_targets(test), scores)["accuracy"]
    assert acc > 0.9  # chance 1/8
    assert probe.val_score > 0.9


def test_multiclass_mlp_learns_with_fixed_n_classes():
    train, valid = clusters(150, 1), clusters(50, 2)
    probe = fit_probe("multiclass", train, valid, lr=1e-3, hidden=32, dropout=0.2, n_classes=20, **FAST)
    assert probe.n_outputs == 20
    assert probe.predict(valid).shape == (50, 20)
    assert probe.val_score > 0.9


def test_multilabel_learns_tags():
    train, valid, test = tags(200, 1), tags(60, 2), tags(80, 3)
    probe = fit_probe("multilabel", train, valid, lr=1e-3, hidden=0, dropout=0.0, **FAST)
    m = tagging_metrics(get_kind("multilabel").track_targets(test), probe.predict(test))
    assert m["n_tags_scored"] == 5
    assert m["pr_auc_macro"] > 0.85  # chance ≈ prevalence 0.3
    assert m["roc_auc_macro"] > 0.9


def test_framewise_learns_beat_signature():
    train, valid = beat_sequences(12, 1), beat_sequences(4, 2)
    probe = fit_probe("framewise", train, valid, lr=3e-3, hidden=0, dropout=0.0, **FAST)
    acts = probe.predict(valid)
    assert [a.shape for a in acts] == [(len(x), 1) for x in valid.x]
    assert probe.val_score > 0.9  # frame-level AP of the exact beat frames
    a, y = np.concatenate(acts)[:, 0], np.concatenate(valid.y)[:, 0]
    assert a[y == 1].mean() > a[y == 0].mean() + 0.15


def test_framewise_custom_val_metric_and_1d_targets():
    train, valid = beat_sequences(8, 1), beat_sequences(3, 2)
    train = ProbeData(train.x, [y[:, 0] for y in train.y])  # (T,) targets read as C = 1
    seen = []

    def metric(y_true, y_score):
        seen.append((len(y_true), [s.shape for s in y_score]))
        return float(np.mean([s[t[:, 0] == 1].mean() for t, s in zip(y_true, y_score)]))

    probe = fit_probe("framewise", train, valid, lr=1e-3, hidden=0, dropout=0.0, max_epochs=5, val_metric=metric)
    assert len(seen) == 5 and seen[0] == (3, [(len(x), 1) for x in valid.x])
    assert probe.val_score == pytest.approx(metric(get_kind("framewise").track_targets(valid), probe.predict(valid)), abs=0)


# ------------------------------------------------------------------------------------------------------------------
# (b) early stopping + best checkpoint
# ------------------------------------------------------------------------------------------------------------------
def test_best_epoch_restored_and_reproduced_by_predict():
    # few, noisy examples and a wide MLP at a high lr: validation accuracy peaks and then early stopping ends the fit
    train, valid = clusters(40, 1, spread=3.0), clusters(60, 2, spread=3.0)
    probe = fit_probe("multiclass", train, valid, lr=1e-2, hidden=256, dropout=0.0, max_epochs=200, patience=5)
    epochs, scores = zip(*probe.history)
    assert list(epochs) == list(range(probe.epochs_run))
    assert probe.val_score == max(scores) == scores[probe.best_epoch]
    assert probe.hparams["best_epoch"] == probe.best_epoch
    assert probe.epochs_run == probe.best_epoch + 5 + 1 < 200  # stopped by patience
    # the restored weights reproduce the best validation score exactly
    acc = classification_metrics(get_kind("multiclass").track_targets(valid), probe.predict(valid))["accuracy"]
    assert acc == probe.val_score


def test_restores_weights_of_scripted_best_epoch():
    train, valid = clusters(40, 1), clusters(10, 2, chunks=1)
    valid = ProbeData(valid.x, valid.y, None)
    script = [0.1, 0.5, 0.9, 0.3, 0.9, 0.2, 0.95, 0.95]
    seen = []

    def metric(y_true, y_score):
        seen.append(np.array(y_score))
        return script[len(seen) - 1]

    probe = fit_probe("multiclass", train, valid, lr=1e-2, hidden=0, dropout=0.0, max_epochs=20, patience=3,
                      val_metric=metric, tie_break="first")
    # epoch 2 is best (0.9; the later 0.9 is not an improvement); epochs 3-5 do not improve → stop after epoch 5
    assert probe.epochs_run == 6 and probe.best_epoch == 2 and probe.val_score == 0.9
    np.testing.assert_array_equal(probe.predict(valid), seen[2])
    assert not np.array_equal(seen[2], seen[5])


def test_equal_scores_are_broken_by_validation_loss():
    train, valid = clusters(60, 1), clusters(20, 2)
    kw = dict(lr=1e-3, hidden=0, dropout=0.0, max_epochs=12, patience=3, val_metric=lambda y, s: 0.5)
    first = fit_probe("multiclass", train, valid, tie_break="first", **kw)
    assert first.best_epoch == 0 and first.epochs_run == 4  # a flat metric never improves
    by_loss = fit_probe("multiclass", train, valid, **kw)  # default tie_break="loss": the loss keeps falling
    assert by_loss.epochs_run == 12 and by_loss.best_epoch == 11
    losses = by_loss.val_losses
    assert losses[11] == min(losses) and losses[11] < losses[0]


def test_validate_every_n_epochs():
    train, valid = clusters(30, 1), clusters(10, 2)
    probe = fit_probe("multiclass", train, valid, lr=1e-3, hidden=0, dropout=0.0, max_epochs=9, val_every=3)
    assert [e for e, _ in probe.history] == [2, 5, 8] and probe.best_epoch in (2, 5, 8)
    assert probe.epochs_run == 9


# ------------------------------------------------------------------------------------------------------------------
# (c) determinism, normalisation, side effects
# ------------------------------------------------------------------------------------------------------------------
def test_same_seed_identical_predictions():
    train, valid = tags(80, 1), tags(30, 2)
    kw = dict(lr=1e-3, hidden=32, dropout=0.2, max_epochs=15)
    a = fit_probe("multilabel", train, valid, seed=7, **kw)
    b = fit_probe("multilabel", train, valid, seed=7, **kw)
    c = fit_probe("multilabel", train, valid, seed=8, **kw)
    assert a.history == b.history
    np.testing.assert_array_equal(a.predict(valid), b.predict(valid))
    assert not np.array_equal(a.predict(valid), c.predict(valid))


def test_train_standardisation_makes_scale_irrelevant():
    train, valid = clusters(100, 1), clusters(40, 2)
    kw = dict(lr=1e-3, hidden=0, dropout=0.0, max_epochs=10)
    a = fit_probe("multiclass", train, valid, **kw)
    scale = lambda d: ProbeData(d.x * 1000.0 + 50.0, d.y, d.groups)  # noqa: E731
    b = fit_probe("multiclass", scale(train), scale(valid), **kw)
    np.testing.assert_allclose(b.standardizer.mean, a.standardizer.mean * 1000 + 50, rtol=1e-4, atol=1e-3)
    np.testing.assert_allclose(a.predict(valid), b.predict(scale(valid)), atol=1e-4)


def test_fit_is_quiet_and_restores_torch_flags(capfd):
    before = torch.are_deterministic_algorithms_enabled()
    train, valid = clusters(30, 1), clusters(10, 2)
    fit_probe("multiclass", train, valid, lr=1e-3, hidden=0, dropout=0.0, max_epochs=2)
    out, err = capfd.readouterr()
    assert out == "" and err == ""
    assert torch.are_deterministic_algorithms_enabled() == before


def test_track_level_aggregation_and_order():
    scores = np.array([[1.0, 0.0], [0.0, 1.0], [0.5, 0.5], [1.0, 1.0]])
    groups = np.array([9, 2, 9, 2])
    np.testing.assert_allclose(aggregate_by_group(scores, groups), [[0.5, 1.0], [0.75, 0.25]])
    d = ProbeData(np.zeros((4, 3)), np.array([1, 0, 1, 0]), groups)
    np.testing.assert_array_equal(get_kind("multiclass").track_targets(d), [0, 1])


def test_bad_inputs_raise():
    good = clusters(10, 1)
    with pytest.raises(ValueError):
        fit_probe("regression", good, good, lr=1e-3, hidden=0, dropout=0.0)
    with pytest.raises(ValueError):
        fit_probe("multilabel", good, good, lr=1e-3, hidden=0, dropout=0.0)  # y is (n,), not (n, K)
    no_pos = ProbeData(np.zeros((4, 3)), np.zeros((4, 2)), None)
    with pytest.raises(ValueError, match="PR-AUC"):
        fit_probe("multilabel", tags(10, 1, n_tags=2, dim=3), no_pos, lr=1e-3, hidden=0, dropout=0.0)


# ------------------------------------------------------------------------------------------------------------------
# (d) sweep
# ------------------------------------------------------------------------------------------------------------------
def test_sweep_runs_all_points_and_picks_the_max():
    train, valid = clusters(60, 1, spread=2.0), clusters(30, 2, spread=2.0)
    res = sweep("multiclass", train, valid, max_epochs=8, patience=3)
    assert len(res.points) == 12
    assert [{k: p[k] for k in ("lr", "hidden", "dropout")} for p in res.points] == grid_points(GRID)
    vals = [p["val_score"] for p in res.points]
    assert res.best_index == int(np.argmax(vals))  # earliest max
    assert res.best.val_score == max(vals) == res.chosen["val_score"]
    assert {k: res.best.hparams[k] for k in ("lr", "hidden", "dropout")} == \
        {k: res.chosen[k] for k in ("lr", "hidden", "dropout")}
    assert res.best.best_epoch == res.chosen["best_epoch"]


def test_sweep_tie_goes_to_earlier_point_and_probe_restriction():
    train, valid = clusters(20, 1), clusters(10, 2)
    g = grid_for("mlp", {"lr": [1e-3, 3e-4], "hidden": [0, 16], "dropout": [0.0]})
    assert g == {"lr": [1e-3, 3e-4], "hidden": [16], "dropout": [0.0]}
    assert grid_for("linear")["hidden"] == [0] and grid_for("grid") == GRID
    res = sweep("multiclass", train, valid, grid=g, max_epochs=2, val_metric=lambda y, s: 0.5)
    assert res.best_index == 0 and res.best.hparams["lr"] == 1e-3 and res.best.hparams["hidden"] == 16
    assert [p["val_score"] for p in res.points] == [0.5, 0.5]
