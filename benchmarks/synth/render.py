"""Offline rendering helpers for the synthesised datasets: General-MIDI events → mono float32 audio.

Everything renders with tinysoundfont (no audio device: ``Synth.generate_simple`` pulls samples) from the 6 MB
General-MIDI soundfont that ships with pretty_midi (``pretty_midi/TimGM6mb.sf2``). Events are placed at exact sample
positions: the renderer splits the output at every event, so an event scheduled at sample ``n`` starts sounding at
sample ``n`` of the output (this is what keeps the beat annotations sample-exact).

Rendering is deterministic (no randomness in tinysoundfont); files are written without time stamps (16-bit PCM WAV
has no PEAK chunk; libsndfile's MP3 writer adds no ID3 tag), so the same events give byte-identical files.
"""
from __future__ import annotations

import functools
import hashlib
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

import numpy as np
import soundfile as sf

__all__ = [
    "DRUM_CHANNEL", "DRUM_BANK", "NoteEvent", "soundfont_path", "soundfont_sha256", "render_events", "render_note",
    "write_wav", "write_mp3", "preset_sample_sets", "estimate_midi_pitch", "seconds_to_sample", "limit", "rng_for",
]

#: MIDI channel 10 (0-based 9) is the General-MIDI drum channel.
DRUM_CHANNEL = 9
#: Soundfont bank holding the drum kits (0 Standard, 8 Room, 16 Power, 24 Electronic, 25 TR-808, 32 Jazz, 40 Brush,
#: 48 Orchestra in TimGM6mb).
DRUM_BANK = 128


def soundfont_path() -> Path:
    """The General-MIDI soundfont shipped in the pretty_midi wheel."""
    import pretty_midi  # imported here: only its data file is used

    path = Path(pretty_midi.__file__).resolve().parent / "TimGM6mb.sf2"
    if not path.is_file():
        raise FileNotFoundError(f"{path}: pretty_midi's TimGM6mb.sf2 soundfont is missing (reinstall pretty_midi)")
    return path


@functools.lru_cache(maxsize=1)
def _soundfont_bytes() -> bytes:
    return soundfont_path().read_bytes()


@functools.lru_cache(maxsize=1)
def soundfont_sha256() -> str:
    return hashlib.sha256(_soundfont_bytes()).hexdigest()


def seconds_to_sample(t: float, sr: int) -> int:
    """The sample index an event at ``t`` seconds is rendered at (round half up, as annotations must use)."""
    return int(np.floor(t * sr + 0.5))


@dataclass(frozen=True, order=True)
class NoteEvent:
    """A note (``key`` on ``chan`` from sample ``start`` to sample ``end``, ``end`` exclusive) at ``velocity``."""

    start: int
    end: int
    chan: int
    key: int
    velocity: int


def _new_synth(sr: int, gain_db: float):
    import tinysoundfont

    synth = tinysoundfont.Synth(gain=gain_db, samplerate=sr)
    sfid = synth.sfload(_soundfont_bytes(), max_voices=256)
    return synth, sfid


