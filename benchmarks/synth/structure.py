"""Music-structure synthetic set in the Harmonix Set layout (``dataset/segments/*.txt``, ``dataset/metadata.csv``,
``audio/<stem>.mp3``).

Each song is composed from sections with repeats — intro, verse, pre-chorus, chorus, bridge, instrumental (a solo),
outro, sometimes a leading silence — and every section type has its own texture, so the function of a section is
audible: a soft pad intro, verses with bass, light drums and piano on one progression, choruses with full drums, crash
cymbals, loud brass chords and a lead melody on another, a bridge on organ at half time, a synth-lead solo over the
verse backing, a piano outro — played by a band drawn per song, so an instrument does not give the section away.
A ``splits.tsv`` gives the set its own split. Segment files use the raw Harmonix vocabulary (``verse2``, ``prechorus``, ``gtr``,
``instrumental``, ``coda``…) and its pitfalls: a third of the songs start after 0 s with no label for the gap, one song
has two ``end`` lines, one has none; metadata titles hold quoted commas.
"""
from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np

from . import patterns as P
from .render import DRUM_CHANNEL, NoteEvent, limit, render_events, rng_for, seconds_to_sample, write_mp3

#: Sizes and seeds of the set (``cfg/synth.toml`` or ``synthesize(config=...)`` override them key by key; the same
#: values give byte-identical files).
DEFAULTS: dict = {
    "seed": 20261129,
    "sample_rate": 16000,
    "n_songs": 16,  # Harmonix layout, ~40-60 s songs of 9-10 sections
    "valid_fraction": 0.2,  # the set's own split (splits.tsv): 16 songs -> 10 / 3 / 3
    "test_fraction": 0.2,
    "tempo_min": 110.0,
    "tempo_max": 140.0,
    "gain_db": -3.0,
}

#: Section templates: (raw label candidates, function, bars)
TEMPLATES = (
    (("intro", "Intro"), "intro", 2), (("verse", "verse1"), "verse", 4), (("prechorus", "pre-chorus"), "verse", 2),
    (("chorus", "chorus1", "refrain"), "chorus", 4), (("verse2", "verse"), "verse", 4),
    (("chorus2", "chorus"), "chorus", 4), (("bridge",), "bridge", 2),
    (("solo", "inst", "gtr", "instrumental"), "inst", 2), (("chorus3", "chorus"), "chorus", 4),
    (("outro", "coda"), "outro", 2),
)
TITLE_WORDS = ("Love", "Night", "Fire", "Home", "Run", "Heart", "Dance", "Light", "Rain", "Gold")


def plan(cfg: dict) -> list[dict]:
    rng = rng_for(int(cfg["seed"]), "structure-plan")
    songs = []
    n = int(cfg["n_songs"])
    for i in range(n):
        w1, w2 = (TITLE_WORDS[int(rng.integers(len(TITLE_WORDS)))] for _ in range(2))
        sections = []
        for labels, function, bars in TEMPLATES:
            if function == "verse" and labels[0].startswith("pre") and rng.random() < 0.4:
                continue  # not every song has a pre-chorus
            sections.append((labels[int(rng.integers(len(labels)))], function, bars))
        pool = [0, 4, 16, 19, 24, 48, 52, 61, 73, 80, 81, 89]
        order = rng.permutation(len(pool))
        songs.append({"id": f"{i + 1:04d}_{w1.lower()}{w2.lower()}", "title": f"{w1}, {w2}" if i % 3 == 0 else w1,
                      "programs": [int(pool[k]) for k in order[:6]],      # a song's own band (not one per section)
                      "bpm": round(float(rng.uniform(cfg["tempo_min"], cfg["tempo_max"])), 2),
                      "key": int(rng.integers(12)), "mode": ("major", "minor")[int(rng.integers(2))],
                      "sections": sections, "start_gap": round(float(rng.uniform(0.5, 2.0)), 3) if i % 3 == 1 else 0.0,
                      "silence": round(float(rng.uniform(0.6, 1.5)), 3) if i % 4 == 0 else 0.0,
                      "end": "twice" if i == 2 else "none" if i == 5 else "once", "seed": int(rng.integers(2 ** 31))})
    return songs


def n_items(cfg: dict) -> int:
    return int(cfg["n_songs"])


