"""Bootstrap confidence intervals and paired tests over test tracks, from the records' sidecars.

Only the resampling lives here; every metric is recomputed by its task (:meth:`benchmarks.tasks.Task.
resample_metrics`, which calls the same mir_eval / scikit-learn functions the run used). This module reads records
and sidecars and never imports the runner.

Conventions (stated in every table and report that shows these numbers):

- **Resamples**: :data:`N_RESAMPLES` = 1000 bootstrap resamples of the test tracks, drawn with
  ``numpy.random.default_rng(`` :data:`SEED` ``)``. Tracks are resampled *within each fold* (a split is one fold;
  cross-validation resamples each fold's test tracks separately, in fold order), and every fold × seed run of the
  record is scored on its fold's resample; a resample's value is the mean over runs, as the record's ``metrics``.
  Corpus-level metrics (macro PR-AUC, pooled F, WCSR, macro-MSE) are recomputed on each resample; metrics that are
  means over tracks are means of the resampled tracks' values.
- **Interval**: the 95 % percentile interval (2.5th and 97.5th percentiles of the resampled values).
- **Seeds** are not resampled: ``seed_std`` is the standard deviation over the record's seeds (of each seed's mean
  over folds), shown beside the interval; None with one seed.
- **Paired test** of two records on the same test tracks: both are scored on the *same* resamples (the tracks are
  matched by id within folds); the difference is A − B, its interval the percentile interval of the resampled
  differences, and the two-sided p-value ``min(1, 2 min(#{d ≤ 0} + 1, #{d ≥ 0} + 1) / (B + 1))``.
- **Marks in a table column**: the best cell, and each cell whose paired test against it is not significant at
  :data:`ALPHA` = 0.05 after Holm's step-down correction over the comparisons of that column.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from benchmarks.sidecar import Tracks
from omar_rq.errors import UserError

N_RESAMPLES = 1000
SEED = 20211
CONFIDENCE = 0.95
ALPHA = 0.05
RULE = (f"95 % percentile bootstrap over test tracks ({N_RESAMPLES} resamples, seed {SEED}; resampled within folds, "
        "corpus metrics recomputed per resample); marks: best cell, and cells not significantly worse than it by a "
        f"paired bootstrap on the same resamples (two-sided, α = {ALPHA}, Holm-corrected over the column)")


class NotPaired(UserError, ValueError):
    """Two records cannot be compared track by track (different test tracks or folds); the message says why."""


@dataclass(frozen=True)
class Interval:
    """A metric's value on the test set, its bootstrap interval and the spread over seeds."""

    metric: str
    value: float
    low: float
    high: float
    seed_std: float | None
    n_tracks: int
    n_resamples: int = N_RESAMPLES
    seed: int = SEED


@dataclass(frozen=True)
class Comparison:
    """A paired comparison of A and B on one metric: ``diff`` = A − B on the test set, its interval, the p-value."""

    metric: str
    value_a: float
    value_b: float
    diff: float
    low: float
    high: float
    p_value: float
    n_tracks: int
    n_resamples: int = N_RESAMPLES
    seed: int = SEED


def fold_resamples(fold_sizes: dict[int, int], n_resamples: int = N_RESAMPLES, seed: int = SEED) -> dict:
    """``{fold: (B, n_fold) int}`` resample indices (with replacement) within each fold, folds in ascending order
    from one generator: the same folds, B and seed always give the same resamples."""
    rng = np.random.default_rng(seed)
    return {f: rng.integers(0, n, size=(n_resamples, n)) for f, n in sorted(fold_sizes.items())}


def _identity(tracks: Tracks) -> dict:
    return {f: np.arange(len(ids))[None] for f, ids in tracks.fold_ids().items()}


def _per_run(task, tracks: Tracks, idx: dict, wanted=None) -> list[dict]:
    return [task.resample_metrics(run, idx[f], wanted) for run, f in zip(tracks.runs, tracks.folds)]


def _mean_runs(per_run: list[dict], runs=None) -> dict:
    chosen = [per_run[i] for i in (runs if runs is not None else range(len(per_run)))]
    keys = set.intersection(*(set(r) for r in chosen)) if chosen else set()
    return {k: np.mean([r[k] for r in chosen], axis=0) for k in sorted(keys)}


