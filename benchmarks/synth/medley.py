"""Medley-solos-DB-layout instrument set: solo phrases of the 8 instruments, played by the soundfont.

Layout (as Zenodo record 3464194)::

    Medley-solos-DB_metadata.csv                                  # subset, instrument, instrument_id, song_id, uuid4
    audio/Medley-solos-DB_<subset>-<instrument_id>_<uuid4>.wav     # mono 16-bit, 22,050 Hz, 65,536 samples (2.97 s)

Each instrument (:data:`PROGRAMS`: General-MIDI clarinet, distortion guitar, voice oohs, flute, piano, tenor sax,
trumpet, violin) plays ``songs_per_subset`` songs in each subset, ``clips_per_song`` clips per song; a song's clips
share its tempo and register and stay in one subset (as the real set requires). The test songs are played softer
and a little faster, a small stand-in for the real set's shift between collections.
"""
from __future__ import annotations

import uuid
from pathlib import Path

import numpy as np

from ..datasets.medley_solos import INSTRUMENTS, METADATA, audio_name
from .render import NoteEvent, limit, render_events, rng_for, seconds_to_sample, write_wav

__all__ = ["DEFAULTS", "PROGRAMS", "plan", "n_items", "render"]

DEFAULTS = {"seed": 20261208, "sample_rate": 22050, "clip_samples": 65536,
            "songs_per_subset": {"training": 3, "validation": 1, "test": 2}, "clips_per_song": 2, "gain_db": -3.0}
#: instrument -> (GM program, lowest, highest MIDI note played)
PROGRAMS = {"clarinet": (71, 55, 79), "distorted electric guitar": (30, 52, 76), "female singer": (53, 60, 79),
            "flute": (73, 64, 88), "piano": (0, 48, 84), "tenor saxophone": (66, 50, 72), "trumpet": (56, 58, 79),
            "violin": (40, 60, 88)}


def plan(cfg: dict) -> list[dict]:
    cfg = {**DEFAULTS, **cfg}
    rng = rng_for(int(cfg["seed"]), "medley-plan")
    clips, song = [], 0
    for subset, n_songs in cfg["songs_per_subset"].items():
        for iid, inst in enumerate(INSTRUMENTS):
            for _ in range(int(n_songs)):
                song += int(rng.integers(1, 5))
                bpm = float(rng.uniform(80, 130)) * (1.15 if subset == "test" else 1.0)
                _, lo, hi = PROGRAMS[inst]
                centre = int(rng.integers(lo + 5, hi - 4))
                for _ in range(int(cfg["clips_per_song"])):
                    clips.append({"subset": subset, "instrument": inst, "instrument_id": iid, "song_id": song,
                                  "uuid4": str(uuid.UUID(bytes=rng.bytes(16), version=4)), "bpm": bpm,
                                  "centre": centre, "velocity": (60, 90) if subset == "test" else (80, 115),
                                  "seed": int(rng.integers(2 ** 31))})
    return clips


def n_items(cfg: dict) -> int:
    cfg = {**DEFAULTS, **cfg}
    return len(plan(cfg))


def render_clip(c: dict, cfg: dict) -> np.ndarray:
    sr, n = int(cfg["sample_rate"]), int(cfg["clip_samples"])
    rng = np.random.default_rng(c["seed"])
    program, lo, hi = PROGRAMS[c["instrument"]]
    spb = 60.0 / c["bpm"]
    notes, t, pitch = [], float(rng.uniform(0, 0.2)), c["centre"]
    while t < n / sr:
        dur = spb * float(rng.choice((0.5, 1.0, 1.0, 2.0)))
        pitch = int(np.clip(pitch + rng.choice((-4, -2, -1, 0, 1, 2, 3, 5)), lo, hi))
        notes.append(NoteEvent(seconds_to_sample(t, sr), seconds_to_sample(t + 0.95 * dur, sr), 0, pitch,
                               int(rng.integers(*c["velocity"]))))
        t += dur
    return limit(render_events(notes, n, sr, {0: program}, gain_db=float(cfg["gain_db"])), 0.98)


def render(root: Path, cfg: dict, tick=lambda n=1: None) -> None:
    cfg = {**DEFAULTS, **cfg}
    sr = int(cfg["sample_rate"])
    audio = root / "audio"
    audio.mkdir(parents=True, exist_ok=True)
    rows = ["subset,instrument,instrument_id,song_id,uuid4"]
    for c in plan(cfg):
        write_wav(audio / audio_name(c["subset"], c["instrument_id"], c["uuid4"]), render_clip(c, cfg), sr)
        rows.append(f"{c['subset']},{c['instrument']},{c['instrument_id']},{c['song_id']},{c['uuid4']}")
        tick()
    (root / METADATA).write_text("\n".join(rows) + "\n")
