"""Chord-recognition synthetic set in the Chords1217 layout (``chordlab/<id>.lab`` + ``audio/<id>.mp3`` + 5 fold files).

Each track is a diatonic progression in a random key and tempo, played as block chords by one General-MIDI
instrument over a bass line on the chord roots (and, for half of the tracks, drums), with a silent lead-in and tail
annotated ``N``. Chord durations vary (a half bar to two bars); some chords are sevenths (``G:7``, ``A:min7``: still
major / minor), some are ``sus4`` or diminished (out of the 25-class vocabulary: ignored), and labels are spelled the
ways real sets spell them — flats in some tracks, sharps in others, ``G`` for ``G:maj``, enharmonic roots (``Cb``).
The ``.lab`` files mix tab and space separators, 3 and 6 decimals, and some end with a blank line, as the real ones.

Fold files: ``train0{k}.csv`` / ``test0{k}.csv`` for k = 0…4, one id per line: track ``i`` is tested in fold
``i mod 5`` (the real layout of music-x-lab's Chords1217 folds).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from . import patterns as P
from .render import DRUM_CHANNEL, NoteEvent, limit, render_events, rng_for, seconds_to_sample, write_mp3

#: Sizes and seeds of the set (``cfg/synth.toml`` or ``synthesize(config=...)`` override them key by key; the same
#: values give byte-identical files).
DEFAULTS: dict = {
    "seed": 20261128,
    "sample_rate": 16000,
    "n_tracks": 30,  # Chords1217 layout; 5 fold files (track i tested in fold i mod 5)
    "clip_seconds": 20.0,
    "tempo_min": 80.0,
    "tempo_max": 140.0,
    "gain_db": -3.0,
}

PROGRAMS = (0, 4, 16, 19, 24, 25, 48, 61, 88, 89)
BASS = (32, 33, 34, 38)
SHARPS = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")
FLATS = ("C", "Db", "D", "Eb", "Fb", "F", "Gb", "G", "Ab", "A", "Bb", "Cb")   # Fb = E, Cb = B (enharmonic spellings)
N_FOLDS = 5


def plan(cfg: dict) -> list[dict]:
    rng = rng_for(int(cfg["seed"]), "chords-plan")
    tracks = []
    for i in range(int(cfg["n_tracks"])):
        mode = ("major", "minor")[i % 2]
        tracks.append({"id": f"TRSYNTH{i:04d}CHORD", "key": int(rng.integers(12)), "mode": mode,
                       "bpm": round(float(rng.uniform(cfg["tempo_min"], cfg["tempo_max"])), 2),
                       "program": int(PROGRAMS[int(rng.integers(len(PROGRAMS)))]),
                       "bass": int(BASS[int(rng.integers(len(BASS)))]), "drums": bool(rng.random() < 0.5),
                       "spelling": ("flats", "sharps")[int(rng.integers(2))],
                       "lead_in": round(float(rng.uniform(0.4, 1.5)), 3), "seed": int(rng.integers(2 ** 31)),
                       "fmt": int(rng.integers(4))})
    return tracks


def n_items(cfg: dict) -> int:
    return int(cfg["n_tracks"])


def _name(pc: int, spelling: str, rng) -> str:
    if spelling == "flats":
        return FLATS[pc] if pc not in (4, 11) or rng.random() < 0.3 else ("E", "B")[pc == 11]
    return SHARPS[pc]


def _chords(t: dict, cfg: dict, rng) -> list[tuple[float, tuple[int, ...], str]]:
    """(duration in beats, pitch classes, label) of the track's chords."""
    mode, key = t["mode"], t["key"]
    progression = P.PROGRESSIONS[mode][int(rng.integers(len(P.PROGRESSIONS[mode])))]
    total = float(cfg["clip_seconds"]) - t["lead_in"] - 1.0
    beats_left = total * t["bpm"] / 60.0
    out, k = [], 0
    while beats_left >= 2:
        degree = progression[k % len(progression)]
        k += 1
        dur = float(min(beats_left, (2, 4, 4, 8)[int(rng.integers(4))]))
        pcs = list(P.chord_pcs(key, mode, degree))
        root = pcs[0]
        third = (pcs[1] - root) % 12
        quality = "maj" if third == 4 else "min" if third == 3 else "dim"
        if (pcs[2] - root) % 12 == 6:
            quality = "dim"
        r = rng.random()
        if quality in ("maj", "min") and r < 0.15:              # a seventh: still major / minor
            seventh = (root + (10 if (quality == "min" or degree == 4) else 11)) % 12
            pcs.append(seventh)
            quality = {"maj": "7" if degree == 4 else "maj7", "min": "min7"}[quality]
        elif quality in ("maj", "min") and r < 0.22:            # sus4: outside the vocabulary
            pcs[1] = (root + 5) % 12
            quality = "sus4"
        name = _name(root, t["spelling"], rng)
        label = name if (quality == "maj" and rng.random() < 0.3) else f"{name}:{quality}"
        out.append((dur, tuple(pcs), label))
        beats_left -= dur
    return out


