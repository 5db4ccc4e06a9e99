"""Chord recognition on frames: the 25-class major/minor vocabulary, frame targets, and ``mir_eval.chord`` scores.

Vocabulary (MARBLE v2's, ``../shared/spec/datasets.md`` §0.2): class ``0–11`` = C…B major, ``12–23`` = C…B minor,
``24`` = ``N`` (no chord). A label is mapped with ``mir_eval.chord.encode`` (which adds the bass interval to the
bitmap): major when its bitmap contains the major triad and not the minor one, minor for the reverse, ``N`` when it
has no root; everything else — ``X`` (unknown), ``sus``, ``dim``, ``aug``, power chords, chords with both thirds,
unparsable labels — is ``IGNORE`` (-1): no loss, not scored by the frame accuracy. ``X`` is ignored, not trained as
``N``, so that training agrees with ``mir_eval``'s scoring, which excludes ``X`` references.

Time convention (as :mod:`probes.beat_tracking`): embedding frame ``n`` at ``fps`` covers ``[n / fps, (n + 1) / fps)``
and is represented by its centre ``(n + 0.5) / fps``; a frame's target is the label of the segment holding its centre
(``IGNORE`` outside the annotated span), and an estimate's frame ``n`` becomes the interval ``[n / fps, (n + 1) /
fps)`` (runs of equal classes merged).

Scores (:func:`chord_metrics`): ``mir_eval.chord.evaluate``'s ``majmin`` and ``root`` per track (duration-weighted,
out-of-gamut references excluded, the estimate padded / cropped to the reference span), averaged over tracks
(``majmin``, ``root``), and the MIREX-style pooled WCSR over the whole test set (``majmin_wcsr``, ``root_wcsr``: the
scored durations of all tracks summed before dividing).
"""
from __future__ import annotations

from typing import Sequence

import mir_eval
import numpy as np

__all__ = ["NAMES", "N_CLASSES", "N_CHORD", "IGNORE", "chord_class", "frame_classes", "frames_to_segments",
           "chord_metrics"]

_ROOTS = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
#: The 25 class labels, in class order (Harte syntax, so ``mir_eval`` reads them back).
NAMES = tuple(f"{r}:maj" for r in _ROOTS) + tuple(f"{r}:min" for r in _ROOTS) + ("N",)
N_CLASSES = 25
N_CHORD = 24
IGNORE = -1
_MAJ = np.array([0, 4, 7])
_MIN = np.array([0, 3, 7])


def chord_class(label: str) -> int:
    """The class of a Harte label (module docstring): 0–23, 24 (``N``) or :data:`IGNORE`."""
    try:
        root, bitmap, _ = mir_eval.chord.encode(label.strip())
    except (mir_eval.chord.InvalidChordException, ValueError, IndexError):
        return IGNORE
    if root < 0:
        return N_CHORD if bitmap[0] == 0 else IGNORE  # N: all zeros; X: all -1
    bits = np.asarray(bitmap)
    has_maj, has_min = bool(bits[_MAJ].all()), bool(bits[_MIN].all())
    if has_maj and not has_min:
        return int(root) % 12
    if has_min and not has_maj:
        return 12 + int(root) % 12
    return IGNORE


def frame_classes(intervals: np.ndarray, labels: Sequence[str], n_frames: int, fps: float) -> np.ndarray:
    """``(n_frames,)`` int64 targets: the class of the segment holding each frame's centre (:data:`IGNORE` outside
    every segment)."""
    out = np.full(int(n_frames), IGNORE, dtype=np.int64)
    if n_frames <= 0 or len(labels) == 0:
        return out
    centres = (np.arange(int(n_frames)) + 0.5) / float(fps)
    classes = np.array([chord_class(lab) for lab in labels], dtype=np.int64)
    starts, ends = np.asarray(intervals)[:, 0], np.asarray(intervals)[:, 1]
    seg = np.searchsorted(starts, centres, side="right") - 1
    inside = (seg >= 0) & (centres < ends[np.clip(seg, 0, None)])
    out[inside] = classes[seg[inside]]
    return out


