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


# ---------------------------------------------------------------------------------------------------------------------
# layouts of the harmony and form sets: chords (Isophonics / Billboard / RWC / Chords1217), Harmonix, PianoSyllabus, GiantSteps
# ---------------------------------------------------------------------------------------------------------------------
def chord_tones(pcs, seconds: float, sr: int = SR) -> np.ndarray:
    t = np.arange(int(seconds * sr)) / sr
    x = sum(np.sin(2 * np.pi * 261.63 * 2 ** (pc / 12) * t) + 0.5 * np.sin(2 * np.pi * 130.81 * 2 ** (pc / 12) * t)
            for pc in pcs)
    return (0.15 * x * np.minimum(1, t / 0.01)).astype(np.float32)


CHORD_PCS = {"C:maj": (0, 4, 7), "G": (7, 11, 2), "A:min": (9, 0, 4), "F:maj": (5, 9, 0), "N": ()}


def chord_track(labels_durs, sr: int = SR) -> tuple[np.ndarray, list[tuple[float, float, str]]]:
    parts, segs, t0 = [], [], 0.0
    for label, dur in labels_durs:
        pcs = CHORD_PCS[label]
        parts.append(chord_tones(pcs, dur, sr) if pcs else np.zeros(int(dur * sr), np.float32))
        segs.append((t0, t0 + dur, label))
        t0 += dur
    return np.concatenate(parts), segs


def _chord_sequence(rng, seconds: float = 8.0):
    out, total = [("N", 0.5)], 0.5
    names = ["C:maj", "G", "A:min", "F:maj"]
    while total < seconds - 1:
        d = float(rng.choice([1.0, 1.5, 2.0]))
        out.append((names[int(rng.integers(4))], d))
        total += d
    return out


def write_chords(root: Path, layout: str, n_tracks: int = 8, seed: int = 0) -> Path:
    """A chord set in a real layout: "isophonics" (nested chordlab tree, mirdata audio), "billboard" (mirex majmin
    files + index csv), "rwc" (RWC_Pop_Chords + audio/rwc-p-m01/<n>.wav) or "chords1217" (flat + fold files)."""
    rng = np.random.default_rng(seed)
    ids = []
    for i in range(n_tracks):
        x, segs = chord_track(_chord_sequence(rng))
        lab = "".join(f"{s:.6f}{' ' if i % 2 else chr(9)}{e:.6f}{' ' if i % 2 else chr(9)}{lab}\n"
                      for s, e, lab in segs)
        if layout == "isophonics":
            rel = Path("The Synths") / f"0{i % 2 + 1}_-_Album" / f"{i:02d}_-_Song_{i}"
            (root / "chordlab" / rel).parent.mkdir(parents=True, exist_ok=True)
            (root / "chordlab" / f"{rel}.lab").write_text(lab)
            audio = root / "audio" / Path(*rel.parts[1:])
        elif layout == "billboard":
            d = root / "billboard-2.0.1-mirex" / f"{i + 3:04d}"
            d.mkdir(parents=True, exist_ok=True)
            (d / "majmin.lab").write_text(lab + "\n")
            audio = root / "audio" / f"{i + 3:04d}"
        elif layout == "rwc":
            d = root / "RWC_Pop_Chords"
            d.mkdir(parents=True, exist_ok=True)
            (d / f"N{i + 1:03d}-M01-T{i + 1:02d}.lab").write_text(lab)
            audio = root / "audio" / "rwc-p-m01" / str(i + 1)
        else:
            tid = f"TRSYNTHTEST{i:07d}"
            (root / "chordlab").mkdir(parents=True, exist_ok=True)
            (root / "chordlab" / f"{tid}.lab").write_text(lab)
            audio = root / "audio" / tid
            ids.append(tid)
        audio.parent.mkdir(parents=True, exist_ok=True)
        sf.write(audio.with_name(audio.name + ".wav"), x, SR, subtype="PCM_16")
    if layout == "billboard":
        rows = ["id,chart_date,target_rank,actual_rank,title,artist,peak_rank,weeks_on_chart"]
        rows += [f'{i + 3},1971-08-07,1,1,"Song, {i}",Artist,1,1' for i in range(n_tracks)] + ["99,1971-08-07,,,,,,"]
        (root / "billboard-2.0-index.csv").write_text("\n".join(rows) + "\n")
    if layout == "chords1217":
        for k in range(5):
            (root / f"train0{k}.csv").write_text("\n".join(t for j, t in enumerate(ids) if j % 5 != k) + "\n")
            (root / f"test0{k}.csv").write_text("\n".join(t for j, t in enumerate(ids) if j % 5 == k) + "\n")
    return root


SECTION_SOUND = {"intro": (110.0, "sine"), "verse": (220.0, "square"), "chorus": (440.0, "saw"),
                 "outro": (165.0, "sine")}


def _section(kind: str, seconds: float) -> np.ndarray:
    f, wave = SECTION_SOUND[kind]
    t = np.arange(int(seconds * SR)) / SR
    ph = (f * t) % 1.0
    x = {"sine": np.sin(2 * np.pi * ph), "square": np.sign(np.sin(2 * np.pi * ph)), "saw": 2 * ph - 1}[wave]
    return (0.2 * x).astype(np.float32)


