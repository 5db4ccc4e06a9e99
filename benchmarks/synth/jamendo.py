"""MTG-Jamendo-layout tagging set: the synthesised MTAT arrangements, tagged in MTG-Jamendo's ``category---tag`` form.

Layout (as the MTG/mtg-jamendo-dataset repository plus the low-quality audio download)::

    data/splits/split-0/autotagging_{top50tags,genre,instrument,moodtheme}-{train,validation,test}.tsv
        # CRLF endings; header TRACK_ID ARTIST_ID ALBUM_ID PATH DURATION TAGS; tags from column 6 on, one per field
    audio-low/<NN>/<id>.low.mp3          # NN = id mod 100 (two digits); PATH in the TSVs says NN/<id>.mp3

Clips come from :mod:`benchmarks.synth.mtat` (:func:`~benchmarks.synth.mtat.sample_spec`,
:func:`~benchmarks.synth.mtat.render_clip`, the same draw that gives every tag positives in every split); their tags
are mapped by :data:`TAG_MAP` (style → ``genre---``, instruments → ``instrument---``, tempo / loudness / mode →
``mood/theme---``). The top-50 files hold every track with all its tags; a category's files hold the tracks with at
least one tag of that category, with those tags only (as the real subset files).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from . import mtat
from .render import rng_for, write_mp3

__all__ = ["DEFAULTS", "TAG_MAP", "plan", "n_items", "render"]

DEFAULTS = {"seed": 20261206, "sample_rate": 16000, "clip_samples": 96000, "n_clips": 160, "valid_fraction": 0.2,
            "test_fraction": 0.25, "gain_db": -2.0}

#: synth-mtat tag → MTG-Jamendo tag (tags of the synth vocabulary without an MTG-Jamendo counterpart are dropped)
TAG_MAP = {
    "classical": "genre---classical", "rock": "genre---rock", "electronic": "genre---electronic", "pop": "genre---pop",
    "ambient": "genre---ambient",
    "piano": "instrument---piano", "guitar": "instrument---guitar", "strings": "instrument---strings",
    "violin": "instrument---violin", "drums": "instrument---drums", "bass": "instrument---bass",
    "flute": "instrument---flute", "brass": "instrument---brass", "sax": "instrument---saxophone",
    "organ": "instrument---organ", "synth": "instrument---synthesizer", "vocal": "instrument---voice",
    "choir": "instrument---voice",
    "fast": "mood/theme---energetic", "slow": "mood/theme---calm", "loud": "mood/theme---powerful",
    "quiet": "mood/theme---relaxing", "major": "mood/theme---happy", "minor": "mood/theme---sad",
}
#: subset -> (file stem, tag prefix of the subset's tags; "" = every tag)
FILES = {"top50": ("autotagging_top50tags", ""), "genre": ("autotagging_genre", "genre---"),
         "instrument": ("autotagging_instrument", "instrument---"),
         "moodtheme": ("autotagging_moodtheme", "mood/theme---")}
_FILE_SPLITS = {"train": "train", "valid": "validation", "test": "test"}


def plan(cfg: dict) -> list[dict]:
    """Track records (id, split, spec, tags, artist, album, duration), sorted by track id."""
    cfg = {**DEFAULTS, **cfg}
    rng = rng_for(int(cfg["seed"]), "jamendo-plan")
    n = int(cfg["n_clips"])
    n_valid, n_test = int(round(float(cfg["valid_fraction"]) * n)), int(round(float(cfg["test_fraction"]) * n))
    tracks = []
    for split, size in (("train", n - n_valid - n_test), ("valid", n_valid), ("test", n_test)):
        best, best_gap = None, None
        for _ in range(200):
            specs = [mtat.sample_spec(rng) for _ in range(size)]
            gap = mtat._coverage_gap(specs, 2 if split == "train" else 1)
            if best_gap is None or gap < best_gap:
                best, best_gap = specs, gap
            if gap == 0:
                break
        tracks += [{"split": split, "spec": s} for s in best]
    ids = np.sort(rng.choice(np.arange(200, 1_400_000), size=len(tracks), replace=False))
    for tid, k in zip(ids, rng.permutation(len(tracks))):
        t = tracks[k]
        t["num"] = int(tid)
        t["tags"] = sorted({TAG_MAP[x] for x in mtat.spec_tags(t["spec"]) if x in TAG_MAP})
        t["artist"] = int(rng.integers(1, 4000))
        t["album"] = int(rng.integers(1, 9000))
    return sorted(tracks, key=lambda t: t["num"])


def n_items(cfg: dict) -> int:
    cfg = {**DEFAULTS, **cfg}
    return int(cfg["n_clips"])


def render(root: Path, cfg: dict, tick=lambda n=1: None) -> None:
    cfg = {**DEFAULTS, **cfg}
    sr = int(cfg["sample_rate"])
    tracks = plan(cfg)
    rows: dict[tuple[str, str], list[str]] = {(sub, s): [] for sub in FILES for s in _FILE_SPLITS}
    duration = int(cfg["clip_samples"]) / sr
    for t in tracks:
        rel = f"{t['num'] % 100:02d}/{t['num']}.mp3"
        path = root / "audio-low" / f"{t['num'] % 100:02d}" / f"{t['num']}.low.mp3"
        path.parent.mkdir(parents=True, exist_ok=True)
        write_mp3(path, mtat.render_clip(t["spec"], cfg), sr)
        for sub, (_, prefix) in FILES.items():
            tags = [x for x in t["tags"] if x.startswith(prefix)]
            if tags:
                rows[(sub, t["split"])].append("\t".join([f"track_{t['num']:07d}", f"artist_{t['artist']:06d}",
                                                          f"album_{t['album']:06d}", rel, f"{duration:.1f}", *tags]))
        tick()
    out = root / "data" / "splits" / "split-0"
    out.mkdir(parents=True, exist_ok=True)
    header = "TRACK_ID\tARTIST_ID\tALBUM_ID\tPATH\tDURATION\tTAGS"
    for (sub, split), lines in rows.items():
        text = "\r\n".join([header, *lines]) + "\r\n"
        (out / f"{FILES[sub][0]}-{_FILE_SPLITS[split]}.tsv").write_bytes(text.encode("utf-8"))
