"""The GTZAN-size beat benchmark: render a beat set of GTZAN's size in the GTZAN layout, then time
``omar-bench run --model mel --task beats-gtzan`` on it (default grid, 8-fold cross-validation).

    python -m benchmarks.perf.gtzan_beats [--out DIR] [--tracks 999] [--seconds 30] [--jobs 2] [--render-only]

The real GTZAN audio cannot be downloaded here, so the set is synthesised with the offline beat generator
(:mod:`benchmarks.synth.beats`: Bach chorales and drum grooves at random tempi, sample-exact annotations) and written
exactly as GTZAN + GTZAN-Rhythm are laid out: ``genres/<genre>/<genre>.<nnnnn>.au`` (16-bit AU, 22,050 Hz, mono) and
``gtzan_tempo_beat-main/beats/gtzan_<genre>_<nnnnn>.beats`` (``time<TAB>beat position``). 999 tracks, as the
beat_this GTZAN annotations (``reggae.00086`` missing). Rendering is resumable (existing files are kept) and
deterministic; the run then reports its extraction and probe times and the F-measure.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import soundfile as sf

from benchmarks.datasets.beats import GTZAN_GENRES

SEED = 20261126


def _slots(n_tracks: int) -> list[tuple[str, int]]:
    slots = [(g, i) for g in GTZAN_GENRES for i in range(100) if (g, i) != ("reggae", 86)]
    return slots[:n_tracks]


def _config(n_tracks: int, seconds: float) -> dict:
    from benchmarks.synth import load_config

    cfg = dict(load_config()["beats"])
    n_chorales = int(round(0.4 * n_tracks))
    cfg.update({"seed": SEED, "n_chorales": n_chorales, "n_grooves": n_tracks - n_chorales,
                "clip_seconds": float(seconds)})
    return cfg


def _render_one(args) -> str:
    from benchmarks.synth.beats import format_beats, render_track
    from benchmarks.synth.render import limit

    track, cfg, audio_path, beats_path = args
    if Path(audio_path).is_file() and Path(beats_path).is_file():
        return audio_path
    x, beat_samples, positions = render_track(track, cfg)
    sr = int(cfg["sample_rate"])
    tmp = Path(audio_path).with_suffix(".tmp.au")
    sf.write(tmp, limit(x, 0.98), sr, format="AU", subtype="PCM_16")
    tmp.replace(audio_path)
    Path(beats_path).write_text(format_beats(beat_samples, positions, sr))
    return audio_path


def render(out: Path, n_tracks: int = 999, seconds: float = 30.0, jobs: int = 2, progress: bool = True) -> Path:
    from tqdm.auto import tqdm

    from benchmarks.synth.beats import plan

    cfg = _config(n_tracks, seconds)
    tracks = plan(cfg)
    beats_dir = out / "gtzan_tempo_beat-main" / "beats"
    beats_dir.mkdir(parents=True, exist_ok=True)
    work = []
    for track, (genre, i) in zip(tracks, _slots(n_tracks)):
        (out / "genres" / genre).mkdir(parents=True, exist_ok=True)
        work.append((track, cfg, str(out / "genres" / genre / f"{genre}.{i:05d}.au"),
                     str(beats_dir / f"gtzan_{genre}_{i:05d}.beats")))
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        for _ in tqdm(pool.map(_render_one, work, chunksize=4), total=len(work), desc="render GTZAN-size set",
                      unit="track", disable=not progress):
            pass
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=None, help="where the set goes (default: <cache>/perf/gtzan-size)")
    ap.add_argument("--tracks", type=int, default=999)
    ap.add_argument("--seconds", type=float, default=30.0)
    ap.add_argument("--jobs", type=int, default=2, help="render processes")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--render-only", action="store_true")
    args = ap.parse_args(argv)
    from benchmarks.cache import default_cache_dir
    from benchmarks.runner import RunOptions, run

    out = Path(args.out) if args.out else default_cache_dir() / "perf" / "gtzan-size"
    t = time.perf_counter()
    render(out, args.tracks, args.seconds, args.jobs)
    print(f"rendered {args.tracks} x {args.seconds:g} s in GTZAN layout at {out} ({time.perf_counter() - t:.0f} s)",
          flush=True)
    if args.render_only:
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        res = run(RunOptions(model="mel", task="beats-gtzan", data_dir=str(out), cache_dir=tmp, results_dir=tmp,
                             device=args.device))
        total = time.perf_counter() - t
    rec = res.records[0]
    info = {"tracks": args.tracks, "total_s": round(total, 1), "extract_s": round(res.extraction_seconds, 1),
            "probe_s": rec["timings"]["probe_s"], "folds": rec["protocol"]["folds"],
            "f_measure": rec["metrics"]["f_measure"], "f_measure_std": rec["metrics_std"].get("f_measure"),
            "schedule": rec["protocol"].get("schedule")}
    print(f"beats-gtzan, mel, {info['folds']} folds: {total / 60:.1f} min end to end (extraction "
          f"{info['extract_s']:.0f} s, probes {info['probe_s']:.0f} s); F-measure {info['f_measure']:.3f} "
          f"± {info['f_measure_std'] or 0:.3f}")
    print(json.dumps(info))
    return 0


if __name__ == "__main__":
    sys.exit(main())