def distributions(task, tracks: Tracks, idx: dict, wanted=None) -> dict[str, np.ndarray]:
    """``{metric: (B,)}``: each resample's value (mean over the record's runs of the run's value on its fold's
    resample ``idx[fold]``); ``wanted``: only these metrics (None: all)."""
    return _mean_runs(_per_run(task, tracks, idx, wanted))


_DIST: dict[tuple, tuple[Tracks, dict]] = {}


def _own_distributions(task, tracks: Tracks, n_resamples: int, seed: int, wanted=None) -> dict[str, np.ndarray]:
    """:func:`distributions` on the record's own resamples, remembered per ``tracks`` object (the interval and every
    paired test of a record on the same tracks in the same order share them) and, for tracks read from a sidecar,
    in the sidecar's memo file (:mod:`benchmarks.bootstrap_memo`: later processes read them back)."""
    from benchmarks import bootstrap_memo

    key = (task.name, id(tracks), n_resamples, seed, None if wanted is None else frozenset(wanted))
    if key not in _DIST or _DIST[key][0] is not tracks:
        dist = bootstrap_memo.load(task.name, tracks, n_resamples, seed, wanted)
        if dist is None:
            sizes = {f: len(ids) for f, ids in tracks.fold_ids().items()}
            dist = distributions(task, tracks, fold_resamples(sizes, n_resamples, seed), wanted)
            bootstrap_memo.save(task.name, tracks, n_resamples, seed, wanted, dist)
        _DIST[key] = (tracks, dist)
    return _DIST[key][1]


def _percentiles(values: np.ndarray) -> tuple[float, float]:
    v = values[np.isfinite(values)]
    if v.size < 0.5 * values.size or v.size == 0:   # a metric undefined on most resamples has no interval
        return math.nan, math.nan
    tail = 100 * (1 - CONFIDENCE) / 2
    lo, hi = np.percentile(v, [tail, 100 - tail])
    return float(lo), float(hi)


_MEMO: dict[tuple, tuple[Tracks, dict]] = {}


def intervals(task, tracks: Tracks, n_resamples: int = N_RESAMPLES, seed: int = SEED,
              metrics=None) -> dict[str, Interval]:
    """Every metric the record's per-track arrays determine (or those named in ``metrics``), with its interval and
    seed spread (remembered per ``tracks`` object: the tables, the curves and ``compare`` ask for the same
    record's intervals)."""
    wanted = None if metrics is None else frozenset(metrics)
    key = (task.name, id(tracks), n_resamples, seed, wanted)
    if key in _MEMO and _MEMO[key][0] is tracks:
        return _MEMO[key][1]
    out = _intervals(task, tracks, n_resamples, seed, wanted)
    _MEMO[key] = (tracks, out)
    return out


def _intervals(task, tracks: Tracks, n_resamples: int, seed: int, wanted) -> dict[str, Interval]:
    sizes = {f: len(ids) for f, ids in tracks.fold_ids().items()}
    point_runs = _per_run(task, tracks, _identity(tracks), wanted)
    point = _mean_runs(point_runs)
    dist = _own_distributions(task, tracks, n_resamples, seed, wanted)
    seeds = sorted(set(tracks.seeds))
    by_seed = [_mean_runs(point_runs, [i for i, s in enumerate(tracks.seeds) if s == sd]) for sd in seeds]
    out = {}
    for k in point:
        if k not in dist:
            continue
        lo, hi = _percentiles(dist[k])
        spread = float(np.std([b[k][0] for b in by_seed])) if len(seeds) > 1 else None
        out[k] = Interval(k, float(point[k][0]), lo, hi, spread, sum(sizes.values()), n_resamples, seed)
    return out


