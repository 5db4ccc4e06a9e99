"""Evaluation metrics for the probe tasks (pure functions over numpy arrays).

All scores follow "higher is better" and are returned as plain Python floats/ints in dicts whose keys are the
result-record metric names. The heavy lifting is delegated to scikit-learn (ROC-AUC, average precision, accuracy)
and mir_eval (beat metrics, event matching). One exception: :func:`tagging_metrics_weighted` computes the macro
ROC-AUC and average precision of many weighted copies of one set at once (the bootstrap resamples), by hand and
exactly as scikit-learn does, because calling scikit-learn once per tag per resample costs minutes per record.
(A little over 400 lines: the tagging, classification, pitch and beat metrics the clip tasks share.)

Conventions
-----------
- Scores passed in are *track-level* (chunk predictions already averaged per track, see ``probes.data``).
- ``argmax`` ties resolve to the lowest class index (numpy's convention).
- Beat times are in seconds, 1-D, ascending.
"""
from __future__ import annotations

import warnings
from typing import Sequence

import mir_eval
import numpy as np
from sklearn.metrics import accuracy_score, average_precision_score, roc_auc_score

#: mir_eval.beat.evaluate key → our snake_case key.
BEAT_KEYS = {
    "F-measure": "f_measure",
    "Cemgil": "cemgil",
    "Cemgil Best Metric Level": "cemgil_best_metric_level",
    "Goto": "goto",
    "P-score": "p_score",
    "Correct Metric Level Continuous": "cmlc",
    "Correct Metric Level Total": "cmlt",
    "Any Metric Level Continuous": "amlc",
    "Any Metric Level Total": "amlt",
    "Information gain": "information_gain",
}

#: F-measure tolerance window (s) used for beats and downbeats: ±70 ms, mir_eval's default.
F_MEASURE_WINDOW_S = 0.07

#: MIDI range of the 88 piano keys (A0 = 21 … C8 = 108), the label set HEAR's NSynth pitch task uses.
MIDI_88 = (21, 108)


# ----------------------------------------------------------------------------------------------------------------
# Clip-level
# ----------------------------------------------------------------------------------------------------------------
def tagging_metrics(y_true: np.ndarray, y_score: np.ndarray, tag_names: Sequence[str] | None = None,
                    per_tag: bool = False) -> dict:
    """Macro-averaged ROC-AUC and PR-AUC over tags (multi-label tagging, e.g. MTAT).

    Parameters
    ----------
    y_true : np.ndarray, shape (n, K)
        Binary ground truth (values in {0, 1}, bool accepted), one row per track.
    y_score : np.ndarray, shape (n, K)
        Real-valued scores (e.g. track-averaged sigmoid outputs); only their per-tag ranking matters.
    tag_names : sequence of str, optional
        Names of the K tags, used to report excluded tags (indices are reported otherwise).
    per_tag : bool
        Also return ``"roc_auc_per_tag"`` / ``"pr_auc_per_tag"``: ``{tag: value}`` for the scored tags.

    Returns
    -------
    dict
        ``roc_auc_macro``: unweighted mean over scored tags of ``sklearn.metrics.roc_auc_score``;
        ``pr_auc_macro``: unweighted mean over scored tags of ``sklearn.metrics.average_precision_score`` (average
        precision, i.e. the step-wise PR-AUC; the tables' "mAP");
        ``n_tags_scored``: number of tags averaged;
        ``excluded_tags``: names (or int indices) of tags excluded because ``y_true`` has no positive or no negative
        for them (either AUC is undefined there). If no tag can be scored both means are ``nan`` (no exception).
    """
    y_true, y_score, scored = _scorable_tags(y_true, y_score)
    names = list(tag_names) if tag_names is not None else list(range(y_true.shape[1]))
    if len(names) != y_true.shape[1]:
        raise ValueError(f"{len(names)} tag names for {y_true.shape[1]} tags")
    kept = [names[k] for k in np.flatnonzero(scored)]
    roc = _per_tag(roc_auc_score, y_true[:, scored], y_score[:, scored])
    ap = _per_tag(average_precision_score, y_true[:, scored], y_score[:, scored])
    out = {
        "roc_auc_macro": float(np.mean(roc)) if roc.size else float("nan"),
        "pr_auc_macro": float(np.mean(ap)) if ap.size else float("nan"),
        "n_tags_scored": int(scored.sum()),
        "excluded_tags": [names[k] for k in np.flatnonzero(~scored)],
    }
    if per_tag:
        out["roc_auc_per_tag"] = {n: float(v) for n, v in zip(kept, roc)}
        out["pr_auc_per_tag"] = {n: float(v) for n, v in zip(kept, ap)}
    return out


