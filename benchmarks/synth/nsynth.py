"""NSynth-layout synthetic set: single General-MIDI notes, one GM program = one NSynth "instrument".

Layout (as the real NSynth download)::

    nsynth-{train,valid,test}/examples.json   # {note_str: {note, note_str, instrument, instrument_str, pitch, velocity,
                                              #   sample_rate, instrument_family, instrument_family_str,
                                              #   instrument_source, instrument_source_str, qualities, qualities_str}}
    nsynth-{train,valid,test}/audio/<note_str>.wav   # 16 kHz mono 16-bit PCM, 64000 samples

Each note: key down at 0 s, released at 3 s, cut at 4 s (as NSynth). Splits are by instrument: per family, one
instrument goes to valid, one to test, the rest to train (families with fewer than 3 instruments fill train first).
Pitches are drawn inside each instrument's playable range (intersected with ``pitch_min..pitch_max``), the train
pitches balanced greedily so that every pitch of the range gets several train examples.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .render import render_note, rng_for, write_wav

#: Sizes and seeds of the set (``cfg/synth.toml`` or ``synthesize(config=...)`` override them key by key; the same
#: values give byte-identical files).
DEFAULTS: dict = {
    "seed": 20261125,
    "sample_rate": 16000,
    "pitch_min": 36,  # MIDI range of the pitches drawn (inside each instrument's playable range)
    "pitch_max": 84,
    "notes_per_instrument": 8,  # 74 instruments x 8 = 592 notes: train 416 (>= 8 per pitch) / valid 88 / test 88
    "max_instruments_per_family": 0,  # 0 = all instruments of the family map; a small value makes a tiny set (tests)
    "velocities": [25, 50, 75, 100, 127],
    "note_on_seconds": 3.0,  # key down for 3 s, released, cut at 4 s (as NSynth)
    "duration_seconds": 4.0,
    "gain_db": 0.0,  # soundfont gain; peaks stay below 0.8 at 0 dB
    "bright_centroid_hz": 2500.0,  # qualities "bright" / "dark" from the spectral centroid of the first second
    "dark_centroid_hz": 400.0,
    "note_id_offset": 0,
}

FAMILIES = ("bass", "brass", "flute", "guitar", "keyboard", "mallet", "organ", "reed", "string", "synth_lead", "vocal")
SOURCES = ("acoustic", "electronic", "synthetic")
QUALITIES = ("bright", "dark", "distortion", "fast_decay", "long_release", "multiphonic", "nonlinear_env",
             "percussive", "reverb", "tempo-synced")
SPLITS = ("train", "valid", "test")


@dataclass(frozen=True)
class Instrument:
    program: int        # GM program (0-based), bank 0 of TimGM6mb.sf2
    name: str           # the soundfont's preset name
    family: str
    source: str
    lo: int             # playable range (sounding MIDI pitch), inclusive
    hi: int
    key_shift: int = 0  # key sent = pitch + key_shift (organs whose 16' stop makes them sound an octave low)
    qualities: tuple[str, ...] = ()  # static NSynth qualities (bright/dark are measured from the audio)
    exclude: tuple[int, ...] = ()    # pitches inside the range that the soundfont gets wrong (silent / off-pitch)
    core: bool = True                # typical of its family: may be held out for valid / test (others: train only)

    def pitches(self, lo: int, hi: int) -> list[int]:
        return [p for p in range(max(self.lo, lo), min(self.hi, hi) + 1) if p not in self.exclude]


A, E, S = SOURCES
#: The GM program → NSynth family map. Chosen so that no two instruments share the same soundfont sample set
#: (checked in tests with :func:`benchmarks.synth.render.preset_sample_sets`) and every note sounds at its label
#: (YIN check over every pitch of every range, see notes/synth.md). Left out: 1/2/3 (same samples as 0),
#: 18 Organ 3 and 19 Church Organ above MIDI 56 (ambiguous pitch), 21/23 (same samples as 20/22), 31 Guitar
#: Harmonics, 39 Synth Bass 2 (= 33+35 samples), 41 Viola and 110 Fiddle (= 40), 44 (= 48 samples), 47 Timpani,
#: 51 and pads 88-103 (shared synth-strings samples), 62 (saw waves of 81), 76 (= 121), 78 Whistle (sounds 8.7
#: semitones flat), 84 Charang (= 30), 86 5th Saw (two octaves low above MIDI 57), 87 (= 38), 104/106/107 (plucked
#: world instruments), 109 Bagpipe (drone), 112 Tinker Bell (wrong pitch), 113-127 percussion and effects.
INSTRUMENTS: tuple[Instrument, ...] = (
    # bass
    Instrument(32, "Acoustic Bass", "bass", A, 36, 55, qualities=("percussive",)),
    Instrument(33, "Fingered Bass", "bass", E, 36, 60, qualities=("percussive",)),
    Instrument(34, "Picked Bass", "bass", E, 36, 60, qualities=("percussive",)),
    Instrument(35, "Fretless Bass", "bass", E, 36, 60),
    Instrument(36, "Slap Bass 1", "bass", E, 36, 60, qualities=("percussive", "fast_decay"), core=False),
    Instrument(37, "Slap Bass 2", "bass", E, 36, 60, qualities=("percussive", "fast_decay"), core=False),
    Instrument(38, "Synth Bass 1", "bass", S, 36, 60, core=False),
    # brass
    Instrument(56, "SoloTrumpet", "brass", A, 54, 82),
    Instrument(57, "Trombone", "brass", A, 40, 72),
    Instrument(58, "Tuba", "brass", A, 36, 58, core=False),
    Instrument(59, "Mute Trumpet", "brass", A, 54, 82),
    Instrument(60, "French Horns", "brass", A, 40, 77),
    Instrument(61, "Brass", "brass", A, 40, 80),
    Instrument(63, "Synth Brass 2", "brass", S, 36, 84, core=False),
    # flute
    Instrument(72, "Piccolo", "flute", A, 74, 84),
    Instrument(73, "Flute TB", "flute", A, 60, 84),
    Instrument(74, "Recorder", "flute", A, 60, 84),
    Instrument(75, "Pan Flute", "flute", A, 55, 84),
    Instrument(77, "Shakuhachi", "flute", A, 55, 84, core=False),
    Instrument(79, "Ocarina", "flute", A, 60, 84, core=False),
    # guitar
    Instrument(24, "Nylon Guitar", "guitar", A, 40, 84, qualities=("percussive",)),
    Instrument(25, "Steel Guitar", "guitar", A, 40, 84, qualities=("percussive",)),
    Instrument(26, "Jazz Guitar", "guitar", E, 40, 84, qualities=("percussive",)),
    Instrument(27, "Clean Guitar", "guitar", E, 40, 84, qualities=("percussive",)),
    Instrument(28, "Guitar Mutes", "guitar", E, 40, 72, qualities=("percussive", "fast_decay"), core=False),
    Instrument(29, "Overdrive Guitar", "guitar", E, 40, 84, qualities=("distortion",), core=False),
    Instrument(30, "DistortionGuitar", "guitar", E, 40, 84, qualities=("distortion",), core=False),
    Instrument(105, "Banjo", "guitar", A, 48, 84, qualities=("percussive", "fast_decay"), core=False),
    # keyboard
    Instrument(0, "Piano 1", "keyboard", A, 36, 84, qualities=("percussive",)),
    Instrument(4, "E.Piano 1", "keyboard", E, 36, 84, qualities=("percussive",)),
    Instrument(5, "E.Piano 2", "keyboard", S, 36, 84, qualities=("percussive",), exclude=(59,), core=False),
    Instrument(6, "Harpsichord", "keyboard", A, 36, 84, qualities=("percussive",), core=False),
    Instrument(7, "Clavinet", "keyboard", E, 36, 84, qualities=("percussive", "fast_decay"), core=False),
    # mallet
    Instrument(8, "Celesta", "mallet", A, 61, 84, qualities=("percussive",)),
    Instrument(9, "Glockenspiel", "mallet", A, 74, 84, qualities=("percussive",)),
    Instrument(10, "MusicBox", "mallet", A, 60, 84, qualities=("percussive",), core=False),
    Instrument(11, "Vibraphone", "mallet", A, 53, 84, qualities=("percussive", "long_release")),
    Instrument(12, "Marimba", "mallet", A, 45, 84, qualities=("percussive", "fast_decay")),
    Instrument(13, "Xylophone", "mallet", A, 60, 84, qualities=("percussive", "fast_decay")),
    Instrument(14, "Tubular Bells", "mallet", A, 60, 77,
               qualities=("percussive", "long_release", "multiphonic"), core=False),
    Instrument(108, "Kalimba", "mallet", A, 48, 84, qualities=("percussive", "fast_decay"), core=False),
    Instrument(114, "Steel Drum", "mallet", A, 52, 84, qualities=("percussive",), core=False),
    # organ
    Instrument(16, "Organ 1", "organ", E, 36, 84, key_shift=12, qualities=("multiphonic",)),
    Instrument(17, "Organ 2", "organ", E, 36, 84, key_shift=12, qualities=("multiphonic",)),
    Instrument(19, "Church Organ", "organ", A, 36, 56, qualities=("multiphonic",), core=False),
    Instrument(20, "Reed Organ", "organ", A, 36, 84),
    # reed
    Instrument(64, "SopSax", "reed", A, 56, 84),
    Instrument(65, "AltoSax", "reed", A, 49, 81, exclude=(64,)),
    Instrument(66, "Tenor Sax", "reed", A, 44, 76),
    Instrument(67, "BariSax", "reed", A, 36, 69),
    Instrument(68, "Oboe", "reed", A, 58, 73),
    Instrument(69, "English Horn", "reed", A, 52, 81, core=False),
    Instrument(70, "Bassoon", "reed", A, 36, 72),
    Instrument(71, "Clarinet", "reed", A, 50, 84),
    Instrument(22, "Harmonica", "reed", A, 60, 84, core=False),
    Instrument(111, "Shenai", "reed", A, 55, 84, core=False),
    # string
    Instrument(40, "Violin", "string", A, 55, 84),
    Instrument(42, "Cello", "string", A, 36, 76),
    Instrument(43, "Contrabass", "string", A, 36, 60, core=False),
    Instrument(45, "Pizzicato", "string", A, 36, 84, qualities=("percussive", "fast_decay"), core=False),
    Instrument(46, "Harp", "string", A, 36, 84, qualities=("percussive",), core=False),
    Instrument(48, "Strings", "string", A, 36, 84),
    Instrument(49, "Slow Strings", "string", A, 36, 84, qualities=("long_release",)),
    Instrument(50, "Synth Strings 1", "string", S, 36, 84, core=False),
    # synth_lead
    Instrument(80, "Square Wave", "synth_lead", S, 36, 84),
    Instrument(81, "Saw Wave", "synth_lead", S, 36, 84),
    Instrument(82, "Synth Calliope", "synth_lead", S, 36, 84),
    Instrument(83, "Chiffer Lead", "synth_lead", S, 36, 84),
    Instrument(90, "Poly Synth", "synth_lead", S, 36, 84, core=False),
    # vocal
    Instrument(52, "Choir Aahs", "vocal", A, 48, 79),
    Instrument(53, "Voice Oohs", "vocal", A, 48, 79),
    Instrument(54, "Synth Vox", "vocal", S, 48, 79),
    Instrument(85, "Solo Vox", "vocal", S, 48, 84, core=False),
    Instrument(91, "Space Voice", "vocal", S, 48, 84, core=False),
)


def _centroid(x: np.ndarray, sr: int) -> float:
    seg = x[: min(len(x), sr)]
    mag = np.abs(np.fft.rfft(seg * np.hanning(len(seg))))
    freqs = np.fft.rfftfreq(len(seg), 1.0 / sr)
    return float((mag * freqs).sum() / max(mag.sum(), 1e-12))


def plan(cfg: dict) -> dict[str, list[dict]]:
    """The notes of each split (metadata only, deterministic from ``cfg``): ``{split: [example dict, ...]}``."""
    rng = rng_for(int(cfg["seed"]), "nsynth-plan")
    pmin, pmax = int(cfg["pitch_min"]), int(cfg["pitch_max"])
    per_family = int(cfg.get("max_instruments_per_family", 0) or 0)
    n_notes = int(cfg["notes_per_instrument"])
    velocities = [int(v) for v in cfg["velocities"]]

    # --- choose instruments and split them by family ---------------------------------------------------------------
    split_of: dict[int, str] = {}
    chosen: list[Instrument] = []
    for fam in FAMILIES:
        members = [i for i in INSTRUMENTS if i.family == fam and i.pitches(pmin, pmax)]
        order = rng.permutation(len(members))
        # core (typical) instruments first: valid / test are drawn from them, the atypical ones always train
        members = sorted((members[k] for k in order), key=lambda i: not i.core)
        if per_family:
            members = members[:per_family]
        # valid / test get one instrument each when the family has at least 3; train first otherwise
        roles = (["valid", "test"] + ["train"] * (len(members) - 2)) if len(members) >= 3 else \
            ["train", "test"][: len(members)]
        for inst, role in zip(members, roles):
            split_of[inst.program] = role
            chosen.append(inst)

    # --- instrument ids and names (NSynth numbers instruments per family_source; we do likewise) ------------------
    chosen.sort(key=lambda i: (FAMILIES.index(i.family), SOURCES.index(i.source), i.program))
    counters: dict[str, int] = {}
    inst_str: dict[int, str] = {}
    for inst in chosen:
        key = f"{inst.family}_{inst.source}"
        inst_str[inst.program] = f"{key}_{counters.get(key, 0):03d}"
        counters[key] = counters.get(key, 0) + 1
    inst_id = {inst.program: k for k, inst in enumerate(chosen)}

    # --- pitches: train balanced greedily over the whole range, valid/test spread over each range ------------------
    coverage = {p: 0 for p in range(pmin, pmax + 1)}
    notes: list[tuple[Instrument, int, int]] = []
    train_first = sorted(chosen, key=lambda i: (split_of[i.program] != "train", len(i.pitches(pmin, pmax)),
                                                i.program))
    for inst in train_first:
        cand = inst.pitches(pmin, pmax)
        k = min(n_notes, len(cand))
        if split_of[inst.program] == "train":
            pitches = []
            for _ in range(k):
                jitter = rng.random(len(cand))
                best = min(range(len(cand)), key=lambda j: (coverage[cand[j]], jitter[j]))
                pitches.append(cand.pop(best))
            for p in pitches:
                coverage[p] += 1
        else:
            edges = np.round(np.linspace(0, len(cand), k + 1)).astype(int)  # k disjoint, non-empty bins
            pitches = [cand[int(rng.integers(edges[j], edges[j + 1]))] for j in range(k)]
        for p in sorted(pitches):
            notes.append((inst, p, int(rng.choice(velocities))))

    # --- NSynth example records ---------------------------------------------------------------------------------
    note_ids = rng.permutation(len(notes)) + int(cfg.get("note_id_offset", 0))
    out: dict[str, list[dict]] = {s: [] for s in SPLITS}
    for (inst, pitch, vel), nid in zip(notes, note_ids):
        name = inst_str[inst.program]
        note_str = f"{name}-{pitch:03d}-{vel:03d}"
        out[split_of[inst.program]].append({
            "note": int(nid),
            "note_str": note_str,
            "instrument": inst_id[inst.program],
            "instrument_str": name,
            "pitch": pitch,
            "velocity": vel,
            "sample_rate": int(cfg["sample_rate"]),
            "instrument_family": FAMILIES.index(inst.family),
            "instrument_family_str": inst.family,
            "instrument_source": SOURCES.index(inst.source),
            "instrument_source_str": inst.source,
            "_program": inst.program,
            "_key": pitch + inst.key_shift,
            "_static_qualities": list(inst.qualities),
        })
    for s in SPLITS:
        out[s].sort(key=lambda e: e["note_str"])
    names = [e["note_str"] for s in SPLITS for e in out[s]]
    if len(set(names)) != len(names):
        raise AssertionError("duplicate note_str in the NSynth plan")
    return out


def n_items(cfg: dict) -> int:
    return sum(len(v) for v in plan(cfg).values())


def render(root: Path, cfg: dict, tick=lambda n=1: None) -> None:
    """Write the NSynth layout under ``root`` (an empty, temporary folder)."""
    sr = int(cfg["sample_rate"])
    on_s, total_s = float(cfg["note_on_seconds"]), float(cfg["duration_seconds"])
    bright_hz, dark_hz = float(cfg["bright_centroid_hz"]), float(cfg["dark_centroid_hz"])
    for split, examples in plan(cfg).items():
        folder = root / f"nsynth-{split}"
        (folder / "audio").mkdir(parents=True, exist_ok=True)
        index = {}
        for ex in examples:
            x = render_note(ex.pop("_program"), ex.pop("_key"), ex["velocity"], sr, on_s, total_s,
                            gain_db=float(cfg["gain_db"]))
            peak = float(np.max(np.abs(x)))
            if peak > 0.99:  # never clip: scale the (rare) hot note down
                x = x * (0.99 / peak)
            qual = set(ex.pop("_static_qualities"))
            c = _centroid(x, sr)
            if c >= bright_hz:
                qual.add("bright")
            if c <= dark_hz:
                qual.add("dark")
            ex["qualities"] = [int(q in qual) for q in QUALITIES]
            ex["qualities_str"] = [q for q in QUALITIES if q in qual]
            write_wav(folder / "audio" / f"{ex['note_str']}.wav", x, sr)
            index[ex["note_str"]] = ex
            tick()
        with open(folder / "examples.json", "w", encoding="utf-8") as f:
            json.dump(index, f, indent=4, sort_keys=False)
            f.write("\n")
