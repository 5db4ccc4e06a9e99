"""The probe stage of a run (:mod:`benchmarks.runner`, stage 5): every fold's probes trained, their chosen probes
scored on the test tracks, and the per-fold results a record is built from.

- The inputs are read through the layer index (:class:`benchmarks.arrays.LayerArrays`), one fold at a time, on
  demand; layers of one vector size train together.
- The folds of a cross-validation train as more probes of the same fits where their rounds have the same number of
  steps and the memory budget allows (:func:`probes.layers.sweep_folds`; ``joint_folds=False``: one fit per fold).
- As each fit ends, its chosen probes predict their fold's test tracks and the task's decoding starts in a worker
  (:mod:`benchmarks.postprocess`) while the next fit trains.
- The results are collected in fold, layer, seed order, whatever order the fits and workers finished in.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
from tqdm.auto import tqdm

from .arrays import LayerArrays
from .postprocess import PostProcessor

__all__ = ["probe_stage"]


def probe_stage(task, usable, arrays: LayerArrays, folds: Sequence, layers: list[int], *, eps: float, grid: dict,
                seeds: list[int], fit_kwargs: dict, device: str, joint_folds: bool, postprocess_workers: int,
                progress: bool) -> tuple[dict[int, list[dict]], dict[int, list]]:
    """Train and test the probes of every fold and layer. Returns ``(runs, track_runs)``: per layer, one dict per
    fold × seed (``fold``, ``seed``, sizes, ``chosen``, ``val_score``, ``metrics``, ``hyperparameters``, ``sweep``;
    scores in the validation metric's natural orientation) and the per-track test arrays for the sidecar."""
    from probes.grid import grid_points
    from probes.layers import LayerInputs, sweep_folds
    from probes.validation import batched

    runs: dict[int, list[dict]] = {layer: [] for layer in layers}
    n_out = task.n_outputs(usable)
    bar = tqdm(total=len(layers) * len(folds), desc=f"probe sweeps ({len(grid_points(grid))} points x "
                                                    f"{len(seeds)} seed(s))", unit="layer-fold",
               disable=not progress, leave=False)
    track_runs: dict[int, list] = {layer: [] for layer in layers}   # per-track arrays for the sidecar
    pending: list[tuple] = []
    post = PostProcessor(postprocess_workers)
    with post:
        fold_ids, fold_counts, fold_inputs, fold_metrics = [], [], [], []
        for fold in folds:
            part = {"train": fold.train, "valid": fold.valid, "test": fold.test}
            ids = {s: [e.id for e in exs] for s, exs in part.items()}
            counts = {s: arrays.counts(ids[s]) for s in part}
            targets = {s: task.targets(usable, part[s], counts[s], eps) for s in ("train", "valid")}
            metric = task.val_metric(usable, fold.valid, counts["valid"], eps)
            if metric is not None and task.validation.lower_is_better:
                metric = (lambda m: lambda probs: -np.asarray(m(probs)))(metric)
            fold_ids.append(ids)
            fold_counts.append(counts)
            fold_metrics.append(None if metric is None else batched(metric))
            fold_inputs.append((targets, ids))
        submitted: dict[tuple[int, int, int], tuple] = {}
        test_rows: dict[tuple[int, int], object] = {}

        def start_test(f: int, layer: int, seed: int, res) -> None:
            """Score a chosen probe on its fold's test tracks; the decoding runs in a worker (when there are any)
            while the next fit trains (benchmarks.postprocess)."""
            if (f, layer) not in test_rows:
                test_rows[(f, layer)] = task.probe_data(usable, folds[f].test,
                                                        arrays.take(layer, fold_ids[f]["test"]),
                                                        fold_counts[f]["test"], eps)
            submitted[(f, layer, seed)] = (res, post.submit(task, usable, res.best, test_rows[(f, layer)],
                                                            folds[f].test, eps))
            if all((f, layer, s) in submitted for s in seeds):
                del test_rows[(f, layer)]

        for dim, same_width in _by_width(layers, arrays).items():   # layers of one width train together
            inputs = [LayerInputs(layers=same_width, rows=_reader(arrays, ids),
                                  y={s: t[0] for s, t in targets.items()},
                                  segments={s: t[1] for s, t in targets.items()}, dim=dim)
                      for targets, ids in fold_inputs]
            # the folds train as more probes of the same fits where their schedules and the memory budget allow
            sweep_folds(task.kind, inputs, grid=grid, seeds=seeds, n_out=n_out, val_metrics=fold_metrics,
                        device=device, progress=bar.update, joint=joint_folds, on_result=start_test,
                        **fit_kwargs)
        for fold_index, fold in enumerate(folds):   # in fold, layer, seed order, whatever order the fits took
            for layer in layers:
                for seed in seeds:
                    res, future = submitted[(fold_index, layer, seed)]
                    pending.append((layer, fold_index, fold, seed, fold_ids[fold_index]["test"], res, future))
        bar.close()
        natural = task.validation.oriented  # oriented() is its own inverse (a sign flip)
        for layer, fold_index, fold, seed, test_ids, res, future in pending:   # in submission order
            metrics = future.result()
            track_runs[layer].append((fold_index, seed, test_ids, metrics.pop("_tracks", None)))
            runs[layer].append({
                "fold": fold.name, "seed": seed, "n_train": len(fold.train), "n_valid": len(fold.valid),
                "n_test": len(fold.test), "chosen": {**res.chosen, "val_score": natural(res.chosen["val_score"])},
                "val_score": natural(float(res.best.val_score)), "metrics": metrics,
                "hyperparameters": res.best.hparams,
                "sweep": [{**p, "val_score": natural(p["val_score"])} for p in res.points]})
    return runs, track_runs


def _by_width(layers: list[int], arrays) -> dict[int, list[int]]:
    """The layers grouped by vector size, in layer order (an encoder's list output may differ in width per layer;
    one batched fit stacks layers of one width)."""
    groups: dict[int, list[int]] = {}
    for layer in layers:
        groups.setdefault(arrays.dim(layer), []).append(layer)
    return groups


def _reader(arrays: LayerArrays, ids: dict):
    """``rows(layer, split)`` of one fold's examples (``ids[split]``), read through the layer index."""
    return lambda layer, split: arrays.take(layer, ids[split])
