"""Frame-time convention, beat targets and beat post-processing (activations → beat times).

Time convention
---------------
Embedding frame ``n`` of an encoder with frame rate ``fps`` (eps, e.g. 15.625 or 25 Hz) covers
``[n / fps, (n + 1) / fps)``. :func:`frame_times` gives the instant that represents the frame:

- ``"centre"`` (the default, :data:`DEFAULT_CONVENTION`): ``(n + 0.5) / fps`` — the middle of the frame's span;
- ``"start"``: ``n / fps``.

The same function (and convention) is used to build training targets (:func:`beat_targets`: a beat at ``t`` labels
the frame whose time is nearest ``t``, i.e. with ``"centre"`` the frame whose span contains ``t``) and to place the
probe's output on the time axis (:func:`interpolate_activation`), so the convention is applied consistently at both
ends. The 100 fps activation grid handed to madmom follows madmom's own convention: sample ``i`` is time ``i / 100``
and the returned beat times are ``i / fps``.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np
from scipy.signal import find_peaks

CONVENTIONS = ("centre", "start")
DEFAULT_CONVENTION = "centre"

#: madmom DBN parameters of the protocol (protocols.md, "Beat tracking").
DBN_DEFAULTS = {"fps": 100, "min_bpm": 55.0, "max_bpm": 215.0, "transition_lambda": 100}

#: Activations are clipped to [ACT_EPS, 1 - ACT_EPS] before the DBN: exact 0/1 give log(0) in madmom's observation
#: model and a Viterbi path of -inf probability (no beats).
ACT_EPS = 1e-6


def frame_times(n_frames: int, fps: float, convention: str = DEFAULT_CONVENTION) -> np.ndarray:
    """Times (s) representing frames ``0 … n_frames-1`` at ``fps``: ``(n + 0.5) / fps`` ("centre") or
    ``n / fps`` ("start"). See the module docstring."""
    if convention not in CONVENTIONS:
        raise ValueError(f"convention must be one of {CONVENTIONS}, got {convention!r}")
    offset = 0.5 if convention == "centre" else 0.0
    return (np.arange(int(n_frames), dtype=np.float64) + offset) / float(fps)


def beat_targets(times_s, n_frames: int, fps: float, widen: int = 1, widen_weight: float = 0.5,
                 convention: str = DEFAULT_CONVENTION) -> np.ndarray:
    """Frame targets ``(n_frames,)`` float32 in [0, 1] for event times (beats or downbeats).

    Each time ``t`` (s) sets its nearest frame (by :func:`frame_times` with ``convention``; exact midpoints go to
    the later frame) to 1 and the ``widen`` frames on each side to ``widen_weight`` unless already higher. Times whose
    nearest frame falls outside ``[0, n_frames)`` are dropped. Stack several calls column-wise for ``(T, C)``
    targets (e.g. beat + downbeat).
    """
    y = np.zeros(int(n_frames), dtype=np.float32)
    t = np.asarray(times_s, dtype=np.float64).reshape(-1)
    if t.size == 0 or n_frames <= 0:
        return y
    t0 = frame_times(1, fps, convention)[0]
    idx = np.floor((t - t0) * float(fps) + 0.5).astype(np.int64)
    idx = idx[(idx >= 0) & (idx < n_frames)]
    for k in range(1, int(widen) + 1):
        for j in (idx - k, idx + k):
            j = j[(j >= 0) & (j < n_frames)]
            y[j] = np.maximum(y[j], np.float32(widen_weight))
    y[idx] = 1.0
    return y


def interpolate_activation(act, from_fps: float, to_fps: float = 100.0, duration_s: float | None = None,
                           convention: str = DEFAULT_CONVENTION) -> np.ndarray:
    """Linearly resample an activation ``(T,)`` or ``(T, C)`` from ``from_fps`` to ``to_fps``.

    Source sample ``n`` sits at ``frame_times(T, from_fps, convention)[n]``; output sample ``i`` is time
    ``i / to_fps`` (madmom's convention). Output length is ``round(duration_s * to_fps)`` when ``duration_s`` is
    given, else ``ceil(T / from_fps * to_fps)`` (the span the T frames cover). Before the first / after the last
    source time the edge value is held (``np.interp``).
    """
    a = np.asarray(act, dtype=np.float64)
    squeeze = a.ndim == 1
    if squeeze:
        a = a[:, None]
    T = a.shape[0]
    n_out = int(round(duration_s * to_fps)) if duration_s is not None else int(np.ceil(T / from_fps * to_fps - 1e-9))
    if T == 0 or n_out <= 0:
        out = np.zeros((max(n_out, 0), a.shape[1]))
    else:
        src = frame_times(T, from_fps, convention)
        dst = np.arange(n_out, dtype=np.float64) / float(to_fps)
        out = np.stack([np.interp(dst, src, a[:, c]) for c in range(a.shape[1])], axis=1)
    return out[:, 0] if squeeze else out


@lru_cache(maxsize=16)
def _dbn_processor(fps: float, min_bpm: float, max_bpm: float, transition_lambda: float, extra: tuple):
    from madmom.features.beats import DBNBeatTrackingProcessor

    return DBNBeatTrackingProcessor(fps=fps, min_bpm=min_bpm, max_bpm=max_bpm,
                                    transition_lambda=transition_lambda, **dict(extra))


def dbn_beats(activation, fps: float = 100, min_bpm: float = 55.0, max_bpm: float = 215.0,
              transition_lambda: float = 100, **kwargs) -> np.ndarray:
    """Beat times (s) from a beat activation ``(T,)`` in [0, 1] at ``fps``, by madmom's
    ``DBNBeatTrackingProcessor`` (offline Viterbi decoding; one processor is built and cached per parameter set;
    extra ``kwargs`` such as ``observation_lambda`` or ``correct`` are passed through). The activation is clipped to
    ``[ACT_EPS, 1 - ACT_EPS]`` first. Empty input → empty output."""
    a = np.asarray(activation, dtype=np.float64).reshape(-1)
    if a.size == 0:
        return np.zeros(0)
    proc = _dbn_processor(float(fps), float(min_bpm), float(max_bpm), float(transition_lambda),
                          tuple(sorted(kwargs.items())))
    return np.asarray(proc(np.clip(a, ACT_EPS, 1.0 - ACT_EPS)), dtype=np.float64).reshape(-1)


def peak_pick_beats(activation, fps: float = 100, threshold: float = 0.5,
                    min_interval_s: float = 60.0 / 215.0) -> np.ndarray:
    """Beat times (s) by plain peak picking on an activation ``(T,)`` at ``fps``.

    ``scipy.signal.find_peaks(act, height=threshold, distance=max(1, round(min_interval_s * fps)))``: local maxima
    at or above ``threshold`` (0.5 = the probe's decision boundary, as Beat This's minimal post-processing), at least
    ``min_interval_s`` apart (default one beat at the DBN's max tempo, 215 BPM; a flat-topped peak yields its middle
    sample). Sample ``i`` → time ``i / fps``.
    """
    a = np.asarray(activation, dtype=np.float64).reshape(-1)
    if a.size == 0:
        return np.zeros(0)
    peaks, _ = find_peaks(a, height=threshold, distance=max(1, int(round(min_interval_s * fps))))
    return peaks.astype(np.float64) / float(fps)
