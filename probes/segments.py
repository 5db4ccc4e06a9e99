"""Music structure on frames: the 7 functional classes, frame targets, frame accuracy and boundary hit rates.

Classes (Wang, Hung & Smith, ICASSP 2022, "Algorithm 1"; ids as SongFormer): ``intro 0, verse 1, chorus 2,
bridge 3, inst 4, outro 5, silence 6``. A raw label is lower-cased and the first of these substrings it contains
names its class (the canonical list; ``end`` only marks the end of the annotation)::

    silence→silence, pre-chorus→verse, prechorus→verse, refrain→chorus, chorus→chorus, theme→chorus,
    stutter→chorus, verse→verse, rap→verse, section→verse, slow→verse, build→verse, dialog→verse, intro→intro,
    fadein→intro, opening→intro, bridge→bridge, trans→bridge, out→outro, coda→outro, ending→outro, break→inst,
    inst→inst, interlude→inst, impro→inst, solo→inst

and a label containing none of them is ``inst`` (so ``postchorus`` is ``chorus``, ``gtr`` is ``inst``).

Frames follow :mod:`probes.chords`' time convention. Targets: the class of the segment holding a frame's centre;
frames before the first annotated boundary (the unlabelled leading gap of 591 Harmonix files) and after the
annotation's ``end`` are :data:`IGNORE` — neither trained nor scored.

Scores (:func:`structure_metrics`):

- ``accuracy``: per track, the fraction of scored frames whose class is right, averaged over tracks (the tables'
  "Structure acc."; SongFormer averages per-song accuracies too); ``accuracy_pooled`` over all frames of the set.
- ``hr_f_0_5`` / ``hr_f_3``: boundary hit-rate F-measure at ±0.5 s / ±3 s, ``mir_eval.segment.detection(…,
  trim=False)`` per track, averaged. Reference intervals are the annotated segments (from the first boundary to the
  end); estimated intervals are the runs of the predicted classes over the same span (so both start and end on the
  reference's ends, which ``trim=False`` counts as boundaries), after a majority filter over
  :data:`SMOOTH_SECONDS` (a frame probe flickers between classes for a frame or two, and every flicker would be two
  boundaries).
"""
from __future__ import annotations

from typing import Sequence

import mir_eval
import numpy as np

__all__ = ["FUNCTIONS", "IGNORE", "function_class", "frame_functions", "structure_metrics", "RULES"]

FUNCTIONS = ("intro", "verse", "chorus", "bridge", "inst", "outro", "silence")
#: Width of the majority filter applied to the predicted classes before boundaries are read off them.
SMOOTH_SECONDS = 1.0
IGNORE = -1
RULES = (("silence", "silence"), ("pre-chorus", "verse"), ("prechorus", "verse"), ("refrain", "chorus"),
         ("chorus", "chorus"), ("theme", "chorus"), ("stutter", "chorus"), ("verse", "verse"), ("rap", "verse"),
         ("section", "verse"), ("slow", "verse"), ("build", "verse"), ("dialog", "verse"), ("intro", "intro"),
         ("fadein", "intro"), ("opening", "intro"), ("bridge", "bridge"), ("trans", "bridge"), ("out", "outro"),
         ("coda", "outro"), ("ending", "outro"), ("break", "inst"), ("inst", "inst"), ("interlude", "inst"),
         ("impro", "inst"), ("solo", "inst"))


def function_class(label: str) -> int:
    """The functional class id of a raw segment label (module docstring)."""
    low = label.strip().lower()
    for sub, cls in RULES:
        if sub in low:
            return FUNCTIONS.index(cls)
    return FUNCTIONS.index("inst")


def frame_functions(intervals: np.ndarray, labels: Sequence[str], n_frames: int, fps: float) -> np.ndarray:
    """``(n_frames,)`` int64 frame targets from labelled segment intervals (module docstring)."""
    out = np.full(int(n_frames), IGNORE, dtype=np.int64)
    if n_frames <= 0 or len(labels) == 0:
        return out
    centres = (np.arange(int(n_frames)) + 0.5) / float(fps)
    iv = np.asarray(intervals, dtype=np.float64)
    seg = np.searchsorted(iv[:, 0], centres, side="right") - 1
    inside = (seg >= 0) & (centres < iv[np.clip(seg, 0, None), 1])
    classes = np.array([function_class(lab) for lab in labels], dtype=np.int64)
    out[inside] = classes[seg[inside]]
    return out


