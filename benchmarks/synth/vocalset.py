"""VocalSet-layout singing set: 20 singers as voice timbres, 10 techniques as articulations (source-filter voices).

Layout (as ``VocalSet11.zip``)::

    FULL/<singer>/<context>/<technique>/<short singer>_<context>_<technique>_<vowel>.wav   # mono 16-bit, 22,050 Hz

Singers ``female1``–``female9`` and ``male1``–``male11``; each sings every one of the 10 MARBLE techniques once, in a
context (``arpeggios``, ``scales``, ``long_tones``, ``excerpts``) drawn per file, which fixes the notes.

Voices are synthesised directly (no soundfont has 20 singers): a harmonic glottal source (``1/k^tilt`` partials) at
the sung pitch, shaped by three vowel formants scaled by the singer's vocal-tract factor, plus breath noise. A singer
is a register, a vocal-tract (formant) scale, a spectral tilt and a "singer's formant" (a resonance at 2.3-4.6 kHz),
all spread over the 20 singers (:func:`_singer_params`). Techniques are articulations:
``straight`` (steady pitch), ``vibrato`` (5.5 Hz, ±0.6 semitone), ``trill`` (a whole tone alternating at 7 Hz),
``trillo`` (the note re-attacked at 8 Hz), ``breathy`` (weak partials, strong noise), ``belt`` (loud, bright, shallow
tilt), ``vocal_fry`` (a low, irregular 60-80 Hz pulse train), ``lip_trill`` (a 22 Hz flutter of the amplitude),
``inhaled`` (noise through the formants, a faint partial), ``spoken`` (speech-like gliding pitch and syllables).

The real set's pitfalls are written too (:data:`PITFALLS`): a misnamed file (its name says ``straight`` in a
``vibrato`` folder), a misspelt folder (``vibrado``), a file without the singer prefix and with a space in its name,
and a byte-identical duplicate under another name.
"""
from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np

from ..datasets.vocalset import SINGERS, TECHNIQUES, short_singer
from .render import rng_for, write_wav

__all__ = ["DEFAULTS", "plan", "n_items", "render", "render_voice", "PITFALLS"]

DEFAULTS = {"seed": 20261207, "sample_rate": 22050, "clip_seconds": 3.0, "takes_per_technique": 1, "gain_db": -3.0}
CONTEXTS = ("arpeggios", "scales", "long_tones", "excerpts")
VOWELS = {"a": (800, 1200, 2600), "e": (450, 1900, 2600), "i": (300, 2300, 3000), "o": (500, 850, 2500),
          "u": (330, 800, 2400)}
#: (singer, technique) whose files carry the pitfalls
PITFALLS = {"misnamed": ("female3", "vibrato"), "misspelt_folder": ("male4", "vibrato"),
            "no_prefix": ("male7", "belt"), "duplicate": ("female1", "straight")}


