"""Small music-generation helpers shared by the beat and MTAT sets: scales, chord progressions, drum grooves.

Times here are in beats (floats); the caller converts to samples at its tempo. Everything is driven by a numpy
``Generator`` passed in, so a seed fixes the output.
"""
from __future__ import annotations

import numpy as np

# General-MIDI drum keys (channel 10)
KICK, SIDE_STICK, SNARE, CLAP, CLOSED_HH, PEDAL_HH, OPEN_HH = 36, 37, 38, 39, 42, 44, 46
LOW_TOM, MID_TOM, HIGH_TOM, CRASH, RIDE, TAMBOURINE, COWBELL = 45, 47, 50, 49, 51, 54, 56

#: TimGM6mb drum kits (bank 128 presets)
DRUM_KITS = {"standard": 0, "room": 8, "power": 16, "electronic": 24, "tr808": 25, "jazz": 32, "brush": 40}

MAJOR = (0, 2, 4, 5, 7, 9, 11)
MINOR = (0, 2, 3, 5, 7, 8, 10)  # natural minor; the V chord is raised (harmonic minor) in progressions

#: Chord progressions as scale degrees (0-based: 0 = I/i), one chord per bar.
PROGRESSIONS = {
    "major": ((0, 4, 5, 3), (0, 3, 4, 0), (0, 5, 3, 4), (1, 4, 0, 0), (0, 3, 0, 4), (5, 3, 0, 4)),
    "minor": ((0, 5, 2, 6), (0, 3, 4, 0), (0, 6, 5, 6), (0, 3, 6, 2), (0, 5, 3, 4), (3, 4, 0, 0)),
}


def scale_pitches(root_pc: int, mode: str, lo: int, hi: int) -> list[int]:
    """All MIDI pitches in ``lo..hi`` of the scale ``root_pc`` ``mode``."""
    steps = MAJOR if mode == "major" else MINOR
    pcs = {(root_pc + s) % 12 for s in steps}
    return [p for p in range(lo, hi + 1) if p % 12 in pcs]


def chord_pcs(root_pc: int, mode: str, degree: int) -> tuple[int, int, int]:
    """Pitch classes (root, third, fifth) of the diatonic triad on ``degree``; in minor, V is major (leading tone)."""
    steps = MAJOR if mode == "major" else MINOR
    tones = [(root_pc + steps[(degree + k) % 7] + 12 * ((degree + k) // 7)) for k in (0, 2, 4)]
    if mode == "minor" and degree == 4:
        tones[1] += 1  # raised leading tone
    return tuple(t % 12 for t in tones)


def voice(pcs, lo: int, hi: int) -> list[int]:
    """Close-ish voicing: every pitch of ``lo..hi`` whose pitch class is in ``pcs`` (at most one octave span used)."""
    out = [p for p in range(lo, hi + 1) if p % 12 in pcs]
    return out[:4] if out else [lo]


def nearest(pc: int, target: int) -> int:
    """The MIDI pitch of pitch class ``pc`` closest to ``target``."""
    base = target - ((target - pc) % 12)
    return base if target - base <= 6 else base + 12


def drum_groove(style: str, beats_per_bar: int, bar: int, n_bars: int, rng: np.random.Generator,
                density: str = "normal") -> list[tuple[float, int, int]]:
    """One bar of drums: ``[(position in beats from the bar start, GM drum key, velocity), ...]``.

    Every beat of the bar has a hit at its exact position (kick, snare or hi-hat), so the groove marks the beat.
    A crash marks the downbeat of every 4th bar, a tom fill ends every 8th bar.
    """
    hits: list[tuple[float, int, int]] = []
    hh_step = {"sparse": 1.0, "normal": 0.5, "dense": 0.25}[density]
    if style == "jazz":
        # ride: 1, 2, 2-and (swung), 3, ...; kick feathered on 1, hi-hat foot on 2 and 4
        for b in range(beats_per_bar):
            hits.append((b, RIDE, 90 if b % 2 == 0 else 80))
            if b % 2 == 1:
                hits.append((b + 2 / 3, RIDE, 70))
                hits.append((b, PEDAL_HH, 70))
        hits.append((0.0, KICK, 80))
    else:
        t = 0.0
        while t < beats_per_bar - 1e-9:
            on_beat = abs(t - round(t)) < 1e-9
            key = OPEN_HH if (style == "disco" and abs(t % 1 - 0.5) < 1e-9) else CLOSED_HH
            hits.append((t, key, 95 if on_beat else 70))
            t += hh_step
        if beats_per_bar == 3:  # waltz: kick on 1, snare on 2 and 3
            hits += [(0.0, KICK, 110), (1.0, SNARE, 80), (2.0, SNARE, 80)]
        elif style == "disco":
            hits += [(float(b), KICK, 110) for b in range(beats_per_bar)] + [(1.0, CLAP, 100), (3.0, CLAP, 100)]
        elif style == "halftime":
            hits += [(0.0, KICK, 110), (1.5, KICK, 90), (2.0, SNARE, 110)]
        elif style == "funk":
            hits += [(0.0, KICK, 110), (0.75, KICK, 85), (2.5, KICK, 95), (1.0, SNARE, 105), (3.0, SNARE, 105),
                     (1.75, SNARE, 45), (3.25, SNARE, 45)]
        else:  # rock
            hits += [(0.0, KICK, 110), (2.0, KICK, 105), (1.0, SNARE, 110), (3.0, SNARE, 110)]
            if rng.random() < 0.5:
                hits.append((2.5, KICK, 90))
    if bar % 4 == 0:
        hits.append((0.0, CRASH, 100))
    if bar % 8 == 7 and bar < n_bars - 1 and beats_per_bar >= 3:
        last = beats_per_bar - 1
        hits = [h for h in hits if h[0] < last - 1e-9 or h[1] in (KICK,)]
        hits += [(last + k * 0.25, (HIGH_TOM, HIGH_TOM, MID_TOM, LOW_TOM)[k], 100) for k in range(4)]
    return hits