def frames_to_segments(classes: np.ndarray, fps: float) -> tuple[np.ndarray, list[str]]:
    """Merge runs of equal frame classes (0–24) into ``(intervals (n, 2), labels)`` (module docstring)."""
    c = np.asarray(classes).reshape(-1)
    if c.size == 0:
        return np.zeros((0, 2)), []
    change = np.flatnonzero(np.diff(c)) + 1
    starts = np.concatenate([[0], change])
    ends = np.concatenate([change, [c.size]])
    return np.stack([starts, ends], axis=1) / float(fps), [NAMES[int(c[s])] for s in starts]


def _scored(ref_int, ref_lab, est_int, est_lab):
    """Per comparison rule: (weighted correct duration, scored duration) — the steps of ``mir_eval.chord.evaluate``
    (pad / crop the estimate to the reference span, common segmentation, durations, drop out-of-gamut)."""
    est_int, est_lab = mir_eval.util.adjust_intervals(est_int, est_lab, ref_int.min(), ref_int.max(),
                                                      mir_eval.chord.NO_CHORD, mir_eval.chord.NO_CHORD)
    merged, ref_m, est_m = mir_eval.util.merge_labeled_intervals(ref_int, ref_lab, est_int, est_lab)
    durations = mir_eval.util.intervals_to_durations(merged)
    out = {}
    for name, fn in (("majmin", mir_eval.chord.majmin), ("root", mir_eval.chord.root)):
        comp = np.asarray(fn(ref_m, est_m), dtype=np.float64)
        keep = comp >= 0
        out[name] = (float(np.sum(durations[keep] * comp[keep])), float(np.sum(durations[keep])))
    return out


def chord_metrics(references: Sequence[tuple[np.ndarray, Sequence[str]]],
                  estimates: Sequence[tuple[np.ndarray, Sequence[str]]], per_track: bool = False) -> dict:
    """``majmin`` / ``root`` (mean over tracks of ``mir_eval.chord.evaluate``'s scores) and the pooled
    ``majmin_wcsr`` / ``root_wcsr``; ``references`` and ``estimates`` are per-track ``(intervals, labels)``.
    A track with nothing scorable (every reference out of gamut) is left out of the means (``n_tracks_scored``).
    ``per_track=True`` adds ``"per_track"``: per track ``majmin_correct`` / ``majmin_total`` / ``root_correct`` /
    ``root_total`` (scored durations in seconds; 0 / 0 for a track with nothing scorable), from which every number
    here is recomputed on any subset of tracks."""
    if len(references) != len(estimates):
        raise ValueError(f"{len(references)} reference tracks but {len(estimates)} estimates")
    per = {"majmin": [], "root": []}
    pooled = {"majmin": [0.0, 0.0], "root": [0.0, 0.0]}
    tracks = {f"{n}_{s}": np.zeros(len(references)) for n in ("majmin", "root") for s in ("correct", "total")}
    for i, ((ri, rl), (ei, el)) in enumerate(zip(references, estimates)):
        ri, ei = np.asarray(ri, dtype=np.float64), np.asarray(ei, dtype=np.float64)
        if len(rl) == 0:
            continue
        if len(el) == 0:
            ei, el = ri[:1].copy(), [mir_eval.chord.NO_CHORD]
        scored = _scored(ri, list(rl), ei, list(el))
        for name, (correct, total) in scored.items():
            pooled[name][0] += correct
            pooled[name][1] += total
            tracks[f"{name}_correct"][i], tracks[f"{name}_total"][i] = correct, total
            if total > 0:
                per[name].append(correct / total)
    out = {"majmin": float(np.mean(per["majmin"])) if per["majmin"] else float("nan"),
            "root": float(np.mean(per["root"])) if per["root"] else float("nan"),
            "majmin_wcsr": pooled["majmin"][0] / pooled["majmin"][1] if pooled["majmin"][1] else float("nan"),
            "root_wcsr": pooled["root"][0] / pooled["root"][1] if pooled["root"][1] else float("nan"),
           "n_tracks": len(references), "n_tracks_scored": len(per["majmin"])}
    if per_track:
        out["per_track"] = tracks
    return out
