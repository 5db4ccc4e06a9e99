"""Key scores (probes.keys): the 24-key vocabulary and mir_eval.key weighted scores, per track and batched."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from probes.keys import NAMES, SCORE, BatchedKeyScore, key_index, key_metrics


def test_key_scores_follow_mir_eval():
    assert key_index("Eb minor") == 15 and key_index("d# minor") == 15 and NAMES[key_index("C major")] == "C major"
    # a fifth above scores 0.5, below 0; relative 0.3; parallel 0.2
    c = key_index("C major")
    assert SCORE[c, key_index("G major")] == 0.5 and SCORE[c, key_index("F major")] == 0.0
    assert SCORE[c, key_index("A minor")] == 0.3 and SCORE[c, key_index("C minor")] == 0.2
    m = key_metrics([c, c, c], [c, key_index("G major"), key_index("A minor")])
    assert m["weighted_score"] == pytest.approx((1 + 0.5 + 0.3) / 3) and m["accuracy"] == pytest.approx(1 / 3)
    probs = torch.zeros(1, 3, 24)
    probs[0, 0, c], probs[0, 1, key_index("G major")], probs[0, 2, key_index("A minor")] = 1, 1, 1
    assert BatchedKeyScore(np.arange(4), [c, c, c])(probs)[0] == pytest.approx(m["weighted_score"])