def majority_filter(classes: np.ndarray, width: int) -> np.ndarray:
    """Each frame's most frequent class within a centred window of ``width`` frames (ties → the lowest class)."""
    c = np.asarray(classes, dtype=np.int64).reshape(-1)
    if width <= 1 or c.size == 0:
        return c
    k = int(c.max()) + 1
    onehot = np.zeros((c.size, k))
    onehot[np.arange(c.size), c] = 1
    cs = np.vstack([np.zeros((1, k)), np.cumsum(onehot, axis=0)])
    half = width // 2
    lo = np.clip(np.arange(c.size) - half, 0, c.size)
    hi = np.clip(np.arange(c.size) + half + 1, 0, c.size)
    return (cs[hi] - cs[lo]).argmax(axis=1)


def _runs(classes: np.ndarray, fps: float, start: float, end: float) -> np.ndarray:
    """Intervals of the runs of equal predicted classes, cropped to ``[start, end]``."""
    c = np.asarray(classes).reshape(-1)
    change = np.flatnonzero(np.diff(c)) + 1
    bounds = np.concatenate([[0.0], change / float(fps), [max(end, c.size / float(fps))]])
    bounds = np.clip(bounds, start, end)
    bounds = np.unique(np.concatenate([[start], bounds, [end]]))
    return np.stack([bounds[:-1], bounds[1:]], axis=1)


def structure_metrics(references: Sequence[tuple[np.ndarray, np.ndarray]], predictions: Sequence[np.ndarray],
                      fps: float, per_track: bool = False) -> dict:
    """Structure scores (module docstring). ``references``: per track ``(intervals (n, 2), frame targets (T,))``;
    ``predictions``: per track the predicted class of every frame ``(T,)``. ``per_track=True`` adds
    ``"per_track"``: per track ``hits`` and ``scored`` frame counts and ``hr_f_0_5`` / ``hr_f_3`` (NaN where a track
    has nothing to score), from which every number here is recomputed on any subset of tracks."""
    if len(references) != len(predictions):
        raise ValueError(f"{len(references)} reference tracks but {len(predictions)} predictions")
    acc, hr05, hr3 = [], [], []
    hits = total = 0
    nan = float("nan")
    tracks = {"hits": np.zeros(len(references)), "scored": np.zeros(len(references)),
              "hr_f_0_5": np.full(len(references), nan), "hr_f_3": np.full(len(references), nan)}
    for i, ((intervals, targets), pred) in enumerate(zip(references, predictions)):
        t, p = np.asarray(targets), np.asarray(pred)
        keep = t != IGNORE
        if keep.any():
            acc.append(float(np.mean(p[keep] == t[keep])))
            hits += int(np.sum(p[keep] == t[keep]))
            total += int(keep.sum())
            tracks["hits"][i], tracks["scored"][i] = np.sum(p[keep] == t[keep]), keep.sum()
        iv = np.asarray(intervals, dtype=np.float64)
        if len(iv) and iv[-1, 1] > iv[0, 0]:
            est = _runs(majority_filter(p, int(round(SMOOTH_SECONDS * fps)) | 1), fps, float(iv[0, 0]),
                        float(iv[-1, 1]))
            hr05.append(mir_eval.segment.detection(iv, est, window=0.5, trim=False)[2])
            hr3.append(mir_eval.segment.detection(iv, est, window=3.0, trim=False)[2])
            tracks["hr_f_0_5"][i], tracks["hr_f_3"][i] = hr05[-1], hr3[-1]
    out = {"accuracy": float(np.mean(acc)) if acc else nan, "accuracy_pooled": hits / total if total else nan,
            "hr_f_0_5": float(np.mean(hr05)) if hr05 else nan, "hr_f_3": float(np.mean(hr3)) if hr3 else nan,
            "n_tracks": len(references)}
    if per_track:
        out["per_track"] = tracks
    return out