def render_events(notes: Iterable[NoteEvent], n_samples: int, sr: int, programs: dict[int, int | tuple[int, int]],
                  gain_db: float = 0.0, volumes: dict[int, int] | None = None) -> np.ndarray:
    """Render ``notes`` into ``n_samples`` of mono float32 audio at ``sr``.

    ``programs`` maps a channel to a GM program number (bank 0), or to ``(bank, preset)``; the drum channel
    (:data:`DRUM_CHANNEL`) takes a kit number (bank 128). Notes are clipped to the output length; a note-off and a
    note-on at the same sample are applied in that order (a repeated key retriggers). ``volumes`` sets channel
    volumes (MIDI CC 7, 0-127; default full). Stereo output is averaged to mono.
    """
    synth, sfid = _new_synth(sr, gain_db)
    for chan, prog in sorted(programs.items()):
        if chan == DRUM_CHANNEL:
            kit = prog[1] if isinstance(prog, tuple) else prog
            synth.program_select(chan, sfid, DRUM_BANK, int(kit), True)
        else:
            bank, preset = prog if isinstance(prog, tuple) else (0, prog)
            synth.program_select(chan, sfid, int(bank), int(preset), False)
    for chan, vol in sorted((volumes or {}).items()):
        synth.control_change(chan, 7, int(vol))
    # (sample, 0 = off / 1 = on, chan, key, velocity): deterministic order whatever the input order
    events = []
    for n in notes:
        if n.start >= n_samples or n.end <= n.start:
            continue
        # velocity 0 would be a note-off, and tinysoundfont's note-off by velocity 0 is not channel-specific
        events.append((max(n.start, 0), 1, n.chan, n.key, min(max(int(n.velocity), 1), 127)))
        if n.end < n_samples:
            events.append((n.end, 0, n.chan, n.key, 0))
    events.sort()
    out = np.zeros((n_samples, 2), dtype=np.float32)
    buf = memoryview(out.reshape(-1))  # tinysoundfont writes interleaved stereo float32 in place
    pos = 0
    for sample, kind, chan, key, vel in events:
        if sample > pos:
            synth.generate_simple(sample - pos, buffer=buf[2 * pos:2 * sample].cast("B"))
            pos = sample
        if kind == 1:
            synth.noteon(chan, key, vel)
        else:
            synth.noteoff(chan, key)
    if pos < n_samples:
        synth.generate_simple(n_samples - pos, buffer=buf[2 * pos:].cast("B"))
    return out.mean(axis=1)


def render_note(program: int, key: int, velocity: int, sr: int, on_seconds: float, total_seconds: float,
                gain_db: float = 0.0) -> np.ndarray:
    """One note of ``program`` (bank 0): key down at sample 0, released after ``on_seconds``, ``total_seconds`` long."""
    n = seconds_to_sample(total_seconds, sr)
    return render_events([NoteEvent(0, seconds_to_sample(on_seconds, sr), 0, key, velocity)], n, sr, {0: program},
                         gain_db=gain_db)


