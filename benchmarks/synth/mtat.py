"""MagnaTagATune-layout synthetic set: ~29.1 s multi-instrument arrangements tagged with what they are made of.

Layout (as the real download, plus the clean-split files of Won et al. 2020)::

    annotations_final.csv        # tab-separated, every field double-quoted: "clip_id", <tags...>, "mp3_path"
    mp3/<0-9a-f>/<artist>-<album>-<track>-<title>-<start>-<end>.mp3   # 16 kHz mono MP3, 465,600 samples
    split/train.npy, valid.npy, test.npy   # 1-D unicode arrays of "<index>\\t<mp3_path>" (index = CSV row, the CSV
                                           # being sorted by clip_id)
    split/binary.npy             # (n_rows, n_tags) 0/1 int64, indexed by <index>, columns as tags.npy
    split/tags.npy               # tag names, most frequent first (as the real top-50 file), not the CSV's order

Clips are spread over the 16 folders so that the folder split holds (``0``-``b`` train, ``c`` valid, ``d``-``f``
test); the clean split is the folder split minus the clips without any tag (a few sound-effect clips are written for
that purpose, as the real CSV has untagged clips).

Every clip is an arrangement generated from a spec (style, tempo, mode, key, dynamics, density, instruments); its tags
are read off the spec (see :data:`TAGS` and notes/synth.md).
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
    "seed": 20261127,
    "sample_rate": 16000,
    "clip_samples": 465600,  # 29.1 s at 16 kHz, as the real MTAT clips
    "n_clips": 96,  # tagged clips
    "n_untagged": 4,  # extra clips without any tag (sound effects): in the CSV, not in the clean split
    "valid_fraction": 0.15,  # clips in folder c (valid) and d-f (test); the rest go to 0-b (train)
    "test_fraction": 0.25,
    "gain_db": -2.0,  # "loud" clips get +6 dB, "quiet" -12 dB; a clip that would clip is scaled down
}

#: Tag vocabulary, in the CSV's column order.
TAGS = ("piano", "guitar", "strings", "violin", "drums", "bass", "flute", "brass", "sax", "organ", "harpsichord",
        "choir", "synth", "vocal", "male vocal", "female vocal", "fast", "slow", "loud", "quiet", "dense", "sparse",
        "major", "minor", "solo", "classical", "rock", "electronic", "pop", "ambient")

#: GM program → instrument tags it makes true when it plays.
PROGRAM_TAGS = {
    0: ("piano",), 4: (), 6: ("harpsichord",),  # 4 E.Piano 1: heard, no tag (not an acoustic piano)
    16: ("organ",), 17: ("organ",), 19: ("organ",), 20: ("organ",),
    24: ("guitar",), 25: ("guitar",), 27: ("guitar",), 29: ("guitar",), 30: ("guitar",),
    40: ("strings", "violin"), 42: ("strings",), 43: ("strings",), 48: ("strings",), 49: ("strings",),
    50: ("synth",), 52: ("choir",), 53: ("vocal",),
    56: ("brass",), 57: ("brass",), 60: ("brass",), 61: ("brass",),
    64: ("sax",), 65: ("sax",), 66: ("sax",),
    68: (), 71: (), 46: (),  # oboe, clarinet, harp: heard, but no tag of the vocabulary
    73: ("flute",), 75: ("flute",), 72: ("flute",),
    80: ("synth",), 81: ("synth",), 82: ("synth",), 83: ("synth",), 89: ("synth",), 91: ("synth",), 95: ("synth",),
    38: ("synth",), 32: (), 33: (), 34: (), 35: (),  # the bass tag comes from the bass role
}
#: Playable register (MIDI) of each melodic program used
REGISTER = {0: (60, 84), 4: (60, 84), 6: (60, 84), 16: (60, 84), 17: (60, 84), 19: (60, 79), 20: (60, 84),
            24: (52, 76), 25: (52, 76), 27: (52, 76), 29: (52, 76), 30: (52, 76), 40: (62, 88), 42: (48, 67),
            53: (60, 79), 56: (60, 79), 57: (50, 70), 60: (53, 74), 61: (55, 77), 64: (62, 84), 65: (58, 79),
            66: (50, 72), 68: (62, 84), 71: (55, 79), 72: (74, 91), 73: (64, 86), 75: (62, 84), 80: (60, 84),
            81: (60, 84), 82: (60, 84), 83: (60, 84), 91: (60, 79), 52: (55, 72), 46: (55, 84), 48: (55, 79),
            49: (55, 79), 50: (55, 79), 89: (55, 79), 95: (55, 79)}

STYLES = {
    #        weight, bpm range, melody pool, harmony pool, (p bass, bass pool), (p drums, kits, drum styles)
    "classical": (0.25, (60, 160), (40, 73, 0, 56, 60, 68, 71, 53, 42), (48, 49, 0, 6, 19, 52, 46),
                  (0.6, (43, 42)), (0.0, (), ())),
    "rock": (0.2, (90, 170), (29, 30, 53, 53, 65, 81, 17), (30, 29, 27, 16, 0),
             (0.95, (34, 33)), (0.95, ("power", "standard", "room"), ("rock", "halftime"))),
    "electronic": (0.2, (115, 150), (80, 81, 82, 83, 53, 4), (89, 95, 50, 4, 81),
                   (0.95, (38,)), (0.95, ("electronic", "tr808"), ("disco", "halftime"))),
    "pop": (0.2, (80, 135), (53, 53, 73, 65, 56, 0, 40, 80, 24), (0, 4, 25, 24, 48, 16),
            (0.9, (33, 35, 32)), (0.85, ("standard", "room", "brush"), ("rock", "disco", "funk"))),
    "ambient": (0.15, (55, 90), (73, 75, 0, 82, 53, 91, None), (89, 95, 91, 49, 52, 19),
                (0.3, (38, 35)), (0.15, ("tr808", "brush"), ("halftime",))),
}
SOLO_PROGRAMS = (0, 24, 40, 73, 65, 6, 16)   # solo clips: one instrument, no drums or bass
EXTRA_PROGRAMS = (40, 73, 65, 56, 0, 24, 80, 6, 16, 52, 29, 42)
EFFECT_PROGRAMS = (122, 123, 125, 126, 124)  # Seashore, Bird, Helicopter, Applause, Telephone: untagged clips
#: Tonics drawn from: C, D, G (no two of their major / minor scales share a pitch-class set, so the mode is heard in
#: the pitch content; with all 12 tonics a 100-clip set cannot teach major vs minor to a simple probe)
KEYS = (0, 2, 7)
FAST_BPM, SLOW_BPM = 130.0, 85.0
#: Share of clips per style played in power chords (root + fifth) over a third-less scale: neither major nor minor.
P_MODELESS = {"rock": 0.5, "electronic": 0.3}
POWER_PROGRESSIONS = ((0, 5, 7, 5), (0, 10, 5, 0), (0, 7, 5, 0), (0, 3, 10, 5))  # root offsets in semitones
MODELESS_SCALE = (0, 2, 5, 7)
DYNAMICS = {"loud": (6.0, (100, 127)), "normal": (0.0, (70, 96)), "quiet": (-12.0, (40, 66))}
#: Mix: channel volumes (CC 7) per role; the melody on top
VOLUMES = {0: 110, 1: 100, 2: 127, 3: 105, DRUM_CHANNEL: 110}

_WORDS = ("amber", "blue", "cedar", "dawn", "ember", "fjord", "glass", "harbor", "iris", "juniper", "kestrel", "lumen",
          "meadow", "north", "opal", "prairie", "quartz", "river", "stone", "tide", "umber", "velvet", "willow",
          "yarrow", "zephyr", "copper", "hollow", "lantern", "marble", "orchard")


def _choice(rng: np.random.Generator, seq):
    return seq[int(rng.integers(len(seq)))]


def sample_spec(rng: np.random.Generator) -> dict:
    """One random clip spec (instrumentation, tempo, mode, dynamics, density)."""
    names = list(STYLES)
    weights = np.array([STYLES[s][0] for s in names])
    style = names[int(rng.choice(len(names), p=weights / weights.sum()))]
    _, (b_lo, b_hi), mel_pool, har_pool, (p_bass, bass_pool), (p_drums, kits, drum_styles) = STYLES[style]
    spec = {"style": style, "bpm": round(float(rng.uniform(b_lo, b_hi)), 1), "key": int(_choice(rng, KEYS)),
            "mode": _choice(rng, ("major", "minor")) if rng.random() >= P_MODELESS.get(style, 0.0) else None,
            "dynamics": _choice(rng, ("loud", "loud", "normal", "normal", "quiet", "quiet", "normal")),
            "density": _choice(rng, ("sparse", "normal", "dense") if style != "ambient" else
                               ("sparse", "sparse", "normal")),
            "beats_per_bar": 3 if (style in ("classical", "pop") and rng.random() < 0.2) else 4,
            "solo": bool(style in ("classical", "pop", "ambient") and rng.random() < 0.15),
            "melody": None, "harmony": None, "bass": None, "drums": None, "extra": None, "voice_range": None,
            "seed": int(rng.integers(2 ** 31)), "effect": None}
    if spec["solo"]:
        spec["melody"] = _choice(rng, SOLO_PROGRAMS)
        if spec["melody"] in (0, 24, 6, 16):  # polyphonic instruments accompany themselves
            spec["harmony"] = spec["melody"]
    else:
        spec["melody"] = _choice(rng, mel_pool)
        spec["harmony"] = _choice(rng, har_pool)
        if rng.random() < p_bass:
            spec["bass"] = _choice(rng, bass_pool)
        if rng.random() < p_drums:
            spec["drums"] = {"kit": _choice(rng, kits),
                             "style": "waltz" if spec["beats_per_bar"] == 3 else _choice(rng, drum_styles)}
        if rng.random() < 0.35:
            present = {spec["melody"], spec["harmony"]}
            spec["extra"] = _choice(rng, [p for p in EXTRA_PROGRAMS if p not in present])
    if spec["melody"] == 53:
        spec["voice_range"] = _choice(rng, ("male", "female"))
    return spec


def spec_tags(spec: dict) -> set[str]:
    """The tags a spec makes true (empty for a sound-effect clip)."""
    if spec.get("effect") is not None:
        return set()
    tags: set[str] = {spec["style"]}
    if spec["mode"] is not None:
        tags.add(spec["mode"])
    for role in ("melody", "harmony", "extra"):
        if spec[role] is not None:
            tags.update(PROGRAM_TAGS[spec[role]])
    if spec["bass"] is not None:
        tags.add("bass")
        tags.update(PROGRAM_TAGS[spec["bass"]])
    if spec["drums"] is not None:
        tags.add("drums")
    if spec["voice_range"] is not None:
        tags.add(f"{spec['voice_range']} vocal")
    if spec["bpm"] >= FAST_BPM:
        tags.add("fast")
    if spec["bpm"] <= SLOW_BPM:
        tags.add("slow")
    if spec["dynamics"] != "normal":
        tags.add(spec["dynamics"])
    if spec["density"] != "normal":
        tags.add(spec["density"])
    if spec["solo"]:
        tags.add("solo")
    return tags


def _split_counts(cfg: dict) -> dict[str, int]:
    n = int(cfg["n_clips"])
    n_valid = int(round(float(cfg["valid_fraction"]) * n))
    n_test = int(round(float(cfg["test_fraction"]) * n))
    return {"train": n - n_valid - n_test, "valid": n_valid, "test": n_test}


def _coverage_gap(specs: list[dict], min_pos: int) -> int:
    counts = {t: 0 for t in TAGS}
    for s in specs:
        for t in spec_tags(s):
            counts[t] += 1
    n = len(specs)
    return sum(max(0, min(min_pos, n) - c) for c in counts.values()) + sum(1 for c in counts.values() if c >= n > 1)


def plan(cfg: dict) -> list[dict]:
    """Clip records (spec, split, folder, clip_id, mp3_path), in CSV order (sorted by clip_id)."""
    rng = rng_for(int(cfg["seed"]), "mtat-plan")
    clips: list[dict] = []
    for split, n in _split_counts(cfg).items():
        if n <= 0:
            continue
        # draw the split's specs so that every tag has positives (train: 3, valid/test: 1) and negatives
        min_pos = 3 if split == "train" else 1
        best, best_gap = None, None
        for _ in range(400):
            specs = [sample_spec(rng) for _ in range(n)]
            gap = _coverage_gap(specs, min_pos)
            if best_gap is None or gap < best_gap:
                best, best_gap = specs, gap
            if gap == 0:
                break
        clips += [{"split": split, "spec": s} for s in best]
    # untagged sound-effect clips, spread over the splits
    for k in range(int(cfg["n_untagged"])):
        split = ("train", "test", "valid", "train")[k % 4]
        clips.append({"split": split, "spec": {"effect": EFFECT_PROGRAMS[k % len(EFFECT_PROGRAMS)],
                                               "seed": int(rng.integers(2 ** 31))}})
    # folders: train over 0-b, valid in c, test over d-f (round robin after a shuffle)
    folders = {"train": "0123456789ab", "valid": "c", "test": "def"}
    order = rng.permutation(len(clips))
    fill = {s: 0 for s in folders}
    for k in order:
        c = clips[k]
        f = folders[c["split"]]
        c["folder"] = f[fill[c["split"]] % len(f)]
        fill[c["split"]] += 1
    # names: albums of 1-3 consecutive tracks inside a folder
    by_folder: dict[str, list[dict]] = {}
    for k in order:
        by_folder.setdefault(clips[k]["folder"], []).append(clips[k])
    used = set()
    for folder in sorted(by_folder):
        members = by_folder[folder]
        i = 0
        while i < len(members):
            size = int(rng.integers(1, 4))
            while True:
                artist = f"{_choice(rng, _WORDS)}_{_choice(rng, _WORDS)}"
                album = f"{_choice(rng, _WORDS)}_{_choice(rng, _WORDS)}"
                if (artist, album) not in used:
                    used.add((artist, album))
                    break
            for track, c in enumerate(members[i:i + size], start=1):
                seg = int(rng.integers(0, 5))
                title = f"{_choice(rng, _WORDS)}_{_choice(rng, _WORDS)}"
                c["mp3_path"] = f"{folder}/{artist}-{album}-{track:02d}-{title}-{30 * seg}-{30 * seg + 29}.mp3"
            i += size
    # clip ids: unique, non-contiguous, assigned in a random order (the CSV interleaves folders, as the real one)
    ids = np.sort(rng.choice(np.arange(2, 60000), size=len(clips), replace=False))
    for cid, k in zip(ids, rng.permutation(len(clips))):
        clips[k]["clip_id"] = int(cid)
    clips.sort(key=lambda c: c["clip_id"])
    for c in clips:
        c["tags"] = sorted(spec_tags(c["spec"]), key=TAGS.index)
    return clips


def n_items(cfg: dict) -> int:
    return int(cfg["n_clips"]) + int(cfg["n_untagged"])


# --- rendering -------------------------------------------------------------------------------------------------------

def _melody_rhythm(density: str, bpb: int, rng: np.random.Generator) -> list[tuple[float, float]]:
    """(onset, duration) in beats within one bar."""
    if density == "sparse":
        cells = [2.0] * (bpb // 2) + ([1.0] if bpb % 2 else [])
    elif density == "dense":
        cells = []
        while sum(cells) < bpb - 1e-9:
            cells += [0.25, 0.25] if rng.random() < 0.5 else [0.5]
    else:
        cells = []
        while sum(cells) < bpb - 1e-9:
            cells += [1.0] if rng.random() < 0.6 else [0.5, 0.5]
    out, t = [], 0.0
    for c in cells:
        if t + c > bpb + 1e-9:
            c = bpb - t
        out.append((t, c))
        t += c
    return out


def render_clip(spec: dict, cfg: dict) -> np.ndarray:
    sr = int(cfg["sample_rate"])
    n = int(cfg["clip_samples"])
    rng = np.random.default_rng(spec["seed"])
    clip_s = n / sr
    if spec.get("effect") is not None:
        notes, t = [], 0.0
        while t < clip_s:
            d = float(rng.uniform(2.0, 6.0))
            s = seconds_to_sample(t, sr)
            notes.append(NoteEvent(s, seconds_to_sample(t + d, sr), 0, int(rng.integers(55, 72)), 90))
            t += d * float(rng.uniform(0.6, 1.0))
        return limit(render_events(notes, n, sr, {0: spec["effect"]}, gain_db=float(cfg["gain_db"])), 0.98)

    gain_offset, (v_lo, v_hi) = DYNAMICS[spec["dynamics"]]
    vel = lambda: int(rng.integers(v_lo, v_hi + 1))  # noqa: E731
    bpb, spb = spec["beats_per_bar"], 60.0 / spec["bpm"]
    t0 = float(rng.uniform(0.0, 0.5))
    at = lambda beat: seconds_to_sample(t0 + beat * spb, sr)  # noqa: E731
    n_bars = int(np.ceil(clip_s / (bpb * spb))) + 1
    mode = spec["mode"]
    prog = _choice(rng, P.PROGRESSIONS[mode] if mode else POWER_PROGRESSIONS)
    density = spec["density"]
    notes: list[NoteEvent] = []
    programs: dict[int, int] = {}

    def chords_for(bar):
        if mode is None:  # power chord: root and fifth
            root = (spec["key"] + prog[bar % len(prog)]) % 12
            return (root, (root + 7) % 12)
        return P.chord_pcs(spec["key"], mode, prog[bar % len(prog)])

    # harmony (channel 1)
    if spec["harmony"] is not None:
        programs[1] = spec["harmony"]
        lo = 48 if spec["solo"] else 52
        for bar in range(n_bars):
            voicing = P.voice(chords_for(bar), lo, lo + 14)
            b0 = bar * bpb
            if density == "sparse":
                for p in voicing:
                    notes.append(NoteEvent(at(b0), at(b0 + bpb * 0.97), 1, p, vel()))
            elif density == "dense":
                step = 0.25 if spec["bpm"] < 120 else 0.5
                k = 0
                while k * step < bpb - 1e-9:
                    p = voicing[k % len(voicing)]
                    notes.append(NoteEvent(at(b0 + k * step), at(b0 + (k + 1) * step), 1, p, vel()))
                    k += 1
            else:
                for b in range(bpb):
                    for p in voicing:
                        notes.append(NoteEvent(at(b0 + b), at(b0 + b + 0.9), 1, p, vel() - 8))
    # melody (channel 2) and extra line (channel 3, an octave-ish apart, sparser)
    for chan, program, dens in ((2, spec["melody"], density), (3, spec["extra"], "sparse" if density != "sparse"
                                                                 else "normal")):
        if program is None:
            continue
        programs[chan] = program
        lo, hi = REGISTER[program]
        if program == 53 and spec["voice_range"] == "male":
            lo, hi = 45, 62
        elif program == 53:
            lo, hi = 64, 79
        if chan == 3 and spec["melody"] is not None:
            lo, hi = max(lo, 48), min(hi, lo + 14)
        if mode is None:
            pitches = [p for p in range(lo, hi + 1) if (p - spec["key"]) % 12 in MODELESS_SCALE]
        else:
            pitches = P.scale_pitches(spec["key"], mode, lo, hi)
        idx = int(rng.integers(len(pitches)))
        for bar in range(n_bars):
            b0 = bar * bpb
            chord = chords_for(bar)
            for pos, dur in _melody_rhythm(dens, bpb, rng):
                if rng.random() < 0.12:
                    continue  # rest
                idx = int(np.clip(idx + rng.choice((-2, -1, -1, 0, 1, 1, 2)), 0, len(pitches) - 1))
                if abs(pos - round(pos)) < 1e-9:  # on the beat: move to the nearest chord tone
                    cands = [j for j in range(len(pitches)) if pitches[j] % 12 in chord]
                    if cands:
                        idx = min(cands, key=lambda j: (abs(j - idx), j))
                notes.append(NoteEvent(at(b0 + pos), at(b0 + pos + 0.95 * dur), chan, pitches[idx], vel()))
    # bass (channel 0)
    if spec["bass"] is not None:
        programs[0] = spec["bass"]
        for bar in range(n_bars):
            root = P.nearest(chords_for(bar)[0], 38)
            b0 = bar * bpb
            pattern = {"sparse": [(0, bpb)], "normal": [(k, 1) for k in range(bpb)],
                       "dense": [(k * 0.5, 0.5) for k in range(2 * bpb)]}[density]
            for j, (pos, dur) in enumerate(pattern):
                pitch = root + (7 if (density == "dense" and j % 4 == 2) else 0)
                notes.append(NoteEvent(at(b0 + pos), at(b0 + pos + 0.9 * dur), 0, pitch, vel()))
    # drums
    if spec["drums"] is not None:
        programs[DRUM_CHANNEL] = P.DRUM_KITS[spec["drums"]["kit"]]
        for bar in range(n_bars):
            for pos, key, v in P.drum_groove(spec["drums"]["style"], bpb, bar, n_bars, rng, density):
                s = at(bar * bpb + pos)
                scale = (v_lo + v_hi) / 2 / 100.0
                notes.append(NoteEvent(s, s + int(0.15 * sr), DRUM_CHANNEL, key, int(min(127, v * scale))))
    x = render_events(notes, n, sr, programs, gain_db=float(cfg["gain_db"]) + gain_offset,
                      volumes={c: v for c, v in VOLUMES.items() if c in programs})
    return limit(x, 0.98)


def _csv_text(clips: list[dict]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, delimiter="\t", quoting=csv.QUOTE_ALL, lineterminator="\n")
    w.writerow(["clip_id", *TAGS, "mp3_path"])
    for c in clips:
        present = set(c["tags"])
        w.writerow([str(c["clip_id"]), *[("1" if t in present else "0") for t in TAGS], c["mp3_path"]])
    return buf.getvalue()


def render(root: Path, cfg: dict, tick=lambda n=1: None) -> None:
    sr = int(cfg["sample_rate"])
    clips = plan(cfg)
    for c in clips:
        path = root / "mp3" / c["mp3_path"]
        path.parent.mkdir(parents=True, exist_ok=True)
        write_mp3(path, render_clip(c["spec"], cfg), sr)
        tick()
    (root / "annotations_final.csv").write_text(_csv_text(clips), encoding="utf-8")
    # clean split (Won et al. 2020 format): the folder split minus the clips without any tag
    split_dir = root / "split"
    split_dir.mkdir()
    counts = {t: sum(t in c["tags"] for c in clips) for t in TAGS}
    tag_order = sorted(TAGS, key=lambda t: (-counts[t], TAGS.index(t)))
    binary = np.zeros((len(clips), len(tag_order)), dtype=np.int64)
    for i, c in enumerate(clips):
        for t in c["tags"]:
            binary[i, tag_order.index(t)] = 1
    np.save(split_dir / "binary.npy", binary)
    np.save(split_dir / "tags.npy", np.array(tag_order))
    for split in ("train", "valid", "test"):
        rows = [f"{i}\t{c['mp3_path']}" for i, c in enumerate(clips) if c["split"] == split and c["tags"]]
        np.save(split_dir / f"{split}.npy", np.array(rows, dtype=np.str_))
