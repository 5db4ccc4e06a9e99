"""Key-detection synthetic sets in the GiantSteps layouts: a training set as GiantSteps MTG Key
(``giantsteps-mtg-key-dataset/annotations/annotations.txt`` + ``beatport_metadata.txt`` + ``audio/<id>.LOFI.mp3``)
and a test set as GiantSteps Key (``giantsteps-key-dataset/annotations/key/<id>.LOFI.key`` + ``audio/``).

Each track is an electronic-style loop that establishes its key: a cadential progression (I–IV–V–I, I–vi–IV–V;
i–iv–V–i, i–VI–III–VII), bass on the roots, a pad, a melody on the scale that leans on the tonic, and drums. The
annotation pitfalls of the real sets are reproduced: the training file writes lower-case tonics with sharps
(``d# minor``) and a confidence column, plus rows to be dropped (confidence 0 / 1, ``-``, multi-key ``C minor / F#
minor``); test files hold ``Eb minor`` with flats and no trailing newline.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from . import patterns as P
from .render import DRUM_CHANNEL, NoteEvent, limit, render_events, rng_for, seconds_to_sample, write_mp3

#: Sizes and seeds of the set (``cfg/synth.toml`` or ``synthesize(config=...)`` override them key by key; the same
#: values give byte-identical files).
DEFAULTS: dict = {
    "seed": 20261131,
    "sample_rate": 16000,
    "train_per_key": 3,  # 24 keys x 3 = 72 training loops (+ 4 rows the loader drops), 2 per key for test
    "test_per_key": 2,
    "clip_seconds": 16.0,
    "gain_db": -3.0,
}

SHARP_NAMES = ("c", "c#", "d", "d#", "e", "f", "f#", "g", "g#", "a", "a#", "b")
FLAT_NAMES = ("C", "Db", "D", "Eb", "E", "F", "Gb", "G", "Ab", "A", "Bb", "B")
CADENCES = {"major": ((0, 3, 4, 0), (0, 5, 3, 4)), "minor": ((0, 3, 4, 0), (0, 5, 2, 6))}
#: Artist names; "Night Bus" and "Amber Parade" fall in JukeMIR's validation residues (sha1 mod 116 >= 100), the others
#: in training, so the artist split gives the set a validation part.
ARTISTS = ("DJ Nova", "Kontra", "Night Bus", "Mira Lux", "Tessellate", "Orbital Kid", "Amber Parade", "Vanta",
           "Lo Ferro", "Sunday Ghost")


def plan(cfg: dict) -> list[dict]:
    rng = rng_for(int(cfg["seed"]), "key-plan")
    tracks, tid = [], 5000
    for split, per_key in (("train", int(cfg["train_per_key"])), ("test", int(cfg["test_per_key"]))):
        for mode in ("major", "minor"):
            for pc in range(12):
                for _ in range(per_key):
                    tid += int(rng.integers(1, 40))
                    a1 = ARTISTS[int(rng.integers(len(ARTISTS)))]
                    artist = a1 if rng.random() < 0.7 else f"{a1}, {ARTISTS[int(rng.integers(len(ARTISTS)))]}"
                    tracks.append({"id": str(tid), "split": split, "key": pc, "mode": mode, "artist": artist,
                                   "bpm": round(float(rng.uniform(110, 130)), 2), "seed": int(rng.integers(2 ** 31)),
                                   "confidence": 2})
    # rows the training file keeps for realism but the loader must drop
    for kind in ("conf0", "conf1", "none", "multi"):
        tid += 7
        tracks.append({"id": str(tid), "split": "train", "key": int(rng.integers(12)), "mode": "minor",
                       "artist": ARTISTS[0], "bpm": 120.0, "seed": int(rng.integers(2 ** 31)),
                       "confidence": {"conf0": 0, "conf1": 1}.get(kind, 2 if kind == "multi" else 0), "odd": kind})
    return tracks


def n_items(cfg: dict) -> int:
    return 24 * (int(cfg["train_per_key"]) + int(cfg["test_per_key"])) + 4


def render_track(t: dict, cfg: dict) -> np.ndarray:
    sr = int(cfg["sample_rate"])
    rng = np.random.default_rng(t["seed"])
    spb = 60.0 / t["bpm"]
    n = seconds_to_sample(float(cfg["clip_seconds"]), sr)
    key, mode = t["key"], t["mode"]
    prog = CADENCES[mode][int(rng.integers(2))]
    scale = P.scale_pitches(key, mode, 67, 84)
    tonic_notes = [p for p in scale if p % 12 == key]
    notes = []
    at = lambda b: seconds_to_sample(b * spb, sr)  # noqa: E731
    bars = int(float(cfg["clip_seconds"]) / (4 * spb)) + 1
    for bar in range(bars):
        chord = P.chord_pcs(key, mode, prog[bar % len(prog)])
        b0 = bar * 4
        for p in P.voice(chord, 55, 67):
            notes.append(NoteEvent(at(b0), at(b0 + 3.9), 1, p, 70))
        root = P.nearest(chord[0], 38)
        for k in range(4):
            notes.append(NoteEvent(at(b0 + k), at(b0 + k + 0.45), 0, root, 95))
            notes.append(NoteEvent(at(b0 + k), at(b0 + k) + 3000, DRUM_CHANNEL, P.KICK, 100))
            notes.append(NoteEvent(at(b0 + k + 0.5), at(b0 + k + 0.5) + 2000, DRUM_CHANNEL, P.OPEN_HH, 70))
        for k in range(8):
            p = tonic_notes[int(rng.integers(len(tonic_notes)))] if k % 4 == 0 else \
                scale[int(rng.integers(len(scale)))]
            notes.append(NoteEvent(at(b0 + k / 2), at(b0 + k / 2 + 0.4), 2, p, 85))
    x = render_events(notes, n, sr, {0: 38, 1: 89, 2: 81, DRUM_CHANNEL: P.DRUM_KITS["electronic"]},
                      gain_db=float(cfg["gain_db"]))
    return limit(x, 0.98)


def render(root: Path, cfg: dict, tick=lambda n=1: None) -> None:
    sr = int(cfg["sample_rate"])
    train_dir, test_dir = root / "giantsteps-mtg-key-dataset", root / "giantsteps-key-dataset"
    for d in (train_dir / "annotations", train_dir / "audio", test_dir / "annotations" / "key", test_dir / "audio"):
        d.mkdir(parents=True, exist_ok=True)
    rows, meta = ["ID\tMANUAL KEY\tC"], ["ID\tARTIST\tSONG TITLE\tMIX\tLABEL\tBP GENRE\tBP BPM\tBP KEY"]
    for t in plan(cfg):
        folder = train_dir if t["split"] == "train" else test_dir
        write_mp3(folder / "audio" / f"{t['id']}.LOFI.mp3", render_track(t, cfg), sr)
        if t["split"] == "test":
            (test_dir / "annotations" / "key" / f"{t['id']}.LOFI.key").write_text(
                f"{FLAT_NAMES[t['key']]} {t['mode']}")
        else:
            odd = t.get("odd")
            key = "-" if odd == "none" else (f"{SHARP_NAMES[t['key']]} minor / {SHARP_NAMES[(t['key'] + 7) % 12]} "
                                             "minor" if odd == "multi" else f"{SHARP_NAMES[t['key']]} {t['mode']}")
            rows.append(f"{t['id']}\t{key}\t{t['confidence']}")
            meta.append(f"{t['id']}\t{t['artist']}\tLoop {t['id']}\tOriginal Mix\tOffline\tTechno\t{t['bpm']:.0f}\t"
                        f"{FLAT_NAMES[t['key']]}{'m' if t['mode'] == 'minor' else ''}")
        tick()
    (train_dir / "annotations" / "annotations.txt").write_text("\n".join(rows) + "\n")
    (train_dir / "annotations" / "beatport_metadata.txt").write_text("\n".join(meta) + "\n", encoding="utf-8")
