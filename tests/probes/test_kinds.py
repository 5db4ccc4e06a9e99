"""Probe kinds (probes/kinds.py): each kind's loss, activation, target checks, track aggregation and validation metric
against their references; the regression kind end to end; the ordinal kind equal to the difficulty task's former
metric; and no kind-name branches left in the code."""
from __future__ import annotations

import re

import numpy as np
import pytest
import torch
from sklearn.metrics import r2_score

from probes.data import ProbeData
from probes.kinds import (FRAME_SCHEDULE, FRAMEWISE, FRAMEWISE_MULTICLASS, KINDS, MULTICLASS, MULTILABEL, ORDINAL,
                          REGRESSION, get_kind, r2_uniform)
from probes.ordinal import BatchedMacroMSE, ordinal_targets
from probes.training import fit_probe, sweep
from probes.validation import batched

from helpers import ROOT


# ------------------------------------------------------------------------------------------------------------------
# registry
# ------------------------------------------------------------------------------------------------------------------
def test_registry_resolves_names_and_objects():
    assert set(KINDS) == {"multilabel", "multiclass", "regression", "ordinal", "framewise", "framewise-multiclass"}
    for name, kind in KINDS.items():
        assert get_kind(name) is kind and get_kind(kind) is kind and kind.name == name
    with pytest.raises(ValueError, match="unknown probe kind 'nope'.*regression"):
        get_kind("nope")
    assert FRAMEWISE.schedule is FRAME_SCHEDULE and FRAMEWISE_MULTICLASS.schedule is FRAME_SCHEDULE
    assert all(k.schedule is None for k in (MULTILABEL, MULTICLASS, REGRESSION, ORDINAL))


# ------------------------------------------------------------------------------------------------------------------
# losses and activations, against torch's own per-probe computations
# ------------------------------------------------------------------------------------------------------------------
def test_losses_and_activations_per_probe():
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(3, 7, 4, generator=g)
    soft = torch.rand(1, 7, 4, generator=g)
    for kind in (MULTILABEL, ORDINAL, FRAMEWISE):
        want = torch.stack([torch.nn.functional.binary_cross_entropy_with_logits(lg, soft[0]) for lg in logits])
        torch.testing.assert_close(kind.loss(logits, soft), want)
        torch.testing.assert_close(kind.activation(logits), torch.sigmoid(logits))
    want = torch.stack([torch.nn.functional.mse_loss(lg, soft[0]) for lg in logits])
    torch.testing.assert_close(REGRESSION.loss(logits, soft), want)
    assert REGRESSION.activation(logits) is logits
    labels = torch.tensor([[0, 3, -1, 2, -1, 1, 1]])
    for kind in (MULTICLASS, FRAMEWISE_MULTICLASS):
        want = torch.stack([torch.nn.functional.cross_entropy(lg, labels[0], ignore_index=-1) for lg in logits])
        torch.testing.assert_close(kind.loss(logits, labels), want)
        torch.testing.assert_close(kind.activation(logits), torch.softmax(logits, -1))
    # all rows ignored: a zero loss, not NaN
    assert torch.equal(FRAMEWISE_MULTICLASS.loss(logits, torch.full((1, 7), -1)), torch.zeros(3))


# ------------------------------------------------------------------------------------------------------------------
# target checks: one ValueError naming what was found and what was expected
# ------------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("kind, y, words", [
    (MULTILABEL, np.zeros(6), ["(n, K)", "(6,)"]),
    (MULTILABEL, np.full((6, 2), 2.0), ["[0, 1]", "2"]),
    (MULTICLASS, np.full(6, 0.5), ["integer"]),
    (MULTICLASS, np.array([0, 1, -1, 0, 1, 0]), ["[0,", "-1"]),
    (REGRESSION, np.zeros(6), ["(n, K)", "(6,)"]),
    (REGRESSION, np.array([[0.0], [1.0], [np.nan], [0.0], [1.0], [2.0]]), ["finite", "1 NaN"]),
    (ORDINAL, np.array([[1, 0, 1]] * 6, dtype=np.float32), ["not ordinal", "[1, 0, 1]"]),
    (ORDINAL, np.full((6, 3), 0.5), ["0/1"]),
])
def test_clip_target_checks(kind, y, words):
    data = ProbeData(np.zeros((6, 3), np.float32), y, np.repeat(np.arange(3), 2))
    with pytest.raises(ValueError) as e:
        kind.check_data(data, "train")
    for w in words:
        assert w in str(e.value), (w, str(e.value))


