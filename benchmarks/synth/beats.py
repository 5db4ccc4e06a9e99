"""Beat-tracking synthetic set in the generic GTZAN-rhythm / Ballroom layout.

Layout::

    audio/<id>.wav            # mono 16-bit PCM at ``sample_rate`` (22050 Hz by default), ``clip_seconds`` long
    annotations/<id>.beats    # one line per beat: "<time in s>\\t<beat position in bar, 1 = downbeat>"

Two kinds of tracks:

* ``chorale`` — a four-part Bach chorale from music21's corpus at a constant random tempo, one GM ensemble per track.
  Beats are the time signature's beats (quarter notes in 3/4 and 4/4); positions come from the measures, and a
  pickup (anacrusis) measure takes the positions of the end of a bar (a one-beat pickup in 4/4 is beat 4).
* ``groove`` — a generated drum groove (GM drum kit on channel 10) with a bass line and optionally chords, in 4/4 or
  3/4, entered at a random phase of the bar (so the first annotated beat is often not a downbeat).

Every beat time is an exact sample index divided by the sample rate, and the notes on that beat are rendered from
that same sample, so the annotations align with the audio sample-exactly.
"""
from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

from . import patterns as P
from .render import DRUM_CHANNEL, NoteEvent, limit, render_events, rng_for, seconds_to_sample, write_wav

#: Packages whose versions change the rendered bytes (part of the configuration hash).
LIBRARIES = ("tinysoundfont", "soundfile", "music21")

#: Sizes and seeds of the set (``cfg/synth.toml`` or ``synthesize(config=...)`` override them key by key; the same
#: values give byte-identical files).
DEFAULTS: dict = {
    "seed": 20261126,
    "sample_rate": 22050,
    "n_chorales": 14,  # Bach chorales of the music21 corpus, rendered at a random tempo
    "n_grooves": 18,  # generated drum grooves (+ bass, + optional chords)
    "valid_fraction": 0.2,  # the set's own split (splits.tsv), stratified by kind: 32 tracks -> 18 / 6 / 8
    "test_fraction": 0.25,
    "clip_seconds": 24.0,  # a chorale shorter than this ends early (its beats end with it)
    "tempo_min": 70.0,  # BPM (beats of the time signature per minute)
    "tempo_max": 180.0,
    "lead_in_max_seconds": 1.0,  # chorales start after a random silence of up to this
    "gain_db": -3.0,  # a track that would still clip is scaled down as a whole
}

#: Chorales used, by meter / pickup category (all four-part, one time signature; checked with music21 10.5).
CHORALES = {
    "4/4 pickup": ("bwv101.7", "bwv102.7", "bwv103.6", "bwv104.6", "bwv108.6", "bwv110.7", "bwv114.7", "bwv117.4",
                   "bwv13.6", "bwv14.5", "bwv144.3", "bwv133.6"),
    "4/4": ("bwv10.7", "bwv115.6", "bwv140.7", "bwv146.8"),
    "3/4": ("bwv11.6", "bwv122.6", "bwv145.5", "bwv153.9", "bwv187.7", "bwv43.11"),
    "3/4 pickup": ("bwv17.7", "bwv194.12", "bwv65.2"),
}
#: Category of each chorale slot, cycled (mostly 4/4 with a pickup, as the corpus).
CHORALE_SLOTS = ("4/4 pickup", "3/4", "4/4 pickup", "4/4", "3/4 pickup", "4/4 pickup", "3/4", "4/4",
                 "4/4 pickup", "3/4 pickup")
#: GM ensembles for the chorales: (name, program per voice soprano, alto, tenor, bass)
ENSEMBLES = (
    ("piano", (0, 0, 0, 0)), ("harpsichord", (6, 6, 6, 6)), ("organ", (20, 20, 20, 20)),
    ("strings", (40, 40, 42, 43)), ("brass", (56, 60, 57, 58)), ("winds", (73, 68, 71, 70)),
    ("guitar", (24, 24, 24, 24)), ("harp", (46, 46, 46, 46)), ("choir", (52, 52, 52, 52)),
)
GROOVE_STYLES = ("rock", "disco", "funk", "halftime", "jazz", "waltz")
GROOVE_KITS = {"rock": ("standard", "room", "power"), "disco": ("standard", "electronic", "tr808"),
               "funk": ("standard", "room"), "halftime": ("tr808", "electronic", "power"),
               "jazz": ("jazz", "brush"), "waltz": ("standard", "brush", "room")}