def write_harmonix(root: Path, n_songs: int = 8, seed: int = 0) -> Path:
    """Harmonix layout: dataset/segments/*.txt (raw labels, a start after 0 s, a double and a missing `end`),
    dataset/metadata.csv, audio/<stem>.wav."""
    rng = np.random.default_rng(seed)
    (root / "dataset" / "segments").mkdir(parents=True, exist_ok=True)
    (root / "audio").mkdir(parents=True, exist_ok=True)
    meta = ["File,Title,Artist,Release,Duration,BPM,Ratio Bars in 4,Time Signature,Genre,MusicBrainz Id,Acoustid Id"]
    raw = {"intro": "intro", "verse": "verse2", "chorus": "chorus", "outro": "outro"}
    for i in range(n_songs):
        stem = f"{i + 1:04d}_song{i}"
        gap = 0.7 if i % 3 == 1 else 0.0
        parts, lines, t = [np.zeros(int(gap * SR), np.float32)], [], gap
        for kind in ("intro", "verse", "chorus", "verse", "chorus", "outro"):
            d = float(rng.uniform(1.5, 3.0))
            parts.append(_section(kind, d))
            lines.append(f"{t:.6f} {raw[kind]}")
            t += d
        if i != 2:
            lines.append(f"{t:.6f} end")
        if i == 4:
            lines.append(f"{t + 1.2:.6f} end")
        (root / "dataset" / "segments" / f"{stem}.txt").write_text("\n".join(lines) + "\n")
        sf.write(root / "audio" / f"{stem}.wav", np.concatenate(parts), SR, subtype="PCM_16")
        meta.append(f'{stem},"Song, {i}",Artist,Release,{t:.2f},120,100.0,4|4,Pop,x,y')
    (root / "dataset" / "metadata.csv").write_text("\n".join(meta) + "\n")
    return root


def write_pianosyllabus(root: Path, per_grade: int = 3, seed: int = 0) -> Path:
    """PianoSyllabus layout (metadata.csv + audio/<id>.wav): click density rises with the grade."""
    rng = np.random.default_rng(seed)
    (root / "audio").mkdir(parents=True, exist_ok=True)
    rows = ["id,grade,split"]
    for g in range(11):
        for j in range(per_grade):
            pid = f"Composé{g}.Piece No {j}"
            n = int(6.0 * SR)
            x = 0.002 * rng.standard_normal(n)
            k = np.arange(400) / SR
            tone = np.sin(2 * np.pi * 440 * 2 ** (rng.integers(-6, 7) / 12) * k) * np.exp(-k * 30)
            for s in np.arange(0.1, 5.9, 1.0 / (1 + g)):
                i0 = int(s * SR)
                x[i0:i0 + len(tone)] += 0.4 * tone[: n - i0]
            sf.write(root / "audio" / f"{pid}.wav", x.astype(np.float32), SR, subtype="PCM_16")
            rows.append(f"{pid},{g},{'test' if j == 0 else 'valid' if j == 1 else 'train'}")
    (root / "metadata.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    return root


def write_giantsteps(root: Path, train_per_key: int = 2, test_per_key: int = 1, seconds: float = 4.0) -> Path:
    """Both GiantSteps layouts: MTG training set (annotations.txt with sharps, confidences and rows to drop) and the
    test set (.key files with flats, no newline); audio = the tonic triad and scale tones of the key."""
    flats = ("C", "Db", "D", "Eb", "E", "F", "Gb", "G", "Ab", "A", "Bb", "B")
    sharps = ("c", "c#", "d", "d#", "e", "f", "f#", "g", "g#", "a", "a#", "b")
    train, test = root / "giantsteps-mtg-key-dataset", root / "giantsteps-key-dataset"
    for d in (train / "annotations", train / "audio", test / "annotations" / "key", test / "audio"):
        d.mkdir(parents=True, exist_ok=True)
    rows, tid = ["ID\tMANUAL KEY\tC"], 100
    for mode in ("major", "minor"):
        for pc in range(12):
            third = 4 if mode == "major" else 3
            x = chord_tones((pc, (pc + third) % 12, (pc + 7) % 12), seconds)
            for j in range(train_per_key + test_per_key):
                tid += 1
                if j < train_per_key:
                    sf.write(train / "audio" / f"{tid}.LOFI.wav", x, SR, subtype="PCM_16")
                    rows.append(f"{tid}\t{sharps[pc]} {mode}\t2")
                else:
                    sf.write(test / "audio" / f"{tid}.LOFI.wav", x, SR, subtype="PCM_16")
                    (test / "annotations" / "key" / f"{tid}.LOFI.key").write_text(f"{flats[pc]} {mode}")
    rows += ["9001\t-\t0", "9002\tc minor / f# minor\t2", "9003\ta major\t1"]
    (train / "annotations" / "annotations.txt").write_text("\n".join(rows) + "\n")
    return root


def silent_wav(path: Path, seconds: float = 1.0, sr: int = 8000) -> Path:
    """A silent mono float32 WAV of ``seconds`` at ``sr`` Hz (for readers that only need the audio file to exist)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, np.zeros(int(seconds * sr), dtype=np.float32), sr)
    return path


def sine_file(path: Path, seconds: float = 1.0, fmt: str = "WAV", sr: int = 16000) -> Path:
    """A 440 Hz sine at 0.1 amplitude, 16-bit PCM in ``fmt`` (a soundfile format: ``"WAV"``, ``"AU"``)."""
    x = 0.1 * np.sin(2 * np.pi * 440 * np.arange(int(seconds * sr)) / sr).astype(np.float32)
    sf.write(str(path), x, sr, subtype="PCM_16", format=fmt)
    return path


def cut_file(path: Path, keep: float) -> Path:
    """Cut ``path`` to its first ``keep`` fraction of bytes (a file whose header promises more than it holds)."""
    data = path.read_bytes()
    path.write_bytes(data[:int(len(data) * keep)])
    return path