def test_frame_target_checks():
    x = [np.zeros((5, 3), np.float32)]
    with pytest.raises(ValueError, match=r"\[0, 1\].*1.5"):
        FRAMEWISE.check_data(ProbeData(x, [np.full(5, 1.5)], None))
    with pytest.raises(ValueError, match=r"expected x \(T, D\) and y \(T,\) with the same T, got \(5, 3\) and \(4,\)"):
        FRAMEWISE_MULTICLASS.check_data(ProbeData(x, [np.zeros(4, int)], None))
    with pytest.raises(ValueError, match=r"\[-1, K\).*-2"):
        FRAMEWISE_MULTICLASS.check_data(ProbeData(x, [np.array([0, -2, 1, 1, 0])], None))
    FRAMEWISE_MULTICLASS.check_data(ProbeData(x, [np.array([0, -1, 1, 1, 0])], None))   # -1 = ignored frame


def test_class_count_checked_against_the_output_size():
    with pytest.raises(ValueError, match=r"class labels must lie in \[0, 3\)"):
        MULTICLASS.n_outputs(np.array([0, 1, 2]), np.array([0, 3]), n_classes=3)
    assert MULTICLASS.n_outputs(np.array([0, 1, 2]), np.array([0, 4])) == 5
    with pytest.raises(ValueError, match="train has 2 outputs but valid has 3"):
        REGRESSION.n_outputs(np.zeros((4, 2)), np.zeros((4, 3)))


# ------------------------------------------------------------------------------------------------------------------
# track aggregation and the batched default metric = the per-probe reference, for every kind
# ------------------------------------------------------------------------------------------------------------------
def _clip_case(kind, rng):
    counts = rng.integers(1, 4, 12)
    seg = np.concatenate([[0], np.cumsum(counts)])
    n = int(seg[-1])
    if kind is MULTICLASS:
        track_y, k = rng.integers(0, 4, 12), 4
    elif kind is ORDINAL:
        track_y, k = np.stack([ordinal_targets(g, 5) for g in rng.integers(0, 5, 12)]), 4
    elif kind is REGRESSION:
        track_y, k = rng.normal(size=(12, 2)).astype(np.float32), 2      # the engine trains on float32
    else:
        track_y, k = (rng.random((12, 3)) < 0.4).astype(np.float32), 3
    y_rows = np.repeat(track_y, counts, axis=0)
    logits = torch.from_numpy(rng.normal(size=(5, n, k)).astype(np.float32))
    return seg, y_rows, track_y, kind.activation(logits)


@pytest.mark.parametrize("kind", [MULTILABEL, MULTICLASS, REGRESSION, ORDINAL])
def test_clip_batched_metric_equals_reference(kind):
    rng = np.random.default_rng(1)
    seg, y_rows, track_y, probs = _clip_case(kind, rng)
    got = kind.batched_metric(seg, kind.target_tensor(y_rows))(probs)
    assert np.array_equal(kind.split_track_targets(y_rows, seg), track_y)
    for p in range(probs.shape[0]):
        scores = kind.track_scores(probs[p].double().numpy(), seg)
        np.testing.assert_allclose(scores, [probs[p, a:b].double().mean(0).numpy() for a, b in zip(seg[:-1], seg[1:])])
        assert got[p] == pytest.approx(kind.reference_metric(track_y, scores), abs=1e-9)


@pytest.mark.parametrize("kind", [FRAMEWISE, FRAMEWISE_MULTICLASS])
def test_frame_batched_metric_equals_reference(kind):
    rng = np.random.default_rng(2)
    lengths = [7, 11, 5]
    seg = np.concatenate([[0], np.cumsum(lengths)])
    if kind is FRAMEWISE:
        y_rows = (rng.random((seg[-1], 2)) < 0.3).astype(np.float32)
        k = 2
    else:
        y_rows, k = rng.integers(-1, 3, seg[-1]), 3
    probs = kind.activation(torch.from_numpy(rng.normal(size=(4, seg[-1], k)).astype(np.float32)))
    got = kind.batched_metric(seg, kind.target_tensor(y_rows))(probs)
    y_track = kind.split_track_targets(y_rows, seg)
    assert [len(t) for t in y_track] == lengths
    for p in range(4):
        assert got[p] == pytest.approx(kind.reference_metric(y_track, kind.track_scores(probs[p].double().numpy(),
                                                                                         seg)), abs=1e-9)


def test_r2_matches_scikit_learn_including_a_constant_output():
    rng = np.random.default_rng(3)
    y = rng.normal(size=(20, 3))
    y[:, 2] = 1.5                                  # a constant target: scikit-learn's force_finite rule
    preds = rng.normal(size=(4, 20, 3))
    preds[1] = y                                   # a perfect probe: R² = 1 on every output
    got = r2_uniform(torch.from_numpy(preds), y).numpy()
    want = [r2_score(y, p, multioutput="uniform_average") for p in preds]
    np.testing.assert_allclose(got, want, atol=1e-12)
    assert got[1] == 1.0