def align(a: Tracks, b: Tracks) -> Tracks:
    """``b`` with its folds matched to ``a``'s (same test track ids) and its rows in ``a``'s order; raises
    :class:`NotPaired` when some fold of ``a`` has no fold of ``b`` with the same tracks."""
    b_folds = {frozenset(ids): (f, ids) for f, ids in b.fold_ids().items()}
    fold_map, perms = {}, {}
    for f, ids in a.fold_ids().items():
        hit = b_folds.get(frozenset(ids))
        if hit is None or len(hit[1]) != len(ids):
            common = len(set(ids) & {t for i in b.ids for t in i})
            raise NotPaired(f"the records do not share test tracks (fold {f} of A has {len(ids)} tracks; "
                            f"{common} of them are in B's test sets, not as one fold)")
        pos = {t: i for i, t in enumerate(hit[1])}
        fold_map[hit[0]] = f
        perms[hit[0]] = np.array([pos[t] for t in ids])
    runs, folds, seeds, ids = [], [], [], []
    for run, f, s in zip(b.runs, b.folds, b.seeds):
        if f not in fold_map:
            continue
        runs.append({k: v[perms[f]] for k, v in run.items()})
        folds.append(fold_map[f])
        seeds.append(s)
        ids.append(a.fold_ids()[fold_map[f]])
    return Tracks(tuple(runs), tuple(folds), tuple(seeds), tuple(ids))


def p_value(diffs: np.ndarray) -> float:
    """Two-sided bootstrap p-value of "no difference" from resampled differences (module docstring)."""
    d = diffs[np.isfinite(diffs)]
    if d.size == 0:
        return math.nan
    return float(min(1.0, 2 * min(np.sum(d <= 0) + 1, np.sum(d >= 0) + 1) / (d.size + 1)))


def paired(task, a: Tracks, b: Tracks, metric: str, n_resamples: int = N_RESAMPLES,
           seed: int = SEED) -> Comparison:
    """A paired bootstrap of A − B on ``metric`` over the same resamples of the shared test tracks."""
    original, b = b, align(a, b)
    sizes = {f: len(ids) for f, ids in a.fold_ids().items()}
    wanted = frozenset([metric])
    point_a = _mean_runs(_per_run(task, a, _identity(a), wanted))
    point_b = _mean_runs(_per_run(task, b, _identity(a), wanted))
    if metric not in point_a or metric not in point_b:
        raise NotPaired(f"metric {metric!r} cannot be recomputed from both records' per-track arrays "
                        f"(A has {', '.join(point_a) or 'none'})")
    dist_a = _own_distributions(task, a, n_resamples, seed, wanted)
    if (b.folds, b.ids) == (original.folds, original.ids):   # same folds, same order: B's own resamples are A's
        dist_b = _own_distributions(task, original, n_resamples, seed, wanted)
    else:
        dist_b = distributions(task, b, fold_resamples(sizes, n_resamples, seed), wanted)
    d = dist_a[metric] - dist_b[metric]
    lo, hi = _percentiles(d)
    va, vb = float(point_a[metric][0]), float(point_b[metric][0])
    return Comparison(metric, va, vb, va - vb, lo, hi, p_value(d), sum(sizes.values()), n_resamples, seed)


def holm(p_values: list[float]) -> list[float]:
    """Holm's step-down adjusted p-values (same order as given; NaN stays NaN and does not count)."""
    finite = [(p, i) for i, p in enumerate(p_values) if not math.isnan(p)]
    finite.sort()
    m, out, running = len(finite), list(p_values), 0.0
    for rank, (p, i) in enumerate(finite):
        running = max(running, min(1.0, (m - rank) * p))
        out[i] = running
    return out


BEST, NOT_WORSE = "★", "≈"


def column_marks(task, entries: list[tuple[float, Tracks | None]], lower_is_better: bool,
                 metric: str) -> list[str]:
    """Marks of one table column: ``entries`` = per cell (measured value, per-track arrays or None). The best value
    gets :data:`BEST`; every other cell whose paired test against the best is not significant at :data:`ALPHA`
    after Holm's correction over the column's comparisons gets :data:`NOT_WORSE`. Cells that cannot be paired with
    the best (no sidecar, other tracks) get no mark and are not counted in the correction. Ties for best are all
    marked best."""
    if not entries:
        return []
    oriented = [-v if lower_is_better else v for v, _ in entries]
    top = max(oriented)
    best = oriented.index(top)
    marks = [BEST if o == top else "" for o in oriented]
    best_tracks = entries[best][1]
    tested, ps = [], []
    for i, (_, tracks) in enumerate(entries):
        if marks[i] or best_tracks is None or tracks is None or task is None:
            continue
        try:
            ps.append(paired(task, best_tracks, tracks, metric).p_value)
        except NotPaired:
            continue
        tested.append(i)
    for i, p in zip(tested, holm(ps)):
        if not math.isnan(p) and p >= ALPHA:
            marks[i] = NOT_WORSE
    return marks