#: Styles whose pattern invites a half-tempo reading (snare on 3, swung ride) are kept at or below this tempo.
HALF_TEMPO_STYLES_MAX_BPM = {"halftime": 130.0, "jazz": 130.0}
BASS_PROGRAMS = (32, 33, 34, 35, 38)
COMP_PROGRAMS = (0, 4, 16, 24, 27, 48)


def plan(cfg: dict) -> list[dict]:
    """Track specs (deterministic from ``cfg``)."""
    rng = rng_for(int(cfg["seed"]), "beats-plan")
    pools = {cat: [names[k] for k in rng.permutation(len(names))] for cat, names in CHORALES.items()}
    tracks: list[dict] = []
    n_ch, n_gr = int(cfg["n_chorales"]), int(cfg["n_grooves"])
    taken: dict[str, int] = {c: 0 for c in CHORALES}
    for k in range(n_ch):
        cat = CHORALE_SLOTS[k % len(CHORALE_SLOTS)]
        name = pools[cat][taken[cat] % len(pools[cat])]
        taken[cat] += 1
        ens = ENSEMBLES[int(rng.integers(len(ENSEMBLES)))]
        tracks.append({"kind": "chorale", "piece": name, "ensemble": ens[0], "programs": list(ens[1]),
                       "bpm": round(float(rng.uniform(cfg["tempo_min"], cfg["tempo_max"])), 2),
                       "lead_in": round(float(rng.uniform(0, cfg["lead_in_max_seconds"])), 3)})
    for k in range(n_gr):
        style = GROOVE_STYLES[k % len(GROOVE_STYLES)]
        kits = GROOVE_KITS[style]
        top = min(float(cfg["tempo_max"]), HALF_TEMPO_STYLES_MAX_BPM.get(style, float("inf")))
        tracks.append({"kind": "groove", "style": style, "kit": kits[int(rng.integers(len(kits)))],
                       "beats_per_bar": 3 if style == "waltz" else 4,
                       "bpm": round(float(rng.uniform(cfg["tempo_min"], max(top, float(cfg["tempo_min"])))), 2),
                       "phase": float(rng.random()),  # fraction of a bar already played at t = 0
                       "key": int(rng.integers(12)), "mode": ("major", "minor")[int(rng.integers(2))],
                       "bass": int(rng.choice(BASS_PROGRAMS)),
                       "comp": int(rng.choice(COMP_PROGRAMS)) if rng.random() < 0.6 else None,
                       "density": ("sparse", "normal", "normal", "dense")[int(rng.integers(4))],
                       "seed": int(rng.integers(2 ** 31))})
    order = rng.permutation(len(tracks))  # interleave kinds so that any fold mixes both
    out = []
    for idx, k in enumerate(order):
        t = tracks[k]
        detail = t["piece"].replace(".", "_") if t["kind"] == "chorale" else t["style"]
        t["id"] = f"synth{idx:03d}_{t['kind']}_{detail}"
        out.append(t)
    return out


def n_items(cfg: dict) -> int:
    return int(cfg["n_chorales"]) + int(cfg["n_grooves"])


# --- chorales ------------------------------------------------------------------------------------------------------

