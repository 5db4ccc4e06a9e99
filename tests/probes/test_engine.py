"""The batched probe engine — a point trained among many equals its one-point fit, the same seed gives the
same metrics run to run, the batched validation metrics equal their per-probe references, per-probe AdamW is torch's,
and the consolidated per-layer arrays rebuild when an entry changes."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.metrics import average_precision_score

from probes import batched_metrics as bm
from probes.beat_tracking import PeakFMeasure, beat_targets, interpolate_activation, peak_pick_beats
from probes.data import ProbeData
from probes.kinds import get_kind
from probes.bank import HeadBank
from probes.engine import round_schedule
from probes.optim import ProbeAdamW
from probes.metrics import beat_f_measure, classification_metrics, tagging_metrics
from probes.grid import GRID, grid_points
from probes.layers import LayerInputs, sweep_layers
from probes.training import fit_probe, sweep
from helpers import beat_sequences, clusters, tags

KW = dict(max_epochs=12, patience=4, batch_size=32)


@pytest.mark.parametrize("kind, make", [("multiclass", clusters), ("multilabel", tags)])
def test_a_point_in_the_batch_equals_its_one_point_fit(kind, make):
    train, valid, test = make(120, 1), make(40, 2), make(40, 3)
    res = sweep(kind, train, valid, seed=5, **KW)
    metric = (lambda p: classification_metrics(get_kind(kind).track_targets(test), p.predict(test))["accuracy"]) \
        if kind == "multiclass" else (lambda p: tagging_metrics(get_kind(kind).track_targets(test), p.predict(test))
                                      ["pr_auc_macro"])
    for i, point in enumerate(grid_points(GRID)):
        one = fit_probe(kind, train, valid, seed=5, **point, **KW)
        assert res.points[i]["val_score"] == pytest.approx(one.val_score, abs=1e-9), point
        assert res.points[i]["best_epoch"] == one.best_epoch, point
        if i == res.best_index:
            assert metric(res.best) == pytest.approx(metric(one), abs=1e-6)
            np.testing.assert_allclose(res.best.predict(test), one.predict(test), atol=1e-5)


def test_same_seed_same_metrics_run_to_run_and_seeds_differ():
    train, valid = tags(80, 1), tags(30, 2)
    a = sweep("multilabel", train, valid, seed=3, **KW)
    b = sweep("multilabel", train, valid, seed=3, **KW)
    c = sweep("multilabel", train, valid, seed=4, **KW)
    assert a.points == b.points
    np.testing.assert_array_equal(a.best.predict(valid), b.best.predict(valid))
    assert a.points != c.points


def test_layers_and_seeds_in_one_fit_equal_separate_fits():
    rng = np.random.default_rng(0)
    base = clusters(100, 1)
    layers = {0: base.x, 1: (base.x * 2 + rng.normal(size=base.x.shape)).astype(np.float32)}
    vbase = clusters(30, 2)
    vlayers = {0: vbase.x, 1: (vbase.x * 2 + rng.normal(size=vbase.x.shape)).astype(np.float32)}
    order_t, order_v = np.argsort(base.groups, kind="stable"), np.argsort(vbase.groups, kind="stable")

    def seg(groups):
        _, counts = np.unique(np.sort(groups), return_counts=True)
        return np.concatenate([[0], np.cumsum(counts)])

    inputs = LayerInputs(layers=[0, 1], rows=lambda l, s: (layers[l][order_t] if s == "train" else
                                                          vlayers[l][order_v]),
                         y={"train": base.y[order_t], "valid": vbase.y[order_v]},
                         segments={"train": seg(base.groups), "valid": seg(vbase.groups)}, dim=base.x.shape[1])
    grid = {"lr": [1e-3], "hidden": [0, 16], "dropout": [0.2]}
    together = sweep_layers("multiclass", inputs, grid=grid, seeds=[0, 1], n_out=8, **KW)
    for layer in (0, 1):
        for seed in (0, 1):
            alone = sweep("multiclass", ProbeData(layers[layer], base.y, base.groups),
                          ProbeData(vlayers[layer], vbase.y, vbase.groups), grid=grid, seed=seed, n_classes=8, **KW)
            assert [p["val_score"] for p in together[(layer, seed)].points] == \
                pytest.approx([p["val_score"] for p in alone.points], abs=1e-9)


def test_probe_adamw_is_torchs_adamw_per_learning_rate():
    torch.manual_seed(0)
    lrs = [1e-4, 1e-4, 3e-3]
    w = torch.randn(3, 5, 4)
    bank = torch.nn.Parameter(w.clone())
    singles = [torch.nn.Parameter(w[i].clone()) for i in range(3)]
    opt = ProbeAdamW([{"params": [bank], "lrs": lrs}], weight_decay=1e-2)
    refs = [torch.optim.AdamW([p], lr=lr, weight_decay=1e-2, fused=True) for p, lr in zip(singles, lrs)]
    for step in range(5):
        g = torch.randn(3, 5, 4)
        bank.grad = g.clone()
        opt.step()
        for i, (p, o) in enumerate(zip(singles, refs)):
            p.grad = g[i].clone()
            o.step()
    for i in range(3):
        torch.testing.assert_close(bank.data[i], singles[i].data, rtol=0, atol=0)


def test_retiring_a_probe_slices_its_bank_and_optimizer_state():
    bank = HeadBank(6, 2, 4, 3)
    for i in range(3):
        bank.init_probe(i, seed=i)
    keep = bank.probe_state(2)
    opt = ProbeAdamW([{"params": list(bank.parameters()), "lrs": [1e-3] * 3}])
    for p in bank.parameters():
        p.grad = torch.ones_like(p)
    opt.step()
    bank.keep(torch.tensor([0, 2]))
    opt.keep_group(0, torch.tensor([0, 2]), [1e-3, 1e-3])
    assert bank.n == 2 and all(s["exp_avg"].shape[0] == 2 for s in opt.state.values())
    assert not torch.equal(bank.w1[1], keep["w1"][0])  # the third probe moved into slot 1 and was updated


def test_step_schedule():
    assert round_schedule(1000, 256) == {"steps_per_epoch": 4, "steps_per_round": 4, "unit": "epoch", "val_every": 1}
    assert round_schedule(1000, 256, val_every=3)["steps_per_round"] == 12
    s = round_schedule(351_000, 256, steps_per_round=500)
    assert s["unit"] == "step" and s["steps_per_round"] == 500 and s["steps_per_epoch"] == 1372


def test_framewise_step_schedule_runs_and_records_it():
    train, valid = beat_sequences(30, 1), beat_sequences(8, 2)
    probe = fit_probe("framewise", train, valid, lr=3e-3, hidden=0, dropout=0.0, batch_size=32, steps_per_round=10,
                      max_steps=60, max_epochs=100)
    assert probe.hparams["steps_per_round"] == 10 and probe.hparams["max_steps"] == 60
    assert len(probe.history) <= 6


# ------------------------------------------------------------------------------------------------------------------
# batched metrics vs their references
# ------------------------------------------------------------------------------------------------------------------
def test_batched_average_precision_equals_sklearn_with_ties():
    rng = np.random.default_rng(0)
    for _ in range(25):
        t, k, p = int(rng.integers(5, 50)), int(rng.integers(1, 5)), int(rng.integers(1, 4))
        y = (rng.random((t, k)) < 0.3).astype(int)
        s = np.round(rng.random((p, t, k)), 1)  # many ties
        ap, scorable = bm.average_precision(torch.tensor(s, dtype=torch.float32), y)
        for i in range(p):
            for j in range(k):
                if scorable[j]:
                    assert ap[i, j].item() == pytest.approx(
                        average_precision_score(y[:, j], s[i, :, j].astype(np.float32)), abs=1e-12)


def test_batched_accuracy_breaks_ties_like_numpy():
    scores = torch.tensor([[[0.5, 0.5, 0.0], [0.1, 0.9, 0.9]]], dtype=torch.float64)
    assert bm.accuracy(scores, [0, 1]).item() == 1.0


def test_batched_peak_f_measure_equals_scipy_and_mir_eval():
    rng = np.random.default_rng(1)
    eps = 15.625
    for _ in range(10):
        lens = rng.integers(60, 500, int(rng.integers(2, 6)))
        seg = np.concatenate([[0], np.cumsum(lens)])
        refs = [np.arange(rng.uniform(0, 0.5), n / eps, rng.uniform(0.3, 0.9)) for n in lens]
        acts = np.zeros((3, seg[-1]), dtype=np.float32)
        for p in range(3):
            for t, n in enumerate(lens):
                y = beat_targets(refs[t] + rng.normal(0, 0.02, len(refs[t])), n, eps)
                acts[p, seg[t]:seg[t + 1]] = np.clip(y * rng.uniform(0.3, 1) + rng.random(n) * 0.5 * rng.random(), 0, 1)
        for relative in (False, True):
            got = PeakFMeasure(seg, eps, refs, relative=relative)(torch.from_numpy(acts))
            for p in range(3):
                ests = [peak_pick_beats(interpolate_activation(acts[p, seg[t]:seg[t + 1]], eps, 100.0),
                                        relative=relative) for t in range(len(lens))]
                assert got[p] == pytest.approx(beat_f_measure(refs, ests), abs=1e-9), relative


def test_relative_peak_height_ignores_scale_and_offset():
    eps, n = 15.625, 400
    refs = [np.arange(0.3, n / eps, 0.5)]
    y = beat_targets(refs[0], n, eps)
    acts = np.stack([y, 0.2 + 0.1 * y, np.full(n, 0.7)]).astype(np.float32)   # sharp, faint and flat
    rel = PeakFMeasure([0, n], eps, refs, relative=True)(torch.from_numpy(acts))
    fixed = PeakFMeasure([0, n], eps, refs)(torch.from_numpy(acts))
    assert rel[0] == rel[1] > 0.9 and rel[2] == 0.0     # the faint activation keeps its peaks, a flat one has none
    assert fixed[0] > 0.9 and fixed[1] == 0.0


# ------------------------------------------------------------------------------------------------------------------
# consolidated arrays
# ------------------------------------------------------------------------------------------------------------------
def test_consolidated_arrays_are_reused_and_rebuilt_when_an_entry_changes(tmp_path):
    from benchmarks.arrays import CorruptEntries, consolidate
    from benchmarks.cache import EmbeddingCache

    cache = EmbeddingCache(tmp_path)
    rng = np.random.default_rng(0)
    entries, data = {}, {}
    for i in range(5):
        p = cache.entry("a" * 40, "k", f"{i:040x}")
        arrs = {layer: rng.standard_normal((i + 1, 3)).astype(np.float32) for layer in (0, 1)}
        cache.write(p, arrs, {})
        entries[f"x{i}"], data[f"x{i}"] = p, arrs
    ids = ["x3", "x1", "x4"]
    a = consolidate(cache, entries, ids, [1])
    np.testing.assert_array_equal(a.take(1, ["x1", "x4"]), np.concatenate([data["x1"][1], data["x4"][1]]))
    layer_file = a.folder / "layer_1.idx.npy"
    stamp = layer_file.stat().st_mtime_ns
    consolidate(cache, entries, ids, [1])
    assert layer_file.stat().st_mtime_ns == stamp                      # reused
    cache.write(entries["x3"], {2: np.zeros((4, 3), np.float32)}, {})  # a layer added: the members moved
    c = consolidate(cache, entries, ids, [1])                           # indexed again, values unchanged
    assert layer_file.stat().st_mtime_ns != stamp
    np.testing.assert_array_equal(c.take(1, ["x3", "x1"]), np.concatenate([data["x3"][1], data["x1"][1]]))
    assert not list(c.folder.glob("*.f32"))                             # no second copy of the vectors
    new = {1: rng.standard_normal((4, 3)).astype(np.float32)}
    cache.write(entries["x3"], new, {})                                 # layer 1 recomputed: rebuilt
    b = consolidate(cache, entries, ids, [1])
    np.testing.assert_array_equal(b.take(1, ["x3"]), new[1])
    raw = bytearray(entries["x1"].read_bytes())
    at = bytes(raw).index(data["x1"][0].tobytes())   # a byte of layer 0's values: the zip directory stays intact
    raw[at + 5] ^= 0xFF
    entries["x1"].write_bytes(bytes(raw))
    with pytest.raises(CorruptEntries) as e:
        consolidate(cache, entries, ids, [0])
    assert [err.path for err in e.value.errors] == [entries["x1"]]


def test_count_flops_counts_each_training_step_and_validation_pass():
    from probes.flops import count_flops, head_flops

    train, valid = tags(80, 1), tags(30, 2)
    with count_flops() as flops:
        fit_probe("multilabel", train, valid, lr=1e-3, hidden=8, dropout=0.0, max_epochs=3, patience=10,
                  batch_size=32)
    (n_tr, d), n_va, k = train.x.shape, valid.x.shape[0], np.asarray(train.y).shape[1]
    per_row_train, per_row_fwd = head_flops(d, 8, k)
    assert (flops["train"], flops["eval"]) == (3 * n_tr * per_row_train, 3 * n_va * per_row_fwd)
    assert flops["steps"] == 3 * -(-n_tr // 32) and flops["profiled_steps"] == 0   # ceil(rows / batch) an epoch
    with count_flops() as none:
        pass
    assert (none["train"], none["eval"], none["steps"]) == (0, 0, 0)


def test_launch_count_of_profiled_steps():
    """The perf script's launch count: kernels on CUDA, dispatched operators that run a kernel on CPU (views and
    no-op conversions excluded); a 12-point sweep's step launches more than a one-probe step."""
    from torch.profiler import profile

    from probes.flops import count_flops, launches
    from probes.grid import GRID

    a = torch.randn(8, 8)
    with profile() as prof:
        b = a.view(64).reshape(8, 8).to(torch.float32)   # views and a no-op conversion: no kernel
        torch.mm(b, b.t()).add_(1.0)                      # two kernels
    assert launches(prof.events(), cuda=False) == 2
    train, valid = tags(80, 1), tags(30, 2)
    counts = {}
    for name, grid in (("one", {"lr": [1e-3], "hidden": [8], "dropout": [0.0]}), ("sweep", GRID)):
        with count_flops(profile_steps=2, skip_steps=1) as flops:
            sweep("multilabel", train, valid, grid=grid, max_epochs=2, patience=10, batch_size=32)
        assert flops["steps"] == 2 * -(-train.x.shape[0] // 32) and flops["profiled_steps"] == 2
        counts[name] = flops["launches"] / 2
    assert 5 <= counts["one"] < counts["sweep"]


@pytest.mark.parametrize("kind, make, n_tracks, batch", [("multiclass", clusters, (75, 70), 32),
                                                         ("multilabel", tags, (64, 60), 32),
                                                         ("framewise", beat_sequences, (12, 12), 256)])
def test_folds_in_one_fit_equal_one_fit_per_fold(kind, make, n_tracks, batch):
    """Two groups (folds) of different sizes in one fit: each probe equals its probe in a fit of its own fold —
    validation scores, best epochs, histories and test predictions — though one fold's last batch of every epoch
    is padded to the other's and masked out of its loss. Dropout, two seeds, linear and MLP heads."""
    from probes.data import Standardizer
    from probes.training import sweep_groups, sweep_many, to_split

    grid = {"lr": [1e-3, 1e-2], "hidden": [0, 8], "dropout": [0.0, 0.3]}
    folds = []
    for f, n in enumerate(n_tracks):
        train, valid = make(n, 10 + f), make(20, 20 + f)
        std = Standardizer.fit(get_kind(kind).flat(train)[0])
        folds.append((to_split(kind, train, std), to_split(kind, valid, std), std))
    kw = dict(max_epochs=6, patience=3, batch_size=batch)
    steps = [round_schedule(t.n_rows, batch)["steps_per_round"] for t, _, _ in folds]
    assert steps[0] == steps[1] and folds[0][0].n_rows != folds[1][0].n_rows   # padded steps do happen
    n_out = 8 if kind == "multiclass" else int(folds[0][0].y.shape[1])
    joint = sweep_groups(kind, [t for t, _, _ in folds], [v for _, v, _ in folds], grid=grid, seeds=[1, 2],
                         standardizers=[[s] for _, _, s in folds], n_out=n_out, **kw)
    test = make(15, 99)
    for g, (train, valid, std) in enumerate(folds):
        alone = sweep_many(kind, train, valid, grid=grid, seeds=[1, 2], standardizers=[std], n_out=n_out, **kw)
        for seed in (1, 2):
            a, b = joint[(g, 0, seed)], alone[(0, seed)]
            assert [p["best_epoch"] for p in a.points] == [p["best_epoch"] for p in b.points]
            np.testing.assert_allclose([p["val_score"] for p in a.points], [p["val_score"] for p in b.points],
                                       atol=1e-6)
            assert a.best_index == b.best_index
            assert len(a.best.history) == len(b.best.history)
            pa, pb = a.best.predict(test), b.best.predict(test)
            for x, y in zip(pa if isinstance(pa, list) else [pa], pb if isinstance(pb, list) else [pb]):
                np.testing.assert_allclose(x, y, atol=1e-5)


def test_groups_of_one_fit_must_share_their_rounds():
    from probes.engine import fit_many
    from probes.spec import ProbeSpec, Split

    a, b = tags(40, 1), tags(80, 2)
    splits = [Split(torch.from_numpy(d.x)[None], torch.from_numpy(d.y), np.arange(len(d.x) + 1)) for d in (a, b)]
    specs = [ProbeSpec(lr=1e-3, hidden=0, dropout=0.0, group=g) for g in (0, 1)]
    with pytest.raises(ValueError, match="same number of steps"):
        fit_many(specs, splits, splits, kind="multilabel", out_dim=5, val_metric=[lambda p: np.zeros(len(p))] * 2,
                 batch_size=32)


def test_a_fold_that_stops_first_leaves_the_fit_and_the_others_still_equal_their_own_fits():
    """Two folds validating every 2 steps, one with half the rows: with the same epoch cap the small fold stops after
    3 rounds and the large one trains 3 more without it (its rows are no longer gathered). Both equal their own
    fits: the same validation scores and best epochs, weights to 1e-6."""
    from probes.data import Standardizer
    from probes.engine import BatchedProbes
    from probes.training import sweep_groups, sweep_many, to_split

    folds = []
    for f, n in enumerate((32, 64)):                     # 2 chunks a track: 64 and 128 rows, 2 and 4 batches
        train, valid = tags(n, 30 + f), tags(20, 40 + f)
        std = Standardizer.fit(get_kind("multilabel").flat(train)[0])
        folds.append((to_split("multilabel", train, std), to_split("multilabel", valid, std), std))
    kw = dict(max_epochs=3, patience=50, batch_size=32, steps_per_round=2)
    grid = {"lr": [1e-3, 1e-2], "hidden": [0, 8], "dropout": [0.0, 0.3]}
    live = []
    step = BatchedProbes._step

    def spy(self, batch):
        live.append(tuple(self.live_groups()))
        return step(self, batch)

    BatchedProbes._step = spy
    try:
        joint = sweep_groups("multilabel", [t for t, _, _ in folds], [v for _, v, _ in folds], grid=grid,
                             seeds=[1], standardizers=[[s] for *_, s in folds], n_out=5, **kw)
    finally:
        BatchedProbes._step = step
    assert live == [(0, 1)] * 6 + [(1,)] * 6
    for g, (train, valid, std) in enumerate(folds):
        alone = sweep_many("multilabel", train, valid, grid=grid, seeds=[1], standardizers=[std], n_out=5, **kw)
        a, b = joint[(g, 0, 1)], alone[(0, 1)]
        assert [p["val_score"] for p in a.points] == [p["val_score"] for p in b.points]
        assert [p["best_epoch"] for p in a.points] == [p["best_epoch"] for p in b.points]
        for k, v in a.best.bank.state_dict().items():
            torch.testing.assert_close(v, b.best.bank.state_dict()[k], rtol=0, atol=1e-6)
