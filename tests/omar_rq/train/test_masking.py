"""Span masking for pretraining (omar_rq.train.masking): the mask window of the spec's formula, mask statistics,
reproducibility with a generator, and which patches a mask replaces."""
from __future__ import annotations

import math

import pytest
import torch

from omar_rq.train.masking import apply_mask, mask_window_tokens, span_mask


# -- masking ---------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("args, expected", [
    ((0.4, 16000, 256, (96, 4), 96), 6),     # mel 16 kHz: ceil(25) frames // 4
    ((0.4, 24000, 1, (1, 960), 1), 10),      # waveform 24 kHz, patch 960: 9600 samples // 960
    ((0.4, 24000, 1, (1, 1280), 1), 7),      # waveform patch 1280: 9600 // 1280
    ((0.4, 24000, 320, (128, 4), 128), 7),   # EnCodec 75 Hz: ceil(30) // 4
    ((0.4, 24000, 320, (96, 3), 96), 10),    # 25 Hz mel
    ((0.4, 16000, 256, (48, 4), 96), 12),    # two frequency patches per time step: W doubles
    ((0.01, 16000, 256, (96, 4), 96), 1),    # shorter than a patch: at least one token
])
def test_mask_window_follows_the_spec_formula(args, expected):
    assert mask_window_tokens(*args) == expected


@pytest.mark.parametrize("prob, window, n_tokens", [(0.6, 6, 62), (0.3, 10, 75), (0.6, 7, 7), (0.9, 4, 41)])
def test_span_mask_statistics_match_probability_and_windows(prob, window, n_tokens):
    gen = torch.Generator().manual_seed(0)
    mask = span_mask(4000, n_tokens, window, prob, gen)
    assert mask.shape == (4000, n_tokens) and mask.dtype == torch.bool
    n_windows = math.ceil(n_tokens / window)
    windows = [mask[:, w * window:(w + 1) * window] for w in range(n_windows)]
    for w in windows:  # every window (the last one possibly shorter) is masked as a whole
        assert bool(((w == w[:, :1]).all()))
    chosen = torch.stack([w[:, 0] for w in windows], dim=1).float()
    # each window is masked independently with probability prob: mean over 4000 x n_windows draws
    assert abs(chosen.mean().item() - prob) < 4 * math.sqrt(prob * (1 - prob) / chosen.numel()) + 1e-3
    assert chosen.mean(dim=0).sub(prob).abs().max().item() < 0.04  # every window position alike
    corr = torch.corrcoef(chosen.T)[0, 1:] if n_windows > 1 else torch.zeros(1)
    assert corr.abs().max().item() < 5 / math.sqrt(4000)  # windows independent (5 sigma)
    if n_tokens % window == 0:
        assert abs(mask.float().mean().item() - prob) < 0.02  # expected masked fraction = prob


def test_span_mask_is_reproducible_with_a_generator():
    a = span_mask(3, 50, 6, 0.6, torch.Generator().manual_seed(7))
    b = span_mask(3, 50, 6, 0.6, torch.Generator().manual_seed(7))
    assert torch.equal(a, b)
    with pytest.raises(ValueError):
        span_mask(1, 10, 0, 0.5)


def test_apply_mask_replaces_only_masked_patches():
    torch.manual_seed(0)
    patches = torch.randn(4, 30, 384) + 5.0
    mask = span_mask(4, 30, 6, 0.5, torch.Generator().manual_seed(1))
    out = apply_mask(patches, mask, "random_normal", torch.Generator().manual_seed(2))
    assert torch.equal(out[~mask], patches[~mask])
    noise = out[mask]
    assert abs(noise.mean().item()) < 0.01 and abs(noise.std().item() - 0.1) < 0.005  # N(0, 0.1^2)
    out = apply_mask(patches, mask, "shuffled_input", torch.Generator().manual_seed(2))
    assert torch.equal(out[~mask], patches[~mask])
    for b in range(4):  # a masked position holds a patch of the same clip
        for n in torch.nonzero(mask[b]).flatten().tolist():
            assert (out[b, n] == patches[b]).all(dim=1).any()
    with pytest.raises(ValueError):
        apply_mask(patches, mask, "zeros")