# ------------------------------------------------------------------------------------------------------------------
# the regression kind end to end
# ------------------------------------------------------------------------------------------------------------------
def linear_targets(n_tracks, seed, dim=10, chunks=3, noise=0.05):
    """Two real-valued outputs, a fixed linear function of the chunk features (plus small noise per track)."""
    w = np.random.default_rng(99).normal(size=(dim, 2))
    rng = np.random.default_rng(seed)
    centre = rng.normal(size=(n_tracks, dim))
    x = np.repeat(centre, chunks, axis=0) + 0.1 * rng.normal(size=(n_tracks * chunks, dim))
    y_track = centre @ w * 3.0 + 5.0 + noise * rng.normal(size=(n_tracks, 2))   # not centred, not unit scale
    return ProbeData(x.astype(np.float32), np.repeat(y_track, chunks, axis=0).astype(np.float32),
                     np.repeat(np.arange(n_tracks) * 5 + 2, chunks))


def test_regression_recovers_a_linear_target():
    train, valid, test = linear_targets(120, 1), linear_targets(30, 2), linear_targets(30, 3)
    probe = fit_probe("regression", train, valid, lr=3e-2, hidden=0, dropout=0.0, max_epochs=150, patience=20,
                      batch_size=32)
    pred = probe.predict(test)
    truth = REGRESSION.track_targets(test)
    assert pred.shape == truth.shape == (30, 2)
    assert r2_score(truth, pred) > 0.97
    # the recorded validation score is the R² of the track predictions on the validation split
    assert probe.val_score == pytest.approx(r2_score(REGRESSION.track_targets(valid), probe.predict(valid)), abs=1e-9)


def test_regression_point_in_a_sweep_equals_its_single_fit():
    train, valid, test = linear_targets(40, 4), linear_targets(12, 5), linear_targets(12, 6)
    grid = {"lr": [1e-3, 1e-2], "hidden": [0, 16], "dropout": [0.0, 0.2]}
    kw = dict(max_epochs=12, patience=4, batch_size=16)
    res = sweep("regression", train, valid, grid=grid, seed=2, **kw)
    chosen = {k: res.chosen[k] for k in ("lr", "hidden", "dropout")}
    one = fit_probe("regression", train, valid, seed=2, **chosen, **kw)
    assert one.val_score == pytest.approx(res.best.val_score, abs=1e-6)
    assert one.best_epoch == res.best.best_epoch
    np.testing.assert_allclose(one.predict(test), res.best.predict(test), rtol=1e-5, atol=1e-5)
    again = sweep("regression", train, valid, grid=grid, seed=2, **kw)
    assert again.points == res.points                                   # same seed → same metrics


# ------------------------------------------------------------------------------------------------------------------
# the ordinal kind = the difficulty task's former setup (multilabel BCE + negated macro-MSE metric), exactly
# ------------------------------------------------------------------------------------------------------------------
def graded(n, seed):
    rng = np.random.default_rng(seed)
    g = rng.integers(0, 11, n)
    x = np.repeat(g, 2)[:, None] * 0.3 + rng.normal(size=(2 * n, 8))
    return ProbeData(x.astype(np.float32), np.stack([ordinal_targets(v) for v in np.repeat(g, 2)]),
                     np.repeat(np.arange(n), 2)), g


def test_ordinal_kind_equals_the_former_difficulty_setup():
    (train, _), (valid, grades), (test, _) = graded(50, 1), graded(16, 2), graded(16, 3)
    grid = {"lr": [1e-3, 3e-3], "hidden": [0, 16], "dropout": [0.0]}
    kw = dict(max_epochs=5, patience=3, batch_size=32, seed=1, grid=grid)
    m = BatchedMacroMSE(np.arange(0, 33, 2), grades)
    former = sweep("multilabel", train, valid, val_metric=batched(lambda probs: -np.asarray(m(probs))), **kw)
    now = sweep("ordinal", train, valid, **kw)
    assert now.points == former.points
    assert np.array_equal(now.best.predict(test), former.best.predict(test))
    assert now.best.val_score < 0                                      # negated macro-MSE: higher is better


# ------------------------------------------------------------------------------------------------------------------
# no kind-name branches outside probes/kinds.py
# ------------------------------------------------------------------------------------------------------------------
def test_no_kind_string_branches_remain():
    names = "|".join(re.escape(k) for k in KINDS)
    branch = re.compile(rf"""(kind\s*(==|!=|in)\s*[(\[]?\s*["']({names})["']|startswith\(["']framewise|"""
                        rf"""FRAME_KINDS|loss_for\(|loss_name)""")
    hits = []
    for folder in ("probes", "benchmarks"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            if path.name == "kinds.py":
                continue
            for i, line in enumerate(path.read_text().splitlines(), 1):
                if branch.search(line):
                    hits.append(f"{path.relative_to(ROOT)}:{i}: {line.strip()}")
    assert not hits, "\n".join(hits)


def test_output_width_checked_when_known():
    with pytest.raises(ValueError, match=r"train targets has 3 column\(s\) but the probe has 2 output\(s\)"):
        REGRESSION.check_targets(np.zeros((4, 3)), 4, "train targets", n_outputs=2)
    MULTILABEL.check_targets(np.zeros((4, 3)), 4, "train targets", n_outputs=3)
