"""Ordinal difficulty grades (probes.ordinal): cumulative targets, their decoding, macro MSE and balanced accuracy."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from probes.ordinal import BatchedMacroMSE, decode, difficulty_metrics, mse_macro, ordinal_targets


def test_ordinal_targets_decoding_and_metrics():
    assert ordinal_targets(0).tolist() == [0] * 10 and ordinal_targets(3).tolist() == [1, 1, 1] + [0] * 7
    assert decode(np.array([[0.9, 0.8, 0.2, 0.9] + [0.0] * 6])) == 2  # a lone later "yes" does not count
    true, pred = np.array([0, 0, 5, 10]), np.array([1, 0, 5, 7])
    assert mse_macro(true, pred) == pytest.approx(np.mean([0.5, 0.0, 9.0]))
    m = difficulty_metrics(true, pred)
    assert m["mse_macro"] == pytest.approx(3.1666666) and m["balanced_accuracy"] == pytest.approx((0.5 + 1 + 0) / 3)
    probs = torch.tensor(np.stack([np.stack([ordinal_targets(g) for g in pred])] * 2)).float()
    assert BatchedMacroMSE(np.arange(5), true)(probs).tolist() == pytest.approx([m["mse_macro"]] * 2)
