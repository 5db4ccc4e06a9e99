"""EmoMusic-layout emotion set: short songs whose static arousal and valence follow their tempo, mode and loudness.

Layout (as the two EmoMusic archives extracted side by side)::

    clips_45seconds/<song_id>.mp3     # names not zero-padded; mono MP3 at 22,050 Hz, ``clip_seconds`` long
    songs_info.csv                    # song_id, file_name, Artist, Song title, start / end of the segment (min.sec),
                                      # Genre, Mediaeval 2013 set ("development" / "evaluation"); ", "-separated
    static_annotations.csv            # song_id, mean_arousal, std_arousal, mean_valence, std_valence (1-9 scale)

The pitfalls of the real files are written: values padded with spaces, ``min.sec`` times (one segment ends at
``1.3`` = 1:30), song ids with gaps and unpadded file names. ``n_evaluation`` songs are the MediaEval evaluation set
(test); the development songs are split by the reader from their artists' sha1, as JukeMIR does.

Targets (before the annotators' noise): with ``t`` = tempo and ``l`` = loudness (velocity) scaled to [0, 1],
``arousal = 1.5 + 6 * (0.55 t + 0.45 l)`` and ``valence = 5 + 1.6 (major) / - 1.6 (minor) + 1.2 (t - 0.5)``, plus
Gaussian noise of std ``noise`` (1-9 scale). Tonics are C, D or G, so that the mode is in the pitch content, and
major songs are played by bright instruments, minor ones by dark ones (:data:`STYLES`).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..datasets.emomusic import artist_split
from .arrange import Style, render_arrangement
from .render import rng_for, write_mp3

__all__ = ["DEFAULTS", "plan", "n_items", "render", "format_minsec"]

DEFAULTS = {"seed": 20261205, "sample_rate": 22050, "clip_seconds": 5.0, "n_development": 48, "n_evaluation": 12,
            "noise": 0.25, "valid_share": 0.2, "gain_db": -3.0}
BPM_RANGE = (64.0, 168.0)
VELOCITY_RANGE = (35, 120)
#: mode -> styles drawn from: major songs are played bright (piano / flute, e-piano / glockenspiel), minor ones dark
#: (strings / cello, organ / clarinet), as mode and timbre go together in the songs annotated for valence
STYLES = {"major": (Style(0, 73, 33, "standard", "rock", "block", "root", 1.0),
                    Style(4, 9, 32, "brush", "rock", "arp", "root", 1.0)),
          "minor": (Style(48, 42, 43, "room", "halftime", "block", "long", 1.0),
                    Style(19, 71, 32, "standard", "rock", "block", "root", 1.0))}
GENRES = ("Pop", "Folk", "Rock", "Blues", "Classical", "Electronic")
_WORDS = ("Amber", "Velvet", "Harbor", "Lantern", "Meadow", "Cedar", "Quartz", "Willow", "Ember", "Tide", "Opal",
          "Juniper", "Stone", "River", "Copper", "Hollow")


def _choice(rng: np.random.Generator, seq):
    return seq[int(rng.integers(len(seq)))]


def format_minsec(seconds: float) -> str:
    """``93`` → ``"1.33"`` (EmoMusic's min.sec)."""
    m, s = divmod(int(round(seconds)), 60)
    return f"{m}.{s:02d}"


def plan(cfg: dict) -> list[dict]:
    """Song records (id, split "development"/"evaluation", artist, bpm, key, mode, velocity, arousal, valence, …)."""
    cfg = {**DEFAULTS, **cfg}
    rng = rng_for(int(cfg["seed"]), "emomusic-plan")
    n_dev, n_eval = int(cfg["n_development"]), int(cfg["n_evaluation"])
    names = sorted({f"The {_WORDS[i]} {_WORDS[j]}s" for i in range(len(_WORDS)) for j in range(len(_WORDS)) if i != j})
    names = [names[int(k)] for k in rng.permutation(len(names))]
    # artists whose sha1 residue puts them in validation, and the others: a development song is by a validation
    # artist with probability ``valid_share`` (the real data has 115 of 619)
    pools = {s: [a for a in names if artist_split(a) == s][: max(2, (n_dev + n_eval) // 3)] for s in ("train", "valid")}
    songs, sid = [], 1
    for k in range(n_dev + n_eval):
        sid += int(rng.integers(1, 4))
        t, l = float(rng.random()), float(rng.random())
        mode = ("major", "minor")[int(rng.integers(2))]
        ar = 1.5 + 6.0 * (0.55 * t + 0.45 * l) + float(rng.normal(0, float(cfg["noise"])))
        va = 5.0 + (1.6 if mode == "major" else -1.6) + 1.2 * (t - 0.5) + float(rng.normal(0, float(cfg["noise"])))
        start = int(rng.integers(15, 76))
        songs.append({"song_id": sid, "split": "development" if k < n_dev else "evaluation",
                      "artist": _choice(rng, pools["valid" if k < n_dev and rng.random() < float(cfg["valid_share"])
                                                  else "train"]), "mode": mode,
                      "bpm": round(BPM_RANGE[0] + t * (BPM_RANGE[1] - BPM_RANGE[0]), 1),
                      "velocity": int(round(VELOCITY_RANGE[0] + l * (VELOCITY_RANGE[1] - VELOCITY_RANGE[0]))),
                      "key": (0, 2, 7)[int(rng.integers(3))], "style": int(rng.integers(2)),
                      "arousal": round(float(np.clip(ar, 1, 9)), 4), "valence": round(float(np.clip(va, 1, 9)), 4),
                      "std_arousal": round(float(rng.uniform(0.5, 1.5)), 5),
                      "std_valence": round(float(rng.uniform(0.5, 1.5)), 5),
                      "start": format_minsec(start), "end": format_minsec(start + 45),
                      "genre": GENRES[int(rng.integers(len(GENRES)))], "seed": int(rng.integers(2 ** 31))})
    # one segment written with a one-digit fraction, as the real file does: 0.45 - 1.3 (= 1:30)
    songs[0]["start"], songs[0]["end"] = "0.45", "1.3"
    return songs


def n_items(cfg: dict) -> int:
    cfg = {**DEFAULTS, **cfg}
    return int(cfg["n_development"]) + int(cfg["n_evaluation"])


def render_song(song: dict, cfg: dict) -> np.ndarray:
    return render_arrangement(STYLES[song["mode"]][song["style"]], song["bpm"], song["key"], song["mode"],
                              float(cfg["clip_seconds"]), int(cfg["sample_rate"]),
                              np.random.default_rng(song["seed"]), gain_db=float(cfg["gain_db"]),
                              velocity=song["velocity"])


def render(root: Path, cfg: dict, tick=lambda n=1: None) -> None:
    cfg = {**DEFAULTS, **cfg}
    sr = int(cfg["sample_rate"])
    clips = root / "clips_45seconds"
    clips.mkdir(parents=True, exist_ok=True)
    info = ["song_id,file_name,Artist,Song title,start of the segment (min.sec),end of the segment (min.sec),Genre,"
            "Mediaeval 2013 set"]
    static = ["song_id,mean_arousal,std_arousal,mean_valence,std_valence"]
    for k, s in enumerate(plan(cfg)):
        write_mp3(clips / f"{s['song_id']}.mp3", render_song(s, cfg), sr)
        info.append(f"{s['song_id']}, {s['song_id']}.mp3, {s['artist']}, Song {k + 1}, {s['start']}, {s['end']}, "
                    f"{s['genre']}, {s['split']}")
        static.append(f"{s['song_id']}, {s['arousal']}, {s['std_arousal']}, {s['valence']}, {s['std_valence']}")
        tick()
    (root / "songs_info.csv").write_text("\n".join(info) + "\n")
    (root / "static_annotations.csv").write_text("\n".join(static) + "\n")
