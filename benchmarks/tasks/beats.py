"""Beat tracking (``beats``, ``beats-gtzan``, ``beats-ballroom``): frame-wise probe on embeddings at the model's rate,
activations interpolated to 100 fps, madmom's DBN beat tracker, ``mir_eval.beat`` metrics.

Targets: beat frames (and downbeat frames when the annotations give bar positions), widened by ±1 frame at half
weight. Without a dataset split: 8-fold cross-validation by track (fold f is the test set, fold f+1 the validation
set, the rest train), reported as mean ± std over folds. Early stopping and the sweep use the validation tracks'
mean F-measure of *peak-picked* beats (cheap enough to run every epoch); test beats come from the DBN
(``DBNBeatTrackingProcessor(fps=100, min_bpm=55, max_bpm=215, transition_lambda=100)``), with plain peak picking also
reported (``peak_*``). Downbeats (when annotated) are scored by peak picking on their channel (``downbeat_f_measure``).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from benchmarks.datasets import kfold_assignments, load_beat_dataset
from benchmarks.extract import Frontend
from probes.beat_tracking import beat_targets, dbn_beats, interpolate_activation, peak_pick_beats
from probes.data import ProbeData
from probes.metrics import beat_f_measure, beat_metrics, downbeat_metrics

from .base import Fold, Task

DBN = {"fps": 100, "min_bpm": 55, "max_bpm": 215, "transition_lambda": 100}
K_FOLDS = 8
LAYOUTS = {
    "generic": "audio/<id>.<wav|mp3|flac|au> + annotations/<id>.beats (optional splits.tsv: <id>\\t<train|valid|test>)",
    "gtzan": "GTZAN audio (genres/<genre>/<genre>.<nnnnn>.au|wav) + GTZAN-rhythm annotations (gtzan_<genre>_<nnnnn>.beats)",
    "ballroom": "BallroomData/<Genre>/<name>.wav + BallroomAnnotations/<name>.beats",
}


class BeatTask(Task):
    def __init__(self, name: str = "beats", layout: str = "auto", synth_set: str | None = None,
                 data_subdir: str = "beats"):
        self.dataset_layout = layout
        help_ = LAYOUTS["generic"] if layout in ("auto", "generic") else LAYOUTS[layout]
        super().__init__(
            name=name, kind="framewise", frontend=Frontend("frame"),
            description=("beat tracking" if synth_set is None else "synthesised beat set (music21 pieces + drum "
                         "grooves)") + ": frame probe → DBN → mir_eval F-measure (70 ms); 8-fold CV without a split",
            validation_metric="peak_f_measure", primary_metric="f_measure", data_subdir=data_subdir, layout=help_,
            synth_set=synth_set, options={"post_processing": {"dbn": DBN, "peak_picking": "threshold 0.5"}})

    def load(self, data_dir: Path, **_):
        index = load_beat_dataset(data_dir, layout="generic" if self.synth_set else self.dataset_layout)
        # one target layout for every split: a downbeat channel only when every track gives bar positions
        self.downbeats = all(e.target.positions is not None for e in index.examples)
        self.options["targets"] = "beat + downbeat" if self.downbeats else "beat"
        return index

    def folds(self, index, seed: int = 0) -> list[Fold]:
        if index.split_name == "given":
            return super().folds(index, seed)
        k = min(K_FOLDS, len(index.examples))
        if k < 3:
            raise ValueError(f"{index.name} at {index.root}: {len(index.examples)} tracks are too few for "
                             "cross-validation (need at least 3)")
        fold_of = kfold_assignments([e.id for e in index.examples], k=k, seed=seed)
        self.options["cross_validation"] = {"k": k, "seed": seed, "valid_fold": "f + 1 (mod k)"}
        folds = []
        for f in range(k):
            test = [e for e in index.examples if fold_of[e.id] == f]
            valid = [e for e in index.examples if fold_of[e.id] == (f + 1) % k]
            train = [e for e in index.examples if fold_of[e.id] not in (f, (f + 1) % k)]
            if not (train and valid and test):
                raise ValueError(f"{index.name} at {index.root}: fold {f} of the {k}-fold cross-validation has an "
                                 "empty train, valid or test part; the dataset is too small")
            folds.append(Fold(f"fold{f}", train, valid, test))
        return folds

    def build(self, examples, extraction, layer, encoder) -> ProbeData:
        xs, ys = [], []
        for ex in examples:
            x = extraction.read(ex.id, layer)  # (N, C) at encoder.eps
            cols = [beat_targets(ex.target.times, len(x), encoder.eps)]
            if self.downbeats:
                cols.append(beat_targets(ex.target.downbeats, len(x), encoder.eps))
            xs.append(x.astype(np.float32))
            ys.append(np.stack(cols, axis=1))
        return ProbeData(xs, ys, None)

    def val_metric(self, examples, encoder):
        refs = [ex.target.times for ex in examples]

        def peak_f(_targets, activations) -> float:
            ests = [peak_pick_beats(interpolate_activation(a[:, 0], encoder.eps, 100.0)) for a in activations]
            return beat_f_measure(refs, ests)

        return peak_f

    def evaluate(self, fitted, data, examples, encoder, index) -> dict:
        acts = fitted.predict(data)
        refs = [ex.target.times for ex in examples]
        dbn, peaks, down_est = [], [], []
        for a in acts:
            beat = interpolate_activation(a[:, 0], encoder.eps, 100.0)
            dbn.append(dbn_beats(beat, **DBN))
            peaks.append(peak_pick_beats(beat))
            if a.shape[1] > 1:
                down_est.append(peak_pick_beats(interpolate_activation(a[:, 1], encoder.eps, 100.0),
                                                min_interval_s=2 * 60.0 / DBN["max_bpm"]))
        out = beat_metrics(refs, dbn)
        out.update({f"peak_{k}": v for k, v in beat_metrics(refs, peaks).items()
                    if k in ("f_measure", "cmlt", "amlt", "f_measure_pooled")})
        if down_est:
            d = downbeat_metrics([ex.target.downbeats for ex in examples], down_est)
            out["downbeat_f_measure"] = d["f_measure"]
        return out