def _singer_params(i: int, singer: str) -> dict:
    """Register (MIDI), formant scale and tilt of singer ``i``: spread so no two singers share all three."""
    female = singer.startswith("female")
    k = int(singer.replace("female", "").replace("male", "")) - 1
    base = (57 if female else 45) + 1.3 * k
    return {"base": base, "formant": (1.12 if female else 0.92) + 0.035 * ((k * 3) % 7 - 3),
            "tilt": 1.1 + 0.25 * ((k * 5 + i) % 5), "jitter": 0.002 + 0.002 * (k % 3),
            "ring": 2300.0 + 230.0 * ((7 * i) % 10) + 90.0 * (i // 10)}


def plan(cfg: dict) -> list[dict]:
    cfg = {**DEFAULTS, **cfg}
    rng = rng_for(int(cfg["seed"]), "vocalset-plan")
    files = []
    for i, singer in enumerate(SINGERS):
        for technique in TECHNIQUES:
            for take in range(int(cfg["takes_per_technique"])):
                context = CONTEXTS[int(rng.integers(len(CONTEXTS)))]
                vowel = "aeiou"[int(rng.integers(5))]
                folder, name_tech, prefix = technique, technique, short_singer(singer) + "_"
                if (singer, technique) == PITFALLS["misnamed"] and take == 0:
                    name_tech = "straight"
                if (singer, technique) == PITFALLS["misspelt_folder"]:
                    folder = "vibrado"
                if (singer, technique) == PITFALLS["no_prefix"] and take == 0:
                    prefix = ""
                suffix = f"_{take + 1}" if take else ""
                name = f"{prefix}{context}_{name_tech}_{vowel}{suffix}.wav"
                if prefix == "":
                    name = name.replace("_", " ", 1)
                files.append({"singer": singer, "singer_index": i, "technique": technique, "context": context,
                              "vowel": vowel, "path": f"{singer}/{context}/{folder}/{name}",
                              "seed": int(rng.integers(2 ** 31))})
    return files


def n_items(cfg: dict) -> int:
    cfg = {**DEFAULTS, **cfg}
    return len(SINGERS) * len(TECHNIQUES) * int(cfg["takes_per_technique"])


def _notes(context: str, base: float, seconds: float, rng) -> list[tuple[float, float]]:
    """(start s, MIDI pitch) of the notes sung in ``context``."""
    if context == "long_tones":
        return [(0.0, base + float(rng.integers(0, 5)))]
    steps = {"arpeggios": (0, 4, 7, 12, 7, 4), "scales": (0, 2, 4, 5, 7, 5, 4, 2)}.get(context)
    if steps is None:  # excerpts: a short tune
        steps = tuple(int(x) for x in rng.choice((0, 2, 4, 5, 7, 9), size=5))
    dur = seconds / len(steps)
    return [(k * dur, base + s) for k, s in enumerate(steps)]


def render_voice(f: dict, cfg: dict) -> np.ndarray:
    sr, seconds = int(cfg["sample_rate"]), float(cfg["clip_seconds"])
    rng = np.random.default_rng(f["seed"])
    p = _singer_params(f["singer_index"], f["singer"])
    tech = f["technique"]
    n = int(round(seconds * sr))
    t = np.arange(n) / sr
    midi = np.zeros(n)
    for start, pitch in _notes(f["context"], p["base"], seconds, rng):
        midi[int(start * sr):] = pitch
    amp = np.ones(n)
    tilt, noise_level, harm_level = p["tilt"], 0.02, 1.0
    if tech == "vibrato":
        midi = midi + 0.6 * np.sin(2 * np.pi * 5.5 * t)
    elif tech == "trill":
        midi = midi + 2.0 * (np.sin(2 * np.pi * 7.0 * t) > 0)
    elif tech == "trillo":
        amp = 0.15 + 0.85 * (np.sin(2 * np.pi * 8.0 * t) > -0.2)
    elif tech == "breathy":
        tilt, noise_level, harm_level = tilt + 0.8, 0.5, 0.35
    elif tech == "belt":
        tilt, harm_level = max(0.5, tilt - 0.7), 1.6
    elif tech == "vocal_fry":
        midi = np.full(n, p["base"] - 15 + rng.uniform(-1, 1)) + 1.5 * rng.standard_normal(n).cumsum() / np.sqrt(n)
    elif tech == "lip_trill":
        amp = 0.55 + 0.45 * np.sin(2 * np.pi * 22.0 * t)
        noise_level = 0.08
    elif tech == "inhaled":
        noise_level, harm_level = 0.9, 0.08
    elif tech == "spoken":
        midi = p["base"] - 3 + 3.0 * np.sin(2 * np.pi * 0.7 * t + rng.uniform(0, 6)) + np.cumsum(
            rng.standard_normal(n)) / np.sqrt(sr) * 2
        amp = np.clip(np.sin(2 * np.pi * 4.0 * t + rng.uniform(0, 6)), 0, None) ** 0.5
    midi = midi + p["jitter"] * 12 * rng.standard_normal(n).cumsum() / np.sqrt(n)
    f0 = 440.0 * 2 ** ((midi - 69) / 12)
    phase = 2 * np.pi * np.cumsum(f0) / sr
    formants = [*(np.array(VOWELS[f["vowel"]]) * p["formant"]), p["ring"]]

    def envelope(freq):
        g = sum(np.exp(-0.5 * ((freq - fc) / (0.09 * fc + 40)) ** 2) * w
                for fc, w in zip(formants, (1.0, 0.7, 0.35, 0.6)))
        return 0.05 + g

    x = np.zeros(n)
    mean_f0 = float(np.mean(f0))
    for k in range(1, int(min(sr / 2 - 500, 6000) // mean_f0) + 1):
        fk = k * mean_f0
        x += envelope(fk) / k ** tilt * np.sin(k * phase)
    if tech == "vocal_fry":  # irregular pulses: gate the partials with a sparse pulse train
        x *= 0.3 + (np.sin(phase / 1.0) > 0.95)
    x *= harm_level
    noise = np.fft.irfft(np.fft.rfft(rng.standard_normal(n)) * envelope(np.fft.rfftfreq(n, 1 / sr)), n)
    x = x / (np.max(np.abs(x)) + 1e-9) * harm_level + noise / (np.max(np.abs(noise)) + 1e-9) * noise_level
    attack = np.minimum(1.0, t / 0.03) * np.minimum(1.0, (seconds - t) / 0.05)
    x = x * amp * attack
    return (0.6 * 10 ** (float(cfg["gain_db"]) / 20) * x / (np.max(np.abs(x)) + 1e-9) *
            (1.0 if tech == "belt" else 0.6 if tech in ("breathy", "inhaled") else 0.8)).astype(np.float32)


def render(root: Path, cfg: dict, tick=lambda n=1: None) -> None:
    cfg = {**DEFAULTS, **cfg}
    sr = int(cfg["sample_rate"])
    full = root / "FULL"
    for f in plan(cfg):
        path = full / f["path"]
        path.parent.mkdir(parents=True, exist_ok=True)
        write_wav(path, render_voice(f, cfg), sr)
        if (f["singer"], f["technique"]) == PITFALLS["duplicate"] and path.stem.endswith(tuple("aeiou")):
            shutil.copyfile(path, path.with_name(path.stem + " copy.wav"))
        tick()
