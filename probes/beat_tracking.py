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
import torch
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


#: With a relative peak height, an activation spanning less than this (probability units) counts as flat: no peaks.
MIN_RELATIVE_RANGE = 1e-3


def peak_pick_beats(activation, fps: float = 100, threshold: float = 0.5,
                    min_interval_s: float = 60.0 / 215.0, relative: bool = False) -> np.ndarray:
    """Beat times (s) by plain peak picking on an activation ``(T,)`` at ``fps``.

    ``scipy.signal.find_peaks(act, height=h, distance=max(1, round(min_interval_s * fps)))``: local maxima at or
    above ``h`` at least ``min_interval_s`` apart (default one beat at the DBN's max tempo, 215 BPM; a flat-topped
    peak yields its middle sample). Sample ``i`` → time ``i / fps``. ``h = threshold`` (0.5 = the probe's decision
    boundary, as Beat This's minimal post-processing), or with ``relative`` ``h = min + threshold · (max − min)`` of
    the track's activation (no peaks where it spans less than :data:`MIN_RELATIVE_RANGE`, a flat one): a height
    independent of the activation's scale and offset, as madmom's DBN nearly is.
    """
    a = np.asarray(activation, dtype=np.float64).reshape(-1)
    if a.size == 0:
        return np.zeros(0)
    height = threshold
    if relative:
        lo, hi = float(a.min()), float(a.max())
        if hi - lo < MIN_RELATIVE_RANGE:
            return np.zeros(0)
        height = lo + threshold * (hi - lo)
    peaks, _ = find_peaks(a, height=height, distance=max(1, int(round(min_interval_s * fps))))
    return peaks.astype(np.float64) / float(fps)


