"""Probes: heads trained on cached frozen embeddings, the hyperparameter sweep, beat post-processing and metrics.

- :mod:`probes.data` — ``ProbeData`` (one split), track-level aggregation, train-split standardisation.
- :mod:`probes.kinds` — one object per probe kind (multilabel, multiclass, regression, ordinal, framewise,
  framewise-multiclass): loss, activation, target checks, track aggregation, default validation metric, schedule.
- :mod:`probes.spec` — a probe's specification, a split's tensors, a probe's outcome.
- :mod:`probes.bank` — the linear / one-hidden-layer MLP heads, stacked in banks, and their dropout draws.
- :mod:`probes.optim` — ``ProbeAdamW``: AdamW with one learning rate per probe.
- :mod:`probes.flops` — the FLOPs and memory of a fit.
- :mod:`probes.engine` — the batched engine (many probes in one Lightning ``Trainer.fit``).
- :mod:`probes.grid` — the probe grid and the loop's defaults; :mod:`probes.validation` — the two forms of validation metric.
- :mod:`probes.training` — ``fit_probe``, ``sweep`` and ``sweep_many`` on the engine; :mod:`probes.fitted` — the fitted
  probe and a sweep's result; :mod:`probes.layers` — ``sweep_layers``, many layers in bounded memory.
- :mod:`probes.metrics` — tagging, classification, pitch and beat metrics (scikit-learn / mir_eval).
- :mod:`probes.beat_tracking` — frame-time convention, beat targets, interpolation to 100 fps, DBN / peak picking.

Importing this package does not import Lightning; import :mod:`probes.training` for the training API.
"""
from .data import ProbeData, aggregate_by_group

__all__ = ["KINDS", "ProbeData", "aggregate_by_group"]


def __getattr__(name):
    if name == "KINDS":  # the kind registry (imports torch, so only on use)
        from .kinds import KINDS

        return KINDS
    raise AttributeError(name)
