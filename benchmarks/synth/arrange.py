"""A band arrangement from a style: drums, bass, chords and a melody over a diatonic progression (GTZAN, EmoMusic sets).

A :class:`Style` names the instruments (General-MIDI programs of the soundfont), the drum kit and groove
(:func:`benchmarks.synth.patterns.drum_groove`), how the chords are played (``comp``), how the bass moves (``bass``) and
how busy the melody is. :func:`render_arrangement` renders ``seconds`` of it at a tempo, key and mode; all randomness
comes from the ``Generator`` passed in.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import patterns as P
from .render import DRUM_CHANNEL, NoteEvent, limit, render_events, seconds_to_sample

__all__ = ["Style", "render_arrangement"]


@dataclass(frozen=True)
class Style:
    """How a piece is played.

    ``comp``: ``"block"`` (a chord per bar), ``"offbeat"`` (short chords on the off-beats, reggae / ska),
    ``"stab"`` (chords on beats 2 and 4), ``"arp"`` (broken chords in eighths), ``"power"`` (root + fifth per beat).
    ``bass``: ``"none"``, ``"root"`` (roots on the beats), ``"walk"`` (a walking line in quarters), ``"octave"``
    (root and octave in eighths), ``"long"`` (a held root per bar). ``melody_step``: beats per melody note
    (0 = no melody). ``kit`` is a key of :data:`patterns.DRUM_KITS` or ``None`` (no drums); ``groove`` a
    :func:`patterns.drum_groove` style.
    """

    harmony: int
    melody: int | None
    bass_program: int | None
    kit: str | None
    groove: str = "rock"
    comp: str = "block"
    bass: str = "root"
    melody_step: float = 1.0
    drum_density: str = "normal"


def render_arrangement(style: Style, bpm: float, key: int, mode: str, seconds: float, sr: int,
                       rng: np.random.Generator, gain_db: float = 0.0, velocity: int = 90) -> np.ndarray:
    """``seconds`` of ``style`` at ``bpm`` in ``key`` (pitch class) ``mode`` (``"major"``/``"minor"``), mono float32
    at ``sr``; ``velocity`` (1-127) scales every part (loudness); peaks limited to 0.98."""
    spb = 60.0 / bpm
    n = seconds_to_sample(seconds, sr)
    at = lambda beat: seconds_to_sample(beat * spb, sr)  # noqa: E731
    n_bars = int(np.ceil(seconds / (4 * spb))) + 1
    prog = P.PROGRESSIONS[mode][int(rng.integers(len(P.PROGRESSIONS[mode])))]
    v = lambda scale=1.0: int(np.clip(velocity * scale + rng.integers(-6, 7), 1, 127))  # noqa: E731
    notes: list[NoteEvent] = []
    programs: dict[int, int] = {1: style.harmony}
    for bar in range(n_bars):
        b0 = 4 * bar
        chord = P.chord_pcs(key, mode, prog[bar % len(prog)])
        voicing = P.voice(chord, 55, 67)
        if style.comp == "block":
            notes += [NoteEvent(at(b0), at(b0 + 3.9), 1, p, v(0.8)) for p in voicing]
        elif style.comp == "offbeat":
            for k in range(4):
                notes += [NoteEvent(at(b0 + k + 0.5), at(b0 + k + 0.75), 1, p, v(0.8)) for p in voicing]
        elif style.comp == "stab":
            for k in (1, 3):
                notes += [NoteEvent(at(b0 + k), at(b0 + k + 0.4), 1, p, v(0.8)) for p in voicing]
        elif style.comp == "arp":
            for k in range(8):
                p = voicing[k % len(voicing)]
                notes.append(NoteEvent(at(b0 + k / 2), at(b0 + k / 2 + 0.45), 1, p, v(0.75)))
        elif style.comp == "power":
            root = P.nearest(chord[0], 45)
            for k in range(8):
                notes += [NoteEvent(at(b0 + k / 2), at(b0 + k / 2 + 0.45), 1, p, v()) for p in (root, root + 7)]
        if style.bass_program is not None and style.bass != "none":
            programs[0] = style.bass_program
            root = P.nearest(chord[0], 38)
            if style.bass == "root":
                notes += [NoteEvent(at(b0 + k), at(b0 + k + 0.9), 0, root, v()) for k in range(4)]
            elif style.bass == "long":
                notes.append(NoteEvent(at(b0), at(b0 + 3.8), 0, root, v()))
            elif style.bass == "octave":
                notes += [NoteEvent(at(b0 + k / 2), at(b0 + k / 2 + 0.45), 0, root + 12 * (k % 2), v())
                          for k in range(8)]
            elif style.bass == "walk":
                line = [root, root + (3 if mode == "minor" else 4), root + 7, root + 5 + int(rng.integers(0, 4))]
                notes += [NoteEvent(at(b0 + k), at(b0 + k + 0.9), 0, p, v()) for k, p in enumerate(line)]
        if style.kit is not None:
            programs[DRUM_CHANNEL] = P.DRUM_KITS[style.kit]
            for pos, dk, dv in P.drum_groove(style.groove, 4, bar, n_bars, rng, style.drum_density):
                s = at(b0 + pos)
                notes.append(NoteEvent(s, s + int(0.15 * sr), DRUM_CHANNEL, dk,
                                       int(np.clip(dv * velocity / 100, 1, 127))))
    if style.melody is not None and style.melody_step > 0:
        programs[2] = style.melody
        pitches = P.scale_pitches(key, mode, 64, 84)
        idx = int(rng.integers(len(pitches)))
        t = 0.0
        while t < 4 * n_bars:
            idx = int(np.clip(idx + rng.choice((-2, -1, -1, 1, 1, 2)), 0, len(pitches) - 1))
            if rng.random() > 0.1:
                notes.append(NoteEvent(at(t), at(t + 0.9 * style.melody_step), 2, pitches[idx], v(1.05)))
            t += style.melody_step
    x = render_events(notes, n, sr, programs, gain_db=gain_db,
                      volumes={0: 105, 1: 95, 2: 120, DRUM_CHANNEL: 110})
    return limit(x, 0.98)