def pr_auc_macro(y_true: np.ndarray, y_score: np.ndarray) -> float:
    """``tagging_metrics(y_true, y_score)["pr_auc_macro"]`` without the ROC-AUC (half the cost; the validation
    metric of multilabel probes)."""
    y_true, y_score, scored = _scorable_tags(y_true, y_score)
    ap = _per_tag(average_precision_score, y_true[:, scored], y_score[:, scored])
    return float(np.mean(ap)) if ap.size else float("nan")


#: Resamples × rows processed at once by :func:`tagging_metrics_weighted` (bounds its temporaries: a few float64
#: arrays of this many elements, 32 MiB each), and at most :data:`WEIGHTED_MAX_RESAMPLES` resamples at once (the
#: binned sums are fastest when a chunk of weights stays in cache).
WEIGHTED_CHUNK = 1 << 22
WEIGHTED_MAX_RESAMPLES = 128


def tagging_metrics_weighted(y_true: np.ndarray, y_score: np.ndarray, weights: np.ndarray) -> dict[str, np.ndarray]:
    """:func:`tagging_metrics`'s two macro means on many row-weighted copies of one set at once (bootstrap resamples).

    Row ``b`` of ``weights`` is a resample given as the number of times each row of ``(y_true, y_score)`` is drawn
    (``np.bincount(idx, minlength=n)`` of the resample's row indices ``idx``). For integer weights the result of row
    ``b`` is exactly ``tagging_metrics(y_true[idx], y_score[idx])`` (the rows repeated, ties kept) up to float
    rounding (≲ 1e-13), and for any weights ``average_precision_score`` / ``roc_auc_score`` with
    ``sample_weight=weights[b]``, per tag:

    - the rows are sorted once by descending score; at each distinct score (a tie group is one threshold) the
      cumulative weighted true positives ``TP`` and false positives ``FP`` give precision ``TP / (TP + FP)`` (0 when
      that is 0) and recall ``R = TP / P`` (``P``, ``N``: the total positive and negative weight);
    - average precision = ``Σ_i (R_i − R_{i−1}) · precision_i`` over the thresholds in descending score (``R_{−1} =
      0``; step-wise, no interpolation), clipped at 0 as scikit-learn does;
    - ROC-AUC = the trapezoid rule over the ROC points ``(FP / N, TP / P)`` preceded by ``(0, 0)``;
    - a tag is scored on resample ``b`` only if ``P > 0`` and ``N > 0`` there (:func:`tagging_metrics` excludes a tag
      without a positive or without a negative in the same way); each macro mean is over the tags scored on that
      resample, ``nan`` when there are none.

    Written by hand because scikit-learn's per-call overhead (input validation, ``np.unique``, one sort per call)
    times B resamples × K tags × 2 metrics dominates a bootstrap (1000 × 50 × 2 calls, ~3 min, for MTAT's 4,332
    test tracks; this takes ~1 s). Here each tag is sorted once; the rows are binned by the thresholds that hold a
    positive row (and the gaps between them: only those thresholds change the recall or the area left of the ROC
    curve, so AP sums over them and ROC-AUC is computed as 1 − the trapezoid area left of the curve, equal to the
    area under it), one sparse product gives every bin's weight in every resample, and cumulative sums over the bins
    give TP and FP at those thresholds. Resamples are processed in chunks (:data:`WEIGHTED_CHUNK`).

    Parameters
    ----------
    y_true : np.ndarray, shape (n, K)
        Binary ground truth (values in {0, 1}, bool accepted).
    y_score : np.ndarray, shape (n, K)
        Real-valued scores (finite).
    weights : np.ndarray, shape (B, n) or (n,)
        Non-negative finite row weights, one row per resample.

    Returns
    -------
    dict
        ``pr_auc_macro`` and ``roc_auc_macro``: ``(B,)`` float64.
    """
    y_true, y_score, _ = _scorable_tags(y_true, y_score)
    w = np.asarray(weights, dtype=np.float64)
    w = w[None] if w.ndim == 1 else w
    n, k_tags = y_true.shape
    if w.ndim != 2 or w.shape[1] != n:
        raise ValueError(f"weights must be (B, {n}) for {n} rows; got {np.shape(weights)}")
    if not (np.isfinite(w).all() and (w >= 0).all()):
        raise ValueError("weights must be finite and non-negative")
    n_res = w.shape[0]
    ap, roc = np.full((k_tags, n_res), np.nan), np.full((k_tags, n_res), np.nan)
    sums, tags = _threshold_bins(y_true, y_score)
    step = max(1, min(WEIGHTED_MAX_RESAMPLES, WEIGHTED_CHUNK // max(n, sums.shape[0], 1)))
    for lo in range(0, n_res, step):
        wt = np.ascontiguousarray(w[lo:lo + step].T)              # (n, b): the product streams rows of it
        binned = sums @ wt                                         # (bins, b) weight per bin and resample
        total = wt.sum(axis=0)
        for k, every, positive in tags:
            cum_all = np.cumsum(binned[every], axis=0)             # (2h, b): by gap 0, group 0, gap 1, group 1, …
            cum_pos = _padded_cumsum(binned[positive])             # (h + 1, b)
            tp_incl, tp_prev = cum_pos[1:], cum_pos[:-1]           # true positives at group g's end, before it
            p_tot = cum_pos[-1]
            n_tot = total - p_tot
            called = cum_all[1::2]                                 # every row scored ≥ group g's score
            fp_incl, fp_prev = called - tp_incl, cum_all[0::2] - tp_prev
            with np.errstate(invalid="ignore", divide="ignore"):   # resamples without a positive: not kept
                # average precision: only thresholds that add true positives move the recall (the others add 0)
                precision = np.divide(tp_incl, called, out=np.zeros_like(tp_incl), where=called != 0)
                ap_k = np.maximum(0.0, np.sum((tp_incl / p_tot - tp_prev / p_tot) * precision, axis=0))
                # ROC-AUC: the trapezoid area under the curve is 1 − the trapezoid area left of it (the curve runs
                # from (0, 0) to (1, 1)), and only thresholds that add true positives have area left of the curve
                left = np.sum((tp_incl - tp_prev) * (fp_incl + fp_prev), axis=0)
                roc_k = 1.0 - left / (2.0 * p_tot * n_tot)
            ok = (p_tot > 0) & (n_tot > 0)
            ap[k, lo:lo + step] = np.where(ok, ap_k, np.nan)
            roc[k, lo:lo + step] = np.where(ok, roc_k, np.nan)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)   # a resample where no tag is scored: nan
        return {"pr_auc_macro": np.nanmean(ap, axis=0), "roc_auc_macro": np.nanmean(roc, axis=0)}


def _threshold_bins(y_true: np.ndarray, y_score: np.ndarray):
    """The rows' bins for :func:`tagging_metrics_weighted`: a sparse ``(bins, n)`` 0/1 matrix (``sums @ w.T`` gives
    each bin's weight) and per tag ``(k, every, positive)`` slices of its bins. A tag's *groups* are the tie groups
    (distinct scores) holding a positive row, ``h`` of them in descending score; its ``every`` bins are, for each
    group ``g``, the rows scored between group ``g − 1`` and group ``g`` (a gap) then the rows of group ``g``; its
    ``positive`` bins the positive rows of each group. Rows scored below the last group are in no bin."""
    from scipy import sparse

    n, k_tags = y_true.shape
    rows, cols, tags = [], [], []
    at = 0
    for k in range(k_tags):
        order = np.argsort(-y_score[:, k], kind="stable")        # rows by descending score
        first = np.append(True, np.diff(y_score[order, k]) != 0)   # a tie group (one threshold) starts here
        group = np.cumsum(first) - 1                               # each sorted row's tie group
        pos = np.flatnonzero(y_true[order, k])                     # sorted positions of the positive rows
        hit, hit_of_pos = np.unique(group[pos], return_inverse=True)
        h = hit.size
        if h == 0:
            continue
        starts = np.flatnonzero(first)[hit]
        ends = np.append(np.flatnonzero(first), n)[hit + 1] - 1
        j = np.arange(n)
        c = np.searchsorted(starts, j, "right")                    # groups starting at or before position j
        inside = (c > 0) & (j <= ends[np.maximum(c - 1, 0)])
        b = np.where(inside, 2 * c - 1, 2 * c)                     # group g → bin 2g + 1, the gap before it → 2g
        keep = b < 2 * h
        rows += [at + b[keep], at + 2 * h + hit_of_pos.reshape(-1)]
        cols += [order[keep], order[pos]]
        tags.append((k, slice(at, at + 2 * h), slice(at + 2 * h, at + 3 * h)))
        at += 3 * h
    r = np.concatenate(rows) if rows else np.zeros(0, dtype=np.int64)
    c = np.concatenate(cols) if cols else np.zeros(0, dtype=np.int64)
    return sparse.csr_array((np.ones(r.size), (r, c)), shape=(at, n)), tags


def _padded_cumsum(w: np.ndarray) -> np.ndarray:
    """``(m + 1, …)``: row ``j`` = the sum of the first ``j`` rows of ``w`` (row 0 is 0)."""
    out = np.zeros((w.shape[0] + 1,) + w.shape[1:])
    np.cumsum(w, axis=0, out=out[1:])
    return out


def _scorable_tags(y_true, y_score) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    y_true = np.asarray(y_true)
    y_score = np.asarray(y_score, dtype=np.float64)
    if y_true.ndim != 2 or y_true.shape != y_score.shape:
        raise ValueError(f"y_true and y_score must both be (n, K); got {y_true.shape} and {y_score.shape}")
    if not np.isin(y_true, (0, 1)).all():
        raise ValueError("y_true must be binary (0/1)")
    y_true = y_true.astype(np.int64)
    n_pos = y_true.sum(axis=0)
    return y_true, y_score, (n_pos > 0) & (n_pos < y_true.shape[0])


def _per_tag(fn, y_true: np.ndarray, y_score: np.ndarray) -> np.ndarray:
    """Per-column scores of a scikit-learn metric (one ``average=None`` call; the macro mean is their mean)."""
    if y_true.shape[1] == 0:
        return np.zeros(0)
    if y_true.shape[1] == 1:
        return np.array([fn(y_true[:, 0], y_score[:, 0])], dtype=np.float64)
    return np.asarray(fn(y_true, y_score, average=None), dtype=np.float64).reshape(-1)


def classification_metrics(y_true: np.ndarray, scores: np.ndarray) -> dict:
    """Single-label classification accuracy.

    Parameters
    ----------
    y_true : np.ndarray, shape (n,)
        Int class indices in ``[0, C)``.
    scores : np.ndarray, shape (n, C)
        Per-class scores (e.g. track-averaged softmax); the prediction is ``argmax`` (ties → lowest index).

    Returns
    -------
    dict
        ``accuracy``: fraction of tracks whose argmax equals the label (``sklearn.metrics.accuracy_score``).
    """
    y_true = np.asarray(y_true).astype(np.int64)
    scores = np.asarray(scores)
    if scores.ndim != 2 or scores.shape[0] != y_true.shape[0]:
        raise ValueError(f"scores must be (n, C) with n = {y_true.shape[0]}, got {scores.shape}")
    return {"accuracy": float(accuracy_score(y_true, scores.argmax(axis=1)))}


def pitch_metrics(y_true: np.ndarray, scores: np.ndarray) -> dict:
    """NSynth pitch metrics over the 128 MIDI classes.

    Parameters
    ----------
    y_true : np.ndarray, shape (n,)
        True MIDI note numbers (0–127).
    scores : np.ndarray, shape (n, 128)
        Per-MIDI-class scores; column ``m`` is MIDI note ``m``.

    Returns
    -------
    dict
        ``accuracy``: argmax over all 128 classes equals the truth, over all n examples (the development configs'
        metric).
        ``accuracy_88``: HEAR convention — only examples whose true MIDI is in 21–108 (the 88 piano keys), and the
        prediction is the argmax over those 88 columns only (the label set is restricted, as for a model trained on
        88 classes). ``nan`` if no example is in range.
        ``chroma_accuracy``: pitch class (MIDI mod 12) of the 128-class argmax equals that of the truth, over all
        examples (octave errors forgiven).
        ``chroma_accuracy_88``: the same on the 88-key subset with the 88-column argmax (HEAR's chroma accuracy).
        ``n_examples``, ``n_examples_88``: counts.
    """
    y_true = np.asarray(y_true).astype(np.int64)
    scores = np.asarray(scores)
    if scores.ndim != 2 or scores.shape != (y_true.shape[0], 128):
        raise ValueError(f"scores must be (n, 128) with n = {y_true.shape[0]}, got {scores.shape}")
    pred = scores.argmax(axis=1)
    lo, hi = MIDI_88
    in88 = (y_true >= lo) & (y_true <= hi)
    pred88 = scores[in88][:, lo:hi + 1].argmax(axis=1) + lo
    out = {
        "accuracy": float(accuracy_score(y_true, pred)),
        "accuracy_88": float(accuracy_score(y_true[in88], pred88)) if in88.any() else float("nan"),
        "chroma_accuracy": float(accuracy_score(y_true % 12, pred % 12)),
        "chroma_accuracy_88": float(accuracy_score(y_true[in88] % 12, pred88 % 12)) if in88.any() else float("nan"),
        "n_examples": int(y_true.shape[0]),
        "n_examples_88": int(in88.sum()),
    }
    return out


# ----------------------------------------------------------------------------------------------------------------
# Beats
# ----------------------------------------------------------------------------------------------------------------
def _beats(a) -> np.ndarray:
    return np.asarray(a, dtype=np.float64).reshape(-1)


def _check_pairs(references, estimates) -> tuple[list[np.ndarray], list[np.ndarray]]:
    if len(references) != len(estimates):
        raise ValueError(f"{len(references)} reference tracks but {len(estimates)} estimated tracks")
    return [_beats(r) for r in references], [_beats(e) for e in estimates]


def pooled_f_measure(references: Sequence[np.ndarray], estimates: Sequence[np.ndarray],
                     window: float = F_MEASURE_WINDOW_S) -> dict:
    """MARBLE-style pooled F-measure: counts summed over the whole set, no trimming.

    Per track, ``mir_eval.util.match_events(ref, est, window)`` gives a maximum one-to-one matching (each reference
    and each estimate used at most once, |ref − est| ≤ ``window`` seconds). Then, over all tracks,
    ``P = Σ hits / Σ n_est``, ``R = Σ hits / Σ n_ref``, ``F = 2PR / (P + R)`` (0 when undefined).

    Returns ``{"f_measure_pooled", "precision_pooled", "recall_pooled", "hits", "n_estimates", "n_references"}``.
    """
    references, estimates = _check_pairs(references, estimates)
    hits = n_est = n_ref = 0
    for ref, est in zip(references, estimates):
        n_est += est.size
        n_ref += ref.size
        if est.size and ref.size:
            hits += len(mir_eval.util.match_events(ref, est, window))
    precision = hits / n_est if n_est else 0.0
    recall = hits / n_ref if n_ref else 0.0
    return {
        "f_measure_pooled": float(mir_eval.util.f_measure(precision, recall)),
        "precision_pooled": float(precision),
        "recall_pooled": float(recall),
        "hits": int(hits),
        "n_estimates": int(n_est),
        "n_references": int(n_ref),
    }


def beat_metrics(references: Sequence[np.ndarray], estimates: Sequence[np.ndarray], per_track: bool = False) -> dict:
    """Beat-tracking metrics over a set of tracks.

    Parameters
    ----------
    references, estimates : sequences of np.ndarray
        Per track, 1-D beat times in seconds (ascending); same length and track order.

    Returns
    -------
    dict
        The mean over tracks of every ``mir_eval.beat.evaluate`` score, with its default settings (beats before 5 s
        are trimmed from both lists; F-measure window ±70 ms), under snake_case keys: ``f_measure``, ``cemgil``,
        ``cemgil_best_metric_level``, ``goto``, ``p_score``, ``cmlc``, ``cmlt``, ``amlc``, ``amlt``,
        ``information_gain`` (the primary number is ``f_measure``). Plus ``f_measure_pooled`` (see
        :func:`pooled_f_measure`: untrimmed, ±70 ms, counts pooled over tracks), ``n_tracks``, and
        ``n_empty_estimates`` (tracks whose estimate list is empty — or empty after the 5 s trim; mir_eval scores
        them 0 and its "beats are empty" warnings are silenced here).
        With ``per_track=True`` also ``"per_track"``: ``{key: (n,) float64}`` for every mean-over-tracks key above,
        plus each track's ``hits``, ``n_estimates`` and ``n_references`` of the pooled F (what a bootstrap over
        tracks needs to recompute every number).
    """
    references, estimates = _check_pairs(references, estimates)
    if not references:
        raise ValueError("beat_metrics needs at least one track")
    per_track_scores = []
    n_empty = 0
    for ref, est in zip(references, estimates):
        n_empty += int(mir_eval.beat.trim_beats(est).size == 0)
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", category=UserWarning, module=r"mir_eval")  # empty / single-beat tracks score 0
            scores = mir_eval.beat.evaluate(ref, est)
        per_track_scores.append([float(scores[k]) for k in BEAT_KEYS])
    means = np.mean(np.asarray(per_track_scores, dtype=np.float64), axis=0)
    out = {BEAT_KEYS[k]: float(v) for k, v in zip(BEAT_KEYS, means)}
    out["f_measure_pooled"] = pooled_f_measure(references, estimates)["f_measure_pooled"]
    out["n_tracks"] = len(references)
    out["n_empty_estimates"] = n_empty
    if per_track:
        table = np.asarray(per_track_scores, dtype=np.float64).reshape(len(references), len(BEAT_KEYS))
        out["per_track"] = {BEAT_KEYS[k]: table[:, i] for i, k in enumerate(BEAT_KEYS)}
        pooled = [pooled_f_measure([r], [e]) for r, e in zip(references, estimates)]
        for key in ("hits", "n_estimates", "n_references"):
            out["per_track"][key] = np.array([p[key] for p in pooled], dtype=np.float64)
    return out


def beat_f_measure(references: Sequence[np.ndarray], estimates: Sequence[np.ndarray]) -> float:
    """Mean over tracks of ``mir_eval.beat.f_measure`` after ``mir_eval.beat.trim_beats`` (5 s trim, ±70 ms) — the
    ``f_measure`` of :func:`beat_metrics` alone, cheap enough to be a per-epoch validation metric."""
    references, estimates = _check_pairs(references, estimates)
    if not references:
        raise ValueError("beat_f_measure needs at least one track")
    fs = []
    for ref, est in zip(references, estimates):
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", category=UserWarning, module=r"mir_eval")  # empty tracks score 0
            fs.append(mir_eval.beat.f_measure(mir_eval.beat.trim_beats(ref), mir_eval.beat.trim_beats(est)))
    return float(np.mean(fs))


def downbeat_metrics(references: Sequence[np.ndarray], estimates: Sequence[np.ndarray]) -> dict:
    """Downbeat F-measure: ``f_measure`` = :func:`beat_f_measure` of the downbeat times (the beat convention: 5 s
    trim, ±70 ms), plus the untrimmed pooled ``f_measure_pooled`` and ``n_tracks``. Inputs as :func:`beat_metrics`."""
    return {
        "f_measure": beat_f_measure(references, estimates),
        "f_measure_pooled": pooled_f_measure(references, estimates)["f_measure_pooled"],
        "n_tracks": len(references),
    }
