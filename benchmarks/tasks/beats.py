"""Beat tracking (``beats``, ``beats-gtzan``, ``beats-ballroom``, ``synth-beats``): frame-wise probe on embeddings at
the model's rate, activations interpolated to 100 fps, madmom's DBN beat tracker, ``mir_eval.beat`` metrics.

Targets: beat frames (and downbeat frames when every track gives bar positions), widened by ±1 frame at half weight.
Without a dataset split: 8-fold cross-validation by track (fold f is the test set, fold f+1 the validation set, the
rest train), reported as mean ± std over folds. Early stopping and the sweep use the validation tracks' mean
F-measure of *peak-picked* beats with a relative height (peaks above the middle of each track's activation range,
:class:`probes.beat_tracking.PeakFMeasure` with ``relative=True``, all probes at once); test beats come
from the DBN (``DBNBeatTrackingProcessor(fps=100, min_bpm=55, max_bpm=215, transition_lambda=100)``), with plain peak
picking also reported (``peak_*``). Downbeats (when annotated) are scored by peak picking on their channel.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from benchmarks.datasets import load_beat_dataset
from benchmarks.extract import Frontend
from probes.beat_tracking import PeakFMeasure, beat_targets, dbn_beats, interpolate_activation, peak_pick_beats
from probes.metrics import beat_metrics, downbeat_metrics

from probes.kinds import FRAMEWISE

from .base import FrameTask, Metric, Prepared, row_segments

DBN = {"fps": 100, "min_bpm": 55, "max_bpm": 215, "transition_lambda": 100}
LAYOUTS = {
    "generic": "audio/<id>.<wav|mp3|flac|au> + annotations/<id>.beats (optional splits.tsv: <id>\\t<train|valid|test>)",
    "gtzan": "GTZAN audio (genres/<genre>/<genre>.<nnnnn>.au|wav) + GTZAN-rhythm annotations "
             "(gtzan_<genre>_<nnnnn>.beats)",
    "ballroom": "BallroomData/<Genre>/<name>.wav + BallroomAnnotations/<name>.beats",
}


@dataclass(frozen=True)
class BeatTask(FrameTask):
    dataset_layout: str = "auto"

    def load(self, data_dir: Path, **_) -> Prepared:
        index = load_beat_dataset(data_dir, layout="generic" if self.synth_set else self.dataset_layout)
        # one target layout for every split: a downbeat channel only when every track gives bar positions
        downbeats = bool(index.examples) and all(e.target.positions is not None for e in index.examples)
        return Prepared(self, index, options={"targets": "beat + downbeat" if downbeats else "beat"},
                        flags={"downbeats": downbeats})

    def n_outputs(self, prep) -> int:
        return 2 if prep.flags["downbeats"] else 1

    def frame_targets(self, prep, example, n_frames, eps):
        cols = [beat_targets(example.target.times, n_frames, eps)]
        if prep.flags["downbeats"]:
            cols.append(beat_targets(example.target.downbeats, n_frames, eps))
        return np.stack(cols, axis=1)

    def val_metric(self, prep, examples, counts, eps):
        # relative height: a fixed 0.5 favours barely trained probes, whose outputs hover at 0.5, over trained ones
        # whose beat peaks (sparse targets) stay below it; the DBN used at test time is nearly scale-invariant
        return PeakFMeasure(row_segments(counts), eps, [ex.target.times for ex in examples], relative=True)

    def decode(self, prep, acts, y, examples, eps) -> dict:
        refs = [ex.target.times for ex in examples]
        dbn, peaks, down_est = [], [], []
        for a in acts:
            beat = interpolate_activation(a[:, 0], eps, 100.0)
            dbn.append(dbn_beats(beat, **DBN))
            peaks.append(peak_pick_beats(beat))
            if a.shape[1] > 1:
                down_est.append(peak_pick_beats(interpolate_activation(a[:, 1], eps, 100.0),
                                                min_interval_s=2 * 60.0 / DBN["max_bpm"]))
        out = beat_metrics(refs, dbn, per_track=True)
        peak = beat_metrics(refs, peaks, per_track=True)
        out.update({f"peak_{k}": v for k, v in peak.items() if k in ("f_measure", "cmlt", "amlt", "f_measure_pooled")})
        out["_tracks"] = {**_track_arrays(out.pop("per_track")),
                          **{k.replace(".", ".peak_", 1): v for k, v in _track_arrays(peak["per_track"]).items()
                             if k.partition(".")[2] in ("f_measure", "cmlt", "amlt", "f_measure_pooled")}}
        if down_est:
            out["downbeat_f_measure"] = downbeat_metrics([ex.target.downbeats for ex in examples],
                                                         down_est)["f_measure"]
        return out

    def protocol(self, prep) -> dict:
        return {**super().protocol(prep),
                "post_processing": {"dbn": DBN, "peak_picking": "find_peaks(height=0.5, distance=0.279 s)",
                                    "validation_peak_picking": "find_peaks(height=min + 0.5 (max - min) of the "
                                                               "track, distance=0.279 s)"}}


def _track_arrays(per_track: dict) -> dict:
    """The sidecar arrays of :func:`probes.metrics.beat_metrics`' per-track values (:mod:`benchmarks.tasks.base`):
    the mean-over-tracks scores, and the pooled F as ``2 Σ hits / (Σ n_est + Σ n_ref)`` (= 2PR / (P + R))."""
    out = {f"mean.{k}": v for k, v in per_track.items() if k not in ("hits", "n_estimates", "n_references")}
    out["num.f_measure_pooled"] = 2 * per_track["hits"]
    out["den.f_measure_pooled"] = per_track["n_estimates"] + per_track["n_references"]
    return out


def beat_task(name: str, layout: str = "auto", synth_set: str | None = None, data_subdir: str = "beats") -> BeatTask:
    what = "beat tracking" if synth_set is None else "synthesised beat set (music21 pieces + drum grooves)"
    return BeatTask(name=name, description=f"{what}: frame probe → DBN → mir_eval F-measure (70 ms); 8-fold CV "
                                           "without a split",
                    layout=LAYOUTS["generic"] if layout in ("auto", "generic") else LAYOUTS[layout],
                    data_subdir=data_subdir, frontend=Frontend("frame"), kind=FRAMEWISE,
                    primary=Metric("f_measure", "F"), validation=Metric("relative_peak_f_measure", "rel. peak F"),
                    synth_set=synth_set, shown=("f_measure_pooled", "peak_f_measure"), dataset_layout=layout)


TASKS = [beat_task("beats"), beat_task("beats-gtzan", layout="gtzan", data_subdir="gtzan"),
         beat_task("beats-ballroom", layout="ballroom", data_subdir="ballroom"),
         beat_task("synth-beats", synth_set="beats")]