# ---------------------------------------------------------------------------------------------------------------------
# Batched validation: peak-picked beat F-measure of many probes at once
# ---------------------------------------------------------------------------------------------------------------------
class PeakFMeasure:
    """The validation metric of framewise beat probes, for ``P`` probes at once: the mean over tracks of the beat
    F-measure (``mir_eval.beat.f_measure`` conventions: 5 s trim, ±70 ms) of *peak-picked* beats.

    Per track, the activation at the embedding rate ``eps`` is linearly interpolated to 100 fps exactly as
    :func:`interpolate_activation` does; peaks are local maxima ≥ ``threshold`` that are the maximum within
    ``±(d − 1)`` samples (``d`` = ``min_interval_s`` at 100 fps) — a max-pool form of :func:`peak_pick_beats`'
    ``find_peaks(height, distance)`` that agrees with it except when three peaks chain within two distances (the
    greedy scipy rule may then keep the outer ones). Matching counts a reference as hit when an estimate lies within
    ±70 ms (and an estimate as hit when a reference does), taking the smaller count: the one-to-one matching of
    ``mir_eval`` whenever references are more than 140 ms apart, as beats are. Tested against
    :func:`probes.metrics.beat_f_measure` of :func:`peak_pick_beats`.

    Built once per validation split (``segments``: frame offsets of the tracks at ``eps``; ``references``: beat
    times per track); calling it on activations ``(P, N)`` (or ``(P, N, C)``, channel 0 = beats) returns ``(P,)``.
    ``relative``: the height is ``min + threshold · (max − min)`` of each track's interpolated activation, as
    :func:`peak_pick_beats` with ``relative=True``.
    """

    def __init__(self, segments, eps: float, references, threshold: float = 0.5,
                 min_interval_s: float = 60.0 / 215.0, window: float = 0.07, trim_s: float = 5.0, fps: float = 100.0,
                 relative: bool = False):
        seg = np.asarray(segments, dtype=np.int64)
        self.threshold, self.relative = float(threshold), bool(relative)
        self.d = max(1, int(round(min_interval_s * fps)))
        gap = self.d  # samples of -1 between tracks, so no window spans two tracks
        lo_idx, hi_idx, weight, valid, starts, lengths = [], [], [], [], [], []
        pos = 0
        covered_parts, ref_lo, ref_hi, ref_track = [], [], [], []
        for t in range(len(seg) - 1):
            n = int(seg[t + 1] - seg[t])
            m = int(np.ceil(n / eps * fps - 1e-9)) if n > 0 else 0
            i = np.arange(m, dtype=np.float64)
            f = np.clip(i / fps * eps - 0.5, 0.0, max(n - 1, 0))
            lo = np.floor(f).astype(np.int64)
            hi = np.minimum(lo + 1, max(n - 1, 0))
            lo_idx.append(seg[t] + lo)
            hi_idx.append(seg[t] + hi)
            weight.append(f - lo)
            valid.append(i / fps >= trim_s)                        # mir_eval trims estimates before 5 s
            starts.append(pos)
            lengths.append(m)
            refs = np.asarray(references[t], dtype=np.float64).reshape(-1)
            refs = refs[refs >= trim_s]
            cov = np.zeros(m, dtype=bool)
            for r in refs:  # grid samples within ±window of r: i/fps in [r - window, r + window]
                a, b = int(np.ceil((r - window) * fps - 1e-9)), int(np.floor((r + window) * fps + 1e-9))
                a, b = max(a, 0), min(b, m - 1)
                if a <= b:
                    cov[a:b + 1] = True
                ref_lo.append(pos + max(a, 0))
                ref_hi.append(pos + max(b, a - 1))  # an empty window (b < a) never counts a hit
                ref_track.append(t)
            covered_parts.append(cov)
            pos += m + gap
        self.n_tracks = len(seg) - 1
        self.grid = pos
        self.lo = torch.from_numpy(np.concatenate(lo_idx) if lo_idx else np.zeros(0, np.int64))
        self.hi = torch.from_numpy(np.concatenate(hi_idx) if hi_idx else np.zeros(0, np.int64))
        self.w = torch.from_numpy(np.concatenate(weight) if weight else np.zeros(0)).float()
        place = np.concatenate([s + np.arange(m) for s, m in zip(starts, lengths)]) if starts else np.zeros(0, np.int64)
        self.place = torch.from_numpy(place.astype(np.int64))
        self.trimmed = torch.zeros(self.grid, dtype=torch.bool)
        self.trimmed[self.place] = torch.from_numpy(np.concatenate(valid) if valid else np.zeros(0, bool))
        self.eligible = torch.zeros(self.grid, dtype=torch.bool)    # samples inside a track (not the gaps)
        self.eligible[self.place] = True
        self.left_in = torch.nn.functional.pad(self.eligible, (1, 0))[:-1] & self.eligible
        self.right_in = torch.nn.functional.pad(self.eligible, (0, 1))[1:] & self.eligible
        self.covered = torch.zeros(self.grid, dtype=torch.bool)
        self.covered[self.place] = torch.from_numpy(np.concatenate(covered_parts) if covered_parts
                                                    else np.zeros(0, bool))
        self.track_of = torch.full((self.grid,), -1, dtype=torch.long)
        self.track_of[self.place] = torch.from_numpy(np.repeat(np.arange(self.n_tracks), lengths))
        self.ref_lo = torch.tensor(ref_lo, dtype=torch.long)
        self.ref_hi = torch.tensor(ref_hi, dtype=torch.long)
        self.ref_track = torch.tensor(ref_track, dtype=torch.long)
        self.n_ref = torch.bincount(self.ref_track, minlength=self.n_tracks).to(torch.float64)
        self._device = torch.device("cpu")

    def _to(self, device: torch.device) -> None:
        if device != self._device:
            for k in ("lo", "hi", "w", "place", "trimmed", "eligible", "left_in", "right_in", "covered", "track_of", "ref_lo", "ref_hi",
                      "ref_track", "n_ref"):
                setattr(self, k, getattr(self, k).to(device))
            self._device = device

    def interpolated(self, acts: torch.Tensor) -> torch.Tensor:
        """Activations ``(P, N)`` at 100 fps on the gapped grid ``(P, grid)`` (gaps hold -1)."""
        self._to(acts.device)
        a = acts.to(torch.float32)
        grid = torch.full((a.shape[0], self.grid), -1.0, device=a.device)
        grid[:, self.place] = a[:, self.lo] * (1 - self.w) + a[:, self.hi] * self.w
        return grid

    def peaks(self, acts: torch.Tensor) -> torch.Tensor:
        """Peak mask ``(P, grid)`` of activations ``(P, N)``: ``scipy.signal.find_peaks(height=threshold,
        distance=d)`` per track, vectorised (plateaus give their middle sample, as scipy; the distance rule is
        scipy's greedy "highest first" rule, run as rounds of max-pooling over the still undecided peaks)."""
        g = self.interpolated(acts)
        n = g.shape[1]
        idx = torch.arange(n, device=g.device)
        inf = torch.full_like(g, float("inf"))
        # a track's first / last sample has no neighbour outside the track: +inf there (never a peak, as scipy)
        left = torch.where(self.left_in, torch.nn.functional.pad(g, (1, 0))[:, :-1], inf)
        right = torch.where(self.right_in, torch.nn.functional.pad(g, (0, 1))[:, 1:], inf)
        if self.relative and self.n_tracks:
            tracks = self.track_of.clamp_min(0).expand_as(g)
            big = torch.full((g.shape[0], self.n_tracks), float("inf"), device=g.device)
            lo = big.scatter_reduce(1, tracks, torch.where(self.eligible, g, inf), "amin")
            hi = (-big).scatter_reduce(1, tracks, torch.where(self.eligible, g, -inf), "amax")
            height = lo + self.threshold * (hi - lo)
            height = torch.where(hi - lo >= MIN_RELATIVE_RANGE, height, torch.full_like(height, float("inf")))
            high = (g >= torch.gather(height, 1, tracks)) & self.eligible
        else:
            high = (g >= self.threshold) & self.eligible
        if not bool((high & (g == right)).any()):   # no plateau above the threshold (the usual case)
            cand = high & (g > left) & (g > right)
        else:
            # a plateau starts where the signal rises; it ends at the first sample that differs from the next one
            ends = torch.where(g != right, idx, torch.full_like(idx, n))
            end = torch.flip(torch.cummin(torch.flip(ends, [1]), dim=1).values, [1]).clamp_max(n - 1)
            after = torch.gather(right, 1, end)
            start = (g > left) & (torch.gather(g, 1, end) > after)
            mid = torch.div(idx + end, 2, rounding_mode="floor")
            cand = torch.zeros_like(g, dtype=torch.bool)
            rows = torch.arange(g.shape[0], device=g.device)[:, None].expand_as(mid)
            cand[rows[start], mid[start]] = True
            cand &= high
        kept = torch.zeros_like(cand)
        undecided = cand
        k = 2 * self.d - 1
        for _ in range(64):
            if not bool(undecided.any()):
                break
            h = torch.where(undecided, g, torch.full_like(g, -float("inf")))
            top = undecided & (h >= torch.nn.functional.max_pool1d(h[:, None], k, stride=1, padding=self.d - 1)[:, 0])
            kept |= top
            near = torch.nn.functional.max_pool1d(top[:, None].float(), k, stride=1, padding=self.d - 1)[:, 0] > 0
            undecided = undecided & ~top & ~near
        return kept

    def __call__(self, acts: torch.Tensor) -> np.ndarray:
        if acts.dim() == 3:
            acts = acts[..., 0]
        pk = self.peaks(acts) & self.trimmed                                      # (P, grid)
        p = pk.shape[0]
        tracks = self.track_of.clamp_min(0).expand(p, -1)
        n_est = torch.zeros(p, self.n_tracks, dtype=torch.float64, device=pk.device)
        n_est.scatter_add_(1, tracks, pk.to(torch.float64))
        est_hit = torch.zeros_like(n_est).scatter_add_(1, tracks, (pk & self.covered).to(torch.float64))
        c = torch.nn.functional.pad(torch.cumsum(pk.to(torch.int32), dim=1), (1, 0))
        if len(self.ref_lo):
            in_window = (c[:, self.ref_hi + 1] - c[:, self.ref_lo]) > 0             # (P, R)
            ref_hit = torch.zeros_like(n_est).scatter_add_(1, self.ref_track.expand(p, -1),
                                                          in_window.to(torch.float64))
        else:
            ref_hit = torch.zeros_like(n_est)
        hits = torch.minimum(est_hit, ref_hit)
        denom = n_est + self.n_ref[None]
        f = torch.where((n_est > 0) & (self.n_ref[None] > 0), 2 * hits / denom.clamp_min(1), torch.zeros_like(hits))
        return f.mean(dim=1).cpu().numpy()
