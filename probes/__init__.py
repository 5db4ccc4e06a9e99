"""Probes: heads trained on cached frozen embeddings, the hyperparameter sweep, beat post-processing and metrics.

- :mod:`probes.data` — ``ProbeData`` (one split), track-level aggregation, train-split standardisation.
- :mod:`probes.heads` — linear / one-hidden-layer MLP heads as a LightningModule.
- :mod:`probes.training` — ``fit_probe`` (Lightning Trainer, early stopping on the validation metric, best epoch
  restored) and ``sweep`` over ``GRID``.
- :mod:`probes.metrics` — tagging, classification, pitch and beat metrics (scikit-learn / mir_eval).
- :mod:`probes.beat_tracking` — frame-time convention, beat targets, interpolation to 100 fps, DBN / peak picking.

Importing this package does not import Lightning; import :mod:`probes.training` for the training API.
"""
from .data import KINDS, ProbeData, aggregate_by_group, track_targets

__all__ = ["KINDS", "ProbeData", "aggregate_by_group", "track_targets"]
