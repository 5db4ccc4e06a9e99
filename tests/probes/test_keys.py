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


def expected_credit(ref: int, est: int) -> float:
    """``mir_eval.key.weighted_score``'s rule written out by class (0-11 major, 12-23 minor, tonic = class % 12):
    1 same key, 0.5 the estimate's tonic a fifth above in the same mode, 0.3 the relative key, 0.2 the parallel."""
    (rt, rm), (et, em) = (ref % 12, ref // 12), (est % 12, est // 12)
    if ref == est:
        return 1.0
    if rm == em and et == (rt + 7) % 12:
        return 0.5
    if rm == 0 and em == 1 and et == (rt + 9) % 12 or rm == 1 and em == 0 and et == (rt + 3) % 12:
        return 0.3
    if rt == et and rm != em:
        return 0.2
    return 0.0


def test_score_table_is_the_weighted_score_rule_for_all_576_pairs():
    expected = np.array([[expected_credit(r, e) for e in range(24)] for r in range(24)])
    np.testing.assert_array_equal(SCORE, expected)
    assert np.bincount((expected * 10).astype(int).ravel(), minlength=11)[[10, 5, 3, 2]].tolist() == [24, 24, 24, 24]


def test_key_metrics_on_predictions_with_known_scores():
    true = np.arange(24)
    assert key_metrics(true, true) == {"weighted_score": 1.0, "accuracy": 1.0, "n_tracks": 24}
    fifth = np.where(true < 12, (true + 7) % 12, 12 + (true + 7) % 12)          # every estimate a fifth above
    assert key_metrics(true, fifth) == {"weighted_score": 0.5, "accuracy": 0.0, "n_tracks": 24}
    parallel = (true + 12) % 24
    assert key_metrics(true, parallel)["weighted_score"] == pytest.approx(0.2, abs=1e-12)
    # half right, a quarter relative, a quarter a fourth away (no credit): (12 * 1 + 6 * 0.3 + 6 * 0) / 24
    relative = np.where(true < 12, 12 + (true + 9) % 12, (true + 3) % 12)
    fourth = np.where(true < 12, (true + 5) % 12, 12 + (true + 5) % 12)
    mixed = np.concatenate([true[:12], relative[12:18], fourth[18:]])
    m = key_metrics(true, mixed)
    assert m["weighted_score"] == pytest.approx(13.8 / 24, abs=1e-12) and m["accuracy"] == 0.5
    with pytest.raises(ValueError, match="as many predictions"):
        key_metrics(true, true[:3])
