"""GTZAN-layout genre set: ten genres as styles of groove and harmony, with the three fault-filtered list files.

Layout (as the original archive with MARBLE's ``.wav`` copies, plus jongpillee/music_dataset_split's lists)::

    genres/<genre>/<genre>.<nnnnn>.wav     # mono 16-bit WAV at 22,050 Hz, ``clip_seconds`` long
    train_filtered.txt, valid_filtered.txt, test_filtered.txt   # "<genre>/<genre>.<nnnnn>.wav" per line, LF, sorted

Per genre, ``train_per_genre`` / ``valid_per_genre`` / ``test_per_genre`` clips are listed and ``unlisted_per_genre``
are in the tree but in no list (the real split leaves 70 clips out). Clip numbers are a seeded draw from 0-99.
``jazz.00054`` is always one of the jazz training clips and is written **corrupt**: a WAV whose header promises
``clip_seconds`` but whose data stops halfway, as the bad clip of the real Kaggle copy.

Each genre is a :class:`benchmarks.synth.arrange.Style` (instruments, kit, groove, comping, bass line) with its tempo
range and mode (:data:`GENRE_STYLES`); key, tempo and progression vary per clip.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..datasets.gtzan import GENRES, SPLIT_FILES
from .arrange import Style, render_arrangement
from .render import rng_for, write_wav

__all__ = ["DEFAULTS", "GENRE_STYLES", "CORRUPT_CLIP", "plan", "n_items", "render"]

DEFAULTS = {"seed": 20261204, "sample_rate": 22050, "clip_seconds": 4.0, "train_per_genre": 5, "valid_per_genre": 2,
            "test_per_genre": 2, "unlisted_per_genre": 1, "gain_db": -3.0}
CORRUPT_CLIP = "jazz.00054"

#: genre -> (style, bpm range, modes drawn from)
GENRE_STYLES: dict[str, tuple[Style, tuple[float, float], tuple[str, ...]]] = {
    "blues": (Style(27, 25, 32, "standard", "jazz", "stab", "walk", 1.0, "sparse"), (72, 96), ("major",)),
    "classical": (Style(48, 40, 42, None, comp="block", bass="long", melody_step=1.0), (60, 90), ("major", "minor")),
    "country": (Style(25, 110, 33, "brush", "rock", "arp", "root", 0.5), (100, 124), ("major",)),
    "disco": (Style(48, 81, 38, "standard", "disco", "stab", "octave", 1.0, "dense"), (116, 126), ("minor", "major")),
    "hiphop": (Style(4, None, 38, "tr808", "halftime", "block", "long", 0.0, "dense"), (82, 96), ("minor",)),
    "jazz": (Style(0, 65, 32, "jazz", "jazz", "stab", "walk", 0.5), (130, 170), ("major", "minor")),
    "metal": (Style(30, None, 34, "power", "rock", "power", "octave", 0.0, "dense"), (160, 190), ("minor",)),
    "pop": (Style(0, 53, 33, "standard", "rock", "block", "root", 1.0), (100, 120), ("major",)),
    "reggae": (Style(16, None, 33, "room", "halftime", "offbeat", "long", 0.0, "sparse"), (70, 84), ("minor",)),
    "rock": (Style(29, 29, 34, "room", "rock", "block", "root", 0.5), (126, 150), ("major",)),
}


def plan(cfg: dict) -> list[dict]:
    """Clip records ``{"id", "genre", "split" ("train"/"valid"/"test"/"" unlisted), "bpm", "key", "mode", "seed"}``,
    sorted by id."""
    cfg = {**DEFAULTS, **cfg}
    rng = rng_for(int(cfg["seed"]), "gtzan-plan")
    sizes = [("train", int(cfg["train_per_genre"])), ("valid", int(cfg["valid_per_genre"])),
             ("test", int(cfg["test_per_genre"])), ("", int(cfg["unlisted_per_genre"]))]
    clips = []
    for genre in GENRES:
        style, (lo, hi), modes = GENRE_STYLES[genre]
        total = sum(n for _, n in sizes)
        nums = [int(k) for k in rng.permutation([k for k in range(100) if k != 54])[:total]]
        if genre == "jazz":
            nums[0] = 54  # the corrupt clip is a training clip, as in train_filtered.txt
        splits = [s for s, n in sizes for _ in range(n)]
        for num, split in zip(nums, splits):
            clips.append({"id": f"{genre}.{num:05d}", "genre": genre, "split": split,
                          "bpm": round(float(rng.uniform(lo, hi)), 1), "key": int(rng.integers(12)),
                          "mode": modes[int(rng.integers(len(modes)))], "seed": int(rng.integers(2 ** 31))})
    return sorted(clips, key=lambda c: c["id"])


def n_items(cfg: dict) -> int:
    cfg = {**DEFAULTS, **cfg}
    return len(GENRES) * sum(int(cfg[k]) for k in ("train_per_genre", "valid_per_genre", "test_per_genre",
                                                   "unlisted_per_genre"))


def render_clip(clip: dict, cfg: dict) -> np.ndarray:
    style = GENRE_STYLES[clip["genre"]][0]
    return render_arrangement(style, clip["bpm"], clip["key"], clip["mode"], float(cfg["clip_seconds"]),
                              int(cfg["sample_rate"]), np.random.default_rng(clip["seed"]),
                              gain_db=float(cfg["gain_db"]))


def _truncate(path: Path) -> None:
    """Cut a WAV inside its data: the header keeps its sizes, the file keeps half of the samples."""
    data = path.read_bytes()
    path.write_bytes(data[:44 + (len(data) - 44) // 2])


def render(root: Path, cfg: dict, tick=lambda n=1: None) -> None:
    cfg = {**DEFAULTS, **cfg}
    sr = int(cfg["sample_rate"])
    lists: dict[str, list[str]] = {s: [] for s in SPLIT_FILES}
    for clip in plan(cfg):
        genre = clip["genre"]
        path = root / "genres" / genre / f"{clip['id']}.wav"
        path.parent.mkdir(parents=True, exist_ok=True)
        write_wav(path, render_clip(clip, cfg), sr)
        if clip["id"] == CORRUPT_CLIP:
            _truncate(path)
        if clip["split"]:
            lists[clip["split"]].append(f"{genre}/{clip['id']}.wav")
        tick()
    for split, fname in SPLIT_FILES.items():
        (root / fname).write_text("".join(f"{line}\n" for line in sorted(lists[split])))