def render_track(t: dict, cfg: dict) -> tuple[np.ndarray, list[tuple[float, float, str]]]:
    """Audio and ``(start, end, label)`` segments of one planned track."""
    sr = int(cfg["sample_rate"])
    rng = np.random.default_rng(t["seed"])
    n = seconds_to_sample(float(cfg["clip_seconds"]), sr)
    spb = 60.0 / t["bpm"]
    notes, segments = [], []
    time = t["lead_in"]
    segments.append((0.0, time, "N"))
    programs = {0: t["program"], 1: t["bass"]}
    if t["drums"]:
        programs[DRUM_CHANNEL] = P.DRUM_KITS["standard"]
    beat = 0.0
    for dur, pcs, label in _chords(t, cfg, rng):
        s, e = seconds_to_sample(time, sr), seconds_to_sample(time + dur * spb, sr)
        for p in P.voice(set(pcs), 55, 70):
            notes.append(NoteEvent(s, max(s + 1, e - int(0.02 * sr)), 0, p, 78))
        root = P.nearest(pcs[0], 40)
        for b in range(int(dur)):
            bs = seconds_to_sample(time + b * spb, sr)
            notes.append(NoteEvent(bs, bs + int(0.9 * spb * sr), 1, root, 90 if b == 0 else 75))
            if t["drums"]:
                key = P.KICK if (beat + b) % 2 == 0 else P.SNARE
                notes += [NoteEvent(bs, bs + int(0.1 * sr), DRUM_CHANNEL, key, 90),
                          NoteEvent(bs, bs + int(0.1 * sr), DRUM_CHANNEL, P.CLOSED_HH, 70)]
        segments.append((time, time + dur * spb, label))
        time += dur * spb
        beat += dur
    segments.append((time, float(cfg["clip_seconds"]), "N"))
    x = render_events(notes, n, sr, programs, gain_db=float(cfg["gain_db"]))
    return limit(x, 0.98), segments


def format_lab(segments, fmt: int) -> str:
    sep = "\t" if fmt % 2 == 0 else " "
    digits = 3 if fmt < 2 else 6
    text = "".join(f"{s:.{digits}f}{sep}{e:.{digits}f}{sep}{lab}\n" for s, e, lab in segments)
    return text + ("\n" if fmt == 3 else "")


def render(root: Path, cfg: dict, tick=lambda n=1: None) -> None:
    sr = int(cfg["sample_rate"])
    (root / "chordlab").mkdir(parents=True, exist_ok=True)
    (root / "audio").mkdir(parents=True, exist_ok=True)
    tracks = plan(cfg)
    for t in tracks:
        x, segments = render_track(t, cfg)
        write_mp3(root / "audio" / f"{t['id']}.mp3", x, sr)
        (root / "chordlab" / f"{t['id']}.lab").write_text(format_lab(segments, t["fmt"]))
        tick()
    ids = [t["id"] for t in tracks]
    for k in range(N_FOLDS):
        test = [i for j, i in enumerate(ids) if j % N_FOLDS == k]
        train = [i for j, i in enumerate(ids) if j % N_FOLDS != k]
        (root / f"train0{k}.csv").write_text("\n".join(train) + "\n")
        (root / f"test0{k}.csv").write_text("\n".join(test) + "\n")