def chorale_score(name: str):
    """Parse a corpus chorale (ties merged). Raises if it is not a four-part piece with one time signature."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from music21 import corpus

        score = corpus.parse(f"bach/{name}").stripTies()
    return score


def chorale_beats(score) -> list[tuple[float, int]]:
    """``[(offset in quarter notes, beat position), ...]`` from the measures of the first part.

    Beats are the time signature's beats (``beatDuration``); a measure's ``paddingLeft`` (the pickup) shifts its
    beats so that the pickup gets the last positions of a bar. An incomplete first measure without padding is treated
    as a pickup as well.
    """
    part = score.parts[0]
    measures = list(part.getElementsByClass("Measure"))
    ts = None
    beats: list[tuple[float, int]] = []
    for i, m in enumerate(measures):
        if m.timeSignature is not None:
            ts = m.timeSignature
        if ts is None:
            raise ValueError("no time signature")
        beat_ql = float(ts.beatDuration.quarterLength)
        count = int(ts.beatCount)
        bar_ql = float(ts.barDuration.quarterLength)
        length = float(m.duration.quarterLength)
        pad = float(m.paddingLeft or 0.0)
        if i == 0 and pad == 0.0 and length < bar_ql - 1e-9:
            pad = bar_ql - length
        for k in range(count):
            pos_ql = k * beat_ql - pad  # relative to the measure's first sounding offset
            if -1e-9 <= pos_ql < length - 1e-9:
                beats.append((float(m.offset) + pos_ql, k + 1))
    return beats


def _render_chorale(t: dict, cfg: dict) -> tuple[np.ndarray, list[int], list[int]]:
    sr = int(cfg["sample_rate"])
    score = chorale_score(t["piece"])
    ts = score.parts[0].recurse().getElementsByClass("TimeSignature").first()
    beat_ql = float(ts.beatDuration.quarterLength)
    sec_per_ql = 60.0 / t["bpm"] / beat_ql
    lead = t["lead_in"]
    n_max = seconds_to_sample(float(cfg["clip_seconds"]), sr)
    notes: list[NoteEvent] = []
    programs = {}
    rng = rng_for(int(cfg["seed"]), "chorale", t["id"])
    beats = chorale_beats(score)
    downbeats = {round(off, 6) for off, pos in beats if pos == 1}
    for v, part in enumerate(list(score.parts)[:4]):
        programs[v] = t["programs"][v]
        for n in part.flatten().notes:
            off = float(n.offset)
            dur = float(n.duration.quarterLength)
            if dur <= 0:
                continue
            start = seconds_to_sample(lead + off * sec_per_ql, sr)
            end = seconds_to_sample(lead + (off + 0.92 * dur) * sec_per_ql, sr)
            vel = int(rng.integers(72, 90)) + (12 if round(off, 6) in downbeats else 0)
            for p in n.pitches:
                notes.append(NoteEvent(start, max(end, start + 1), v, int(p.midi), vel))
    end_s = lead + float(score.highestTime) * sec_per_ql + 1.5
    n = min(n_max, seconds_to_sample(end_s, sr))
    beat_samples = [seconds_to_sample(lead + off * sec_per_ql, sr) for off, _ in beats]
    keep = [k for k, s in enumerate(beat_samples) if 0 <= s < n]
    x = render_events(notes, n, sr, programs, gain_db=float(cfg["gain_db"]))
    return x, [beat_samples[k] for k in keep], [beats[k][1] for k in keep]


# --- grooves ---------------------------------------------------------------------------------------------------------

def _render_groove(t: dict, cfg: dict) -> tuple[np.ndarray, list[int], list[int]]:
    sr = int(cfg["sample_rate"])
    rng = np.random.default_rng(t["seed"])
    n = seconds_to_sample(float(cfg["clip_seconds"]), sr)
    bpb = t["beats_per_bar"]
    spb = 60.0 / t["bpm"]
    t0 = -t["phase"] * bpb * spb  # time of the first bar's downbeat (<= 0)
    n_bars = int(np.ceil((cfg["clip_seconds"] - t0) / (bpb * spb))) + 1
    sample = lambda beat: seconds_to_sample(t0 + beat * spb, sr)  # noqa: E731  beat counted from bar 0
    notes: list[NoteEvent] = []
    programs = {DRUM_CHANNEL: P.DRUM_KITS[t["kit"]], 0: t["bass"]}
    if t["comp"] is not None:
        programs[1] = t["comp"]
    prog = P.PROGRESSIONS[t["mode"]][int(rng.integers(len(P.PROGRESSIONS[t["mode"]])))]
    beat_samples, positions = [], []
    for bar in range(n_bars):
        b0 = bar * bpb
        for k in range(bpb):
            beat_samples.append(sample(b0 + k))
            positions.append(k + 1)
        for pos, key, vel in P.drum_groove(t["style"], bpb, bar, n_bars, rng, t["density"]):
            s = sample(b0 + pos)
            notes.append(NoteEvent(s, s + int(0.15 * sr), DRUM_CHANNEL, key, vel))
        chord = P.chord_pcs(t["key"], t["mode"], prog[bar % len(prog)])
        root = P.nearest(chord[0], 40)
        bass_pattern = {"sparse": [(0, bpb)], "normal": [(k, 1) for k in range(bpb)],
                        "dense": [(k * 0.5, 0.5) for k in range(2 * bpb)]}[t["density"]]
        for j, (pos, dur) in enumerate(bass_pattern):
            pitch = root + (7 if (t["density"] == "dense" and j % 4 == 2) else 0)
            s, e = sample(b0 + pos), sample(b0 + pos + 0.9 * dur)
            notes.append(NoteEvent(s, e, 0, pitch, 95 if pos == 0 else 80))
        if t["comp"] is not None:
            voicing = P.voice(chord, 55, 67)
            hits = [(k, 0.8) for k in range(bpb)] if t["style"] != "disco" else [(k + 0.5, 0.4) for k in range(bpb)]
            for pos, dur in hits:
                s, e = sample(b0 + pos), sample(b0 + pos + dur)
                for p in voicing:
                    notes.append(NoteEvent(s, e, 1, p, 70))
    keep = [k for k, s in enumerate(beat_samples) if 0 <= s < n]
    x = render_events([e for e in notes if e.start >= 0], n, sr, programs, gain_db=float(cfg["gain_db"]))
    return x, [beat_samples[k] for k in keep], [positions[k] for k in keep]


def render_track(t: dict, cfg: dict) -> tuple[np.ndarray, list[int], list[int]]:
    """Audio, beat sample indices and beat positions of one planned track."""
    return (_render_chorale if t["kind"] == "chorale" else _render_groove)(t, cfg)


def format_beats(beat_samples: list[int], positions: list[int], sr: int) -> str:
    return "".join(f"{s / sr:.6f}\t{p}\n" for s, p in zip(beat_samples, positions))


def split_of(tracks: list[dict], valid_fraction: float, test_fraction: float) -> dict[str, str]:
    """Track id → "train" | "valid" | "test", stratified by kind (chorale / groove) so every split has both; within a
    kind, tracks in plan order (already a seeded permutation) fill test, then valid, then train."""
    out = {}
    for kind in ("chorale", "groove"):
        ids = [t["id"] for t in tracks if t["kind"] == kind]
        n_test = int(round(test_fraction * len(ids))) if len(ids) >= 3 else 0
        n_valid = int(round(valid_fraction * len(ids))) if len(ids) >= 3 else 0
        for j, tid in enumerate(ids):
            out[tid] = "test" if j < n_test else "valid" if j < n_test + n_valid else "train"
    return out


def render(root: Path, cfg: dict, tick=lambda n=1: None) -> None:
    sr = int(cfg["sample_rate"])
    (root / "audio").mkdir(parents=True, exist_ok=True)
    (root / "annotations").mkdir(parents=True, exist_ok=True)
    tracks = plan(cfg)
    for t in tracks:
        x, beat_samples, positions = render_track(t, cfg)
        write_wav(root / "audio" / f"{t['id']}.wav", limit(x, 0.98), sr)
        (root / "annotations" / f"{t['id']}.beats").write_text(format_beats(beat_samples, positions, sr))
        tick()
    # the set's own split (generic layout's splits.tsv), as the other synthesised sets have one: probes train once
    # per grid point instead of once per fold of a cross-validation
    if cfg.get("valid_fraction", 0) > 0 and cfg.get("test_fraction", 0) > 0:
        split = split_of(tracks, float(cfg["valid_fraction"]), float(cfg["test_fraction"]))
        if {"train", "valid", "test"} <= set(split.values()):
            (root / "splits.tsv").write_text("".join(f"{tid}\t{split[tid]}\n" for tid in sorted(split)))