def _section_notes(function: str, bar0: float, bars: int, spb: float, t0: float, sr: int, key: int, mode: str,
                   prog, rng) -> list[NoteEvent]:
    notes = []
    at = lambda beat: seconds_to_sample(t0 + beat * spb, sr)  # noqa: E731
    for b in range(bars):
        beat0 = (bar0 + b) * 4
        degree = prog[b % len(prog)]
        chord = P.chord_pcs(key, mode, degree)
        root = P.nearest(chord[0], 40)
        if function == "intro":            # soft pad, whole bar
            for p in P.voice(chord, 60, 72):
                notes.append(NoteEvent(at(beat0), at(beat0 + 3.9), 1, p, 55))
        elif function == "outro":          # piano, one chord per bar, quiet
            for p in P.voice(chord, 52, 64):
                notes.append(NoteEvent(at(beat0), at(beat0 + 3.5), 2, p, 50))
        elif function == "bridge":         # organ, half-time kick/snare
            for p in P.voice(chord, 55, 67):
                notes.append(NoteEvent(at(beat0), at(beat0 + 3.9), 3, p, 80))
            notes += [NoteEvent(at(beat0), at(beat0) + 2000, DRUM_CHANNEL, P.KICK, 90),
                      NoteEvent(at(beat0 + 2), at(beat0 + 2) + 2000, DRUM_CHANNEL, P.SNARE, 90)]
            notes.append(NoteEvent(at(beat0), at(beat0 + 3.8), 0, root, 80))
        else:                              # verse / chorus / inst share a band
            loud = function == "chorus"
            for k in range(4):
                notes.append(NoteEvent(at(beat0 + k), at(beat0 + k + 0.9), 0, root, 100 if loud else 80))
                drum = P.KICK if k % 2 == 0 else P.SNARE
                notes.append(NoteEvent(at(beat0 + k), at(beat0 + k) + 2000, DRUM_CHANNEL, drum, 110 if loud else 70))
                for h in (0.0, 0.5):
                    notes.append(NoteEvent(at(beat0 + k + h), at(beat0 + k + h) + 1500, DRUM_CHANNEL,
                                           P.OPEN_HH if loud else P.CLOSED_HH, 90 if loud else 60))
            if loud:
                notes.append(NoteEvent(at(beat0), at(beat0) + 8000, DRUM_CHANNEL, P.CRASH, 100))
                for p in P.voice(chord, 58, 70):
                    for k in (0, 2):
                        notes.append(NoteEvent(at(beat0 + k), at(beat0 + k + 1.6), 4, p, 105))
                scale = P.scale_pitches(key, mode, 72, 84)
                for k in range(4):
                    notes.append(NoteEvent(at(beat0 + k), at(beat0 + k + 0.8), 5,
                                           int(scale[int(rng.integers(len(scale)))]), 100))
            else:
                for k in range(4):
                    for p in P.voice(chord, 55, 67):
                        notes.append(NoteEvent(at(beat0 + k), at(beat0 + k + 0.5), 2, p, 65))
                if function == "inst":     # synth lead solo, 8th notes
                    scale = P.scale_pitches(key, mode, 67, 86)
                    for k in range(8):
                        notes.append(NoteEvent(at(beat0 + k / 2), at(beat0 + k / 2 + 0.45), 6,
                                               int(scale[int(rng.integers(len(scale)))]), 110))
    return notes


def render_song(s: dict, cfg: dict) -> tuple[np.ndarray, list[tuple[float, str]], float]:
    """Audio, ``(time, raw label)`` boundaries and the end time of one planned song."""
    sr = int(cfg["sample_rate"])
    rng = np.random.default_rng(s["seed"])
    spb = 60.0 / s["bpm"]
    t0 = s["start_gap"] + s["silence"]
    progs = P.PROGRESSIONS[s["mode"]]
    prog_of = {"verse": progs[0], "chorus": progs[1], "bridge": progs[2], "inst": progs[0], "intro": progs[3],
               "outro": progs[3]}
    notes, bounds = [], []
    if s["silence"]:
        bounds.append((s["start_gap"], "silence"))
    bar = 0
    for label, function, bars in s["sections"]:
        bounds.append((round(t0 + bar * 4 * spb, 6), label))
        notes += _section_notes(function, bar, bars, spb, t0, sr, s["key"], s["mode"], prog_of[function], rng)
        bar += bars
    end = t0 + bar * 4 * spb
    n = seconds_to_sample(end + 1.0, sr)
    band = s["programs"]
    programs = {0: 33, 1: band[0], 2: band[1], 3: band[2], 4: band[3], 5: band[4], 6: band[5],
                DRUM_CHANNEL: P.DRUM_KITS["standard"]}
    x = render_events(notes, n, sr, programs, gain_db=float(cfg["gain_db"]))
    return limit(x, 0.98), bounds, round(end, 6)


def format_segments(bounds: list[tuple[float, str]], end: float, how: str) -> str:
    lines = [f"{t:.6f} {label}" for t, label in bounds]
    if how in ("once", "twice"):
        lines.append(f"{end:.6f} end")
    if how == "twice":
        lines.append(f"{end + 0.73:.6f} end")
    return "\n".join(lines) + "\n"


def split_of(songs: list[dict], valid_fraction: float, test_fraction: float) -> dict[str, str]:
    """Song id → train / valid / test (songs are in a seeded order already: test first, then valid)."""
    n = len(songs)
    n_test, n_valid = max(1, int(round(test_fraction * n))), max(1, int(round(valid_fraction * n)))
    return {s["id"]: "test" if k < n_test else "valid" if k < n_test + n_valid else "train"
            for k, s in enumerate(songs)}


def render(root: Path, cfg: dict, tick=lambda n=1: None) -> None:
    sr = int(cfg["sample_rate"])
    ds = root / "dataset"
    (ds / "segments").mkdir(parents=True, exist_ok=True)
    (root / "audio").mkdir(parents=True, exist_ok=True)
    meta = io.StringIO()
    w = csv.writer(meta, lineterminator="\n")
    w.writerow(["File", "Title", "Artist", "Release", "Duration", "BPM", "Ratio Bars in 4", "Time Signature",
                "Genre", "MusicBrainz Id", "Acoustid Id"])
    songs = plan(cfg)
    for s in songs:
        x, bounds, end = render_song(s, cfg)
        write_mp3(root / "audio" / f"{s['id']}.mp3", x, sr)
        (ds / "segments" / f"{s['id']}.txt").write_text(format_segments(bounds, end, s["end"]))
        w.writerow([s["id"], s["title"], "Synth Band", "Offline", f"{len(x) / sr:.2f}", f"{s['bpm']:.0f}", "100.0",
                    "4|4", "Pop", "", ""])
        tick()
    (ds / "metadata.csv").write_text(meta.getvalue())
    # the set's own split (the layout's optional splits.tsv), as the beat set has one: one fit instead of eight folds
    if cfg.get("valid_fraction", 0) > 0 and cfg.get("test_fraction", 0) > 0 and len(songs) >= 3:
        split = split_of(songs, float(cfg["valid_fraction"]), float(cfg["test_fraction"]))
        (root / "splits.tsv").write_text("".join(f"{sid}\t{part}\n" for sid, part in sorted(split.items())))
