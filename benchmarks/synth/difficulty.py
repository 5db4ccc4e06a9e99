"""Performance-difficulty synthetic set in the documented PianoSyllabus layout (``metadata.csv`` + ``audio/<id>.mp3``).

Piano pieces whose difficulty is controlled, grade by grade (0–10): the tempo rises (60 + 8·grade BPM), the right
hand plays more notes per beat (1 at grades 0–2 up to 4 at 9–10) over a wider range with bigger leaps, the left hand
goes from whole-bar notes to block chords, then Alberti figures, then arpeggios, and the dynamics vary more. Piece
ids look like PSyllabus keys (composer initial, title; spaces and non-ASCII letters). ``metadata.csv`` has a split
column (train / valid / test, stratified by grade).
"""
from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np

from . import patterns as P
from .render import NoteEvent, limit, render_events, rng_for, seconds_to_sample, write_mp3

#: Sizes and seeds of the set (``cfg/synth.toml`` or ``synthesize(config=...)`` override them key by key; the same
#: values give byte-identical files).
DEFAULTS: dict = {
    "seed": 20261130,
    "sample_rate": 16000,
    "pieces_per_grade": 5,  # 11 grades x 5 = 55 pieces: 1 test, 1 valid, 3 train per grade
    "clip_seconds": 16.0,
    "gain_db": -3.0,
}

COMPOSERS = ("Absil J.", "Arens B.", "Bartók B.", "Czerny C.", "Dvořák A.", "Grieg E.", "Satie E.", "Mompou F.")
TITLES = ("Humoresque", "Étude", "Prélude", "Ciorsdan Mhòr", "Dance", "Sonatina", "Invention", "Nocturne")


def plan(cfg: dict) -> list[dict]:
    rng = rng_for(int(cfg["seed"]), "difficulty-plan")
    pieces = []
    per = int(cfg["pieces_per_grade"])
    for grade in range(11):
        for j in range(per):
            split = "test" if j == 0 else "valid" if j == 1 else "train"
            comp, title = COMPOSERS[int(rng.integers(len(COMPOSERS)))], TITLES[int(rng.integers(len(TITLES)))]
            pieces.append({"id": f"{comp}{title} Op {10 + grade} No {j + 1}", "grade": grade, "split": split,
                           "composer": comp, "title": title, "key": int(rng.integers(12)),
                           "mode": ("major", "minor")[int(rng.integers(2))], "seed": int(rng.integers(2 ** 31))})
    return pieces


def n_items(cfg: dict) -> int:
    return 11 * int(cfg["pieces_per_grade"])


def render_piece(p: dict, cfg: dict) -> np.ndarray:
    sr = int(cfg["sample_rate"])
    rng = np.random.default_rng(p["seed"])
    g = p["grade"]
    bpm = 60.0 + 8.0 * g + float(rng.uniform(-4, 4))
    spb = 60.0 / bpm
    n = seconds_to_sample(float(cfg["clip_seconds"]), sr)
    per_beat = 1 if g <= 2 else 2 if g <= 5 else 3 if g <= 8 else 4
    span = 7 + 2 * g                                  # right-hand range in semitones
    leap = 1 + g // 2                                 # largest step between notes, in scale degrees
    dyn = 4 + 5 * g                                   # velocity spread
    scale = P.scale_pitches(p["key"], p["mode"], 60, 60 + span)
    prog = P.PROGRESSIONS[p["mode"]][int(rng.integers(len(P.PROGRESSIONS[p["mode"]])))]
    notes, beat, idx = [], 0, len(scale) // 2
    total_beats = int(float(cfg["clip_seconds"]) / spb)
    at = lambda b: seconds_to_sample(0.3 + b * spb, sr)  # noqa: E731
    while beat < total_beats:
        chord = P.chord_pcs(p["key"], p["mode"], prog[(beat // 4) % len(prog)])
        for k in range(per_beat):                     # right hand
            idx = int(np.clip(idx + rng.integers(-leap, leap + 1), 0, len(scale) - 1))
            b = beat + k / per_beat
            vel = int(np.clip(72 + rng.integers(-dyn, dyn + 1), 25, 120))
            notes.append(NoteEvent(at(b), at(b + 0.95 / per_beat), 0, scale[idx], vel))
        bass = P.voice(chord, 36, 55)
        if g <= 2 and beat % 4 == 0:                  # left hand: whole-bar roots
            notes.append(NoteEvent(at(beat), at(beat + 3.9), 0, bass[0], 60))
        elif 3 <= g <= 5:                             # block chords on every beat
            for q in bass[:3]:
                notes.append(NoteEvent(at(beat), at(beat + 0.9), 0, q, 62))
        elif 6 <= g <= 8:                             # Alberti: low, high, middle, high
            fig = [bass[0], bass[-1], bass[min(1, len(bass) - 1)], bass[-1]]
            for k, q in enumerate(fig):
                notes.append(NoteEvent(at(beat + k / 4), at(beat + (k + 0.9) / 4), 0, q, 60))
        elif g >= 9:                                  # arpeggios over two octaves, 16ths
            arp = sorted(set(bass + [q + 12 for q in bass]))
            for k in range(4):
                q = arp[(beat * 4 + k) % len(arp)]
                notes.append(NoteEvent(at(beat + k / 4), at(beat + (k + 0.9) / 4), 0, q, 64))
        beat += 1
    x = render_events(notes, n, sr, {0: 0}, gain_db=float(cfg["gain_db"]))
    return limit(x, 0.98)


def render(root: Path, cfg: dict, tick=lambda n=1: None) -> None:
    sr = int(cfg["sample_rate"])
    (root / "audio").mkdir(parents=True, exist_ok=True)
    meta = io.StringIO()
    w = csv.writer(meta, lineterminator="\n")
    w.writerow(["id", "grade", "split", "composer", "title"])
    for p in plan(cfg):
        write_mp3(root / "audio" / f"{p['id']}.mp3", render_piece(p, cfg), sr)
        w.writerow([p["id"], p["grade"], p["split"], p["composer"], p["title"]])
        tick()
    (root / "metadata.csv").write_text(meta.getvalue(), encoding="utf-8")