def _to_pcm16(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    if not np.all(np.isfinite(x)):
        raise ValueError("non-finite samples")
    return np.clip(np.round(x * 32767.0), -32768, 32767).astype(np.int16)


def write_wav(path: str | Path, x: np.ndarray, sr: int) -> None:
    """Mono 16-bit PCM WAV (no PEAK / date chunk: byte-identical for identical samples)."""
    sf.write(str(path), _to_pcm16(x), sr, subtype="PCM_16", format="WAV")


def write_mp3(path: str | Path, x: np.ndarray, sr: int) -> None:
    """Mono MP3 via libsndfile's LAME encoder (deterministic; gapless header, so it decodes to ``len(x)`` samples)."""
    sf.write(str(path), _to_pcm16(x), sr, format="MP3", subtype="MPEG_LAYER_III")


# --- soundfont introspection (used to pick instruments that really differ) -----------------------------------------

def preset_sample_sets(bank: int = 0) -> dict[int, tuple[str, frozenset[str]]]:
    """``{preset: (name, sample names)}`` for ``bank`` of the soundfont, read from its SF2 ``pdta`` chunk.

    Two presets with the same sample set play the same recordings (they may still differ in envelopes or layering).
    """
    data = _soundfont_bytes()

    def chunks(off: int, end: int):
        while off + 8 <= end:
            cid = data[off:off + 4]
            size = struct.unpack("<I", data[off + 4:off + 8])[0]
            yield cid, off + 8, size
            off += 8 + size + (size & 1)

    pdta = None
    for cid, off, size in chunks(12, len(data)):
        if cid == b"LIST" and data[off:off + 4] == b"pdta":
            pdta = (off + 4, off + size)
    if pdta is None:
        raise ValueError("soundfont has no pdta chunk")
    sub = {cid: data[off:off + size] for cid, off, size in chunks(*pdta)}

    def records(name: bytes, fmt: str):
        size = struct.calcsize(fmt)
        blob = sub[name]
        return [struct.unpack(fmt, blob[i:i + size]) for i in range(0, len(blob) - size + 1, size)]

    phdr = records(b"phdr", "<20sHHHIII")
    pbag, pgen = records(b"pbag", "<HH"), records(b"pgen", "<HH")
    inst, ibag, igen = records(b"inst", "<20sH"), records(b"ibag", "<HH"), records(b"igen", "<HH")
    shdr = records(b"shdr", "<20sIIIIIBbHH")
    name_of = lambda raw: raw.split(b"\0")[0].decode("latin-1")  # noqa: E731

    def inst_samples(i: int) -> set[str]:
        out = set()
        for b in range(inst[i][1], inst[i + 1][1]):
            for g in range(ibag[b][0], ibag[b + 1][0]):
                if igen[g][0] == 53:  # sampleID
                    out.add(name_of(shdr[igen[g][1]][0]))
        return out

    result = {}
    for p in range(len(phdr) - 1):
        raw, preset, pbank, bag = phdr[p][:4]
        if pbank != bank:
            continue
        samples: set[str] = set()
        for b in range(bag, phdr[p + 1][3]):
            for g in range(pbag[b][0], pbag[b + 1][0]):
                if pgen[g][0] == 41:  # instrument
                    samples |= inst_samples(pgen[g][1])
        result[preset] = (name_of(raw), frozenset(samples))
    return result


def estimate_midi_pitch(x: np.ndarray, sr: int, start: float = 0.08, stop: float = 0.9, fmin: float = 50.0,
                        fmax: float = 1500.0, threshold: float = 0.15) -> float:
    """Median YIN estimate (fractional MIDI number) over frames of ``x[start:stop]``; NaN when nothing is voiced.

    A check, not a feature: used to verify that a soundfont preset sounds at the requested key.
    """
    w = 1024
    tmin, tmax = int(sr / fmax), int(sr / fmin)
    estimates = []
    for s0 in range(int(start * sr), int(stop * sr), int(0.05 * sr)):
        frame = np.asarray(x[s0:s0 + w + tmax + 1], dtype=np.float64)
        if len(frame) < w + tmax + 1 or np.sqrt(np.mean(frame ** 2)) < 1e-4:
            continue
        # difference function via FFT autocorrelation (YIN step 2)
        n = 1 << int(np.ceil(np.log2(2 * len(frame))))
        spec = np.fft.rfft(frame, n)
        ref = np.fft.rfft(frame[:w], n)
        corr = np.fft.irfft(spec * np.conj(ref), n)[:tmax + 1]
        energy = np.concatenate([[0.0], np.cumsum(frame ** 2)])
        e0 = energy[w] - energy[0]
        et = energy[np.arange(tmax + 1) + w] - energy[np.arange(tmax + 1)]
        d = e0 + et - 2 * corr
        d[0] = 0.0
        cmnd = np.ones_like(d)
        cs = np.cumsum(d[1:])
        cmnd[1:] = d[1:] * np.arange(1, tmax + 1) / np.maximum(cs, 1e-12)
        below = np.where(cmnd[tmin:tmax] < threshold)[0]
        if len(below):
            t = tmin + below[0]
            while t + 1 < tmax and cmnd[t + 1] < cmnd[t]:
                t += 1
        else:
            t = tmin + int(np.argmin(cmnd[tmin:tmax]))
        shift = 0.0
        if 1 <= t < tmax:
            a, b, c = cmnd[t - 1], cmnd[t], cmnd[t + 1]
            den = a - 2 * b + c
            shift = 0.5 * (a - c) / den if den != 0 else 0.0
        estimates.append(69.0 + 12.0 * np.log2(sr / (t + shift) / 440.0))
    return float(np.median(estimates)) if estimates else float("nan")


def limit(x: np.ndarray, ceiling: float = 0.98) -> np.ndarray:
    """Scale ``x`` down only if it would clip (keeps relative loudness otherwise)."""
    m = float(np.max(np.abs(x))) if len(x) else 0.0
    return x * (ceiling / m) if m > ceiling else x


def stable_seed(*parts: int | str) -> list[int]:
    """A numpy ``SeedSequence`` entropy list from integers / strings (strings hashed with sha256, not ``hash()``)."""
    out = []
    for p in parts:
        if isinstance(p, str):
            out.append(int.from_bytes(hashlib.sha256(p.encode()).digest()[:8], "little"))
        else:
            out.append(int(p))
    return out


def rng_for(*parts: int | str) -> np.random.Generator:
    return np.random.default_rng(stable_seed(*parts))
