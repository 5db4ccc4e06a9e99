"""Tiny datasets written in the real on-disk layouts, with labels learnable by construction (test data builders).

- NSynth: 4 s tones; pitch = the tone's MIDI note; family = its waveform (sine / square / saw / pulse), so both
  labels are audible. Split by "instrument" as NSynth does.
- MTAT: ~3 s MP3 clips (written with soundfile) whose tags say which components are in the mix (low drone, high
  tone, noise burst train, click train); the "clean split" .npy files are written too.
- Beats: click/kick tracks at several tempi with their ``.beats`` files (generic layout).
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import soundfile as sf

SR = 16000
FAMILIES = {"bass": 0, "flute": 2, "keyboard": 4, "organ": 6}  # NSynth family indices
WAVES = {"bass": "saw", "flute": "sine", "keyboard": "square", "organ": "pulse"}


def tone(midi: int, seconds: float, wave: str, sr: int = SR, rng=None) -> np.ndarray:
    f = 440.0 * 2 ** ((midi - 69) / 12)
    t = np.arange(int(seconds * sr)) / sr
    phase = (f * t) % 1.0
    x = {"sine": np.sin(2 * np.pi * phase), "square": np.sign(np.sin(2 * np.pi * phase)),
         "saw": 2 * phase - 1, "pulse": (phase < 0.2).astype(float) * 2 - 0.4}[wave]
    env = np.minimum(1.0, t / 0.01) * np.exp(-t * 0.5)
    x = 0.3 * x * env
    if rng is not None:
        x = x + 0.003 * rng.standard_normal(len(x))
    return x.astype(np.float32)


def write_nsynth(root: Path, pitches=range(48, 60), per_split=None, seed: int = 0) -> Path:
    """NSynth layout: every (family, pitch) once per instrument; instruments 0-1 train, 2 valid, 3 test."""
    rng = np.random.default_rng(seed)
    per_split = per_split or {"train": [0, 1, 4], "valid": [2], "test": [3]}
    note = 0
    for split, instruments in per_split.items():
        folder = root / f"nsynth-{split}"
        (folder / "audio").mkdir(parents=True, exist_ok=True)
        meta = {}
        for fam, fam_idx in FAMILIES.items():
            for inst in instruments:
                for pitch in pitches:
                    name = f"{fam}_synthetic_{inst:03d}-{pitch:03d}-100"
                    sf.write(folder / "audio" / f"{name}.wav", tone(pitch, 4.0, WAVES[fam], rng=rng), SR,
                             subtype="PCM_16")
                    meta[name] = {"note": note, "note_str": name, "instrument": inst, "instrument_str":
                                  f"{fam}_synthetic_{inst:03d}", "pitch": pitch, "velocity": 100, "sample_rate": SR,
                                  "instrument_family": fam_idx, "instrument_family_str": fam,
                                  "instrument_source": 2, "instrument_source_str": "synthetic",
                                  "qualities": [0] * 10, "qualities_str": []}
                    note += 1
        (folder / "examples.json").write_text(json.dumps(meta, indent=1))
    return root


MTAT_TAGS = ["drone", "high", "noise", "clicks"]


def mtat_clip(tags: np.ndarray, seconds: float, rng) -> np.ndarray:
    n = int(seconds * SR)
    t = np.arange(n) / SR
    x = 0.002 * rng.standard_normal(n)
    if tags[0]:
        x += 0.3 * np.sin(2 * np.pi * 110 * t)
    if tags[1]:
        x += 0.2 * np.sin(2 * np.pi * 2500 * t)
    if tags[2]:
        x += 0.2 * rng.standard_normal(n) * (np.sin(2 * np.pi * 1.5 * t) > 0)
    if tags[3]:
        clicks = np.zeros(n)
        clicks[:: SR // 4] = 1.0
        x += np.convolve(clicks, np.exp(-np.arange(200) / 20), mode="same")
    return (x / max(1.0, np.abs(x).max())).astype(np.float32)


def write_mtat(root: Path, n_clips: int = 64, seconds: float = 3.0, seed: int = 0, with_npy: bool = True) -> Path:
    """MTAT layout: quoted tab-separated annotations_final.csv, mp3/<0-f>/ files, clean-split .npy files."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n_clips):
        tags = rng.random(len(MTAT_TAGS)) < 0.5
        folder = "0123456789abcdef"[i % 16]
        name = f"{folder}/artist_{i:03d}-album-01-track-0-{int(seconds)}.mp3"
        (root / "mp3" / folder).mkdir(parents=True, exist_ok=True)
        sf.write(root / "mp3" / name, mtat_clip(tags, seconds, rng), SR, format="MP3")
        rows.append((i * 3 + 2, tags.astype(int), name))
    header = "\t".join(f'"{c}"' for c in ["clip_id", *MTAT_TAGS, "mp3_path"])
    lines = [header] + ["\t".join([f'"{cid}"', *(f'"{v}"' for v in tags), f'"{name}"']) for cid, tags, name in rows]
    (root / "annotations_final.csv").write_text("\n".join(lines) + "\n")
    if with_npy:
        split_dir = root / "split"
        split_dir.mkdir(exist_ok=True)
        ordered = sorted(rows, key=lambda r: r[0])
        parts = {"train": [], "valid": [], "test": []}
        for idx, (cid, tags, name) in enumerate(ordered):
            f = name[0]
            part = "train" if f in "0123456789ab" else "valid" if f == "c" else "test"
            parts[part].append(f"{idx}\t{name}")
        for part, items in parts.items():
            np.save(split_dir / f"{part}.npy", np.array(items))
        np.save(split_dir / "binary.npy", np.stack([r[1] for r in ordered]))
        np.save(split_dir / "tags.npy", np.array(MTAT_TAGS))
    return root


def click_track(bpm: float, seconds: float, sr: int, rng, offset: float = 0.3) -> tuple[np.ndarray, np.ndarray]:
    beats = np.arange(offset, seconds - 0.05, 60.0 / bpm)
    n = int(seconds * sr)
    x = 0.003 * rng.standard_normal(n)
    k = np.arange(int(0.08 * sr)) / sr
    kick = np.sin(2 * np.pi * 60 * k * (1 + 2 * np.exp(-k * 40))) * np.exp(-k * 30)
    for b in beats:
        s = int(b * sr)
        x[s:s + len(kick)] += 0.6 * kick[: n - s]
    return x.astype(np.float32), beats


def write_beats(root: Path, n_tracks: int = 12, seconds: float = 12.0, sr: int = 22050, seed: int = 0) -> Path:
    """Generic beat layout: audio/<id>.wav + annotations/<id>.beats (time<TAB>position, 4/4)."""
    rng = np.random.default_rng(seed)
    (root / "audio").mkdir(parents=True, exist_ok=True)
    (root / "annotations").mkdir(parents=True, exist_ok=True)
    for i in range(n_tracks):
        bpm = float(rng.uniform(80, 160))
        x, beats = click_track(bpm, seconds, sr, rng, offset=float(rng.uniform(0.1, 0.6)))
        sf.write(root / "audio" / f"track{i:02d}.wav", x, sr, subtype="PCM_16")
        lines = [f"{b:.6f}\t{j % 4 + 1}" for j, b in enumerate(beats)]
        (root / "annotations" / f"track{i:02d}.beats").write_text("\n".join(lines) + "\n")
    return root
