"""Evaluation metrics for the probe tasks (pure functions over numpy arrays).

All scores follow "higher is better" and are returned as plain Python floats/ints in dicts whose keys are the
result-record metric names. The heavy lifting is delegated to scikit-learn (ROC-AUC, average precision, accuracy)
and mir_eval (beat metrics, event matching); nothing here re-implements them.

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
