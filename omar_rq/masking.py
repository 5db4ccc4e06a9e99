"""Span masking on a fixed grid, as the OMAR-RQ pretraining objective does it."""
from __future__ import annotations

import math

import torch


def mask_window_tokens(mask_seconds: float, sr: int, hop: int, patch_size: tuple[int, int], n_features: int) -> int:
    """Tokens per masking window: ``ceil(mask_seconds * sr / hop) // pt * (F // pf)`` (at least 1)."""
    span_frames = math.ceil(mask_seconds * sr / hop)
    pf, pt = patch_size
    return max(1, (span_frames // pt) * (n_features // pf))


def span_mask(batch: int, n_tokens: int, window: int, prob: float, generator: torch.Generator | None = None,
              device: torch.device | str = "cpu") -> torch.Tensor:
    """Boolean mask ``(batch, n_tokens)``: the sequence is cut into consecutive windows of ``window`` tokens (the
    last may be shorter) and each window is masked as a whole, independently, with probability ``prob``."""
    n_windows = math.ceil(n_tokens / window)
    chosen = torch.rand(batch, n_windows, generator=generator) < prob
    return chosen.repeat_interleave(window, dim=1)[:, :n_tokens].to(device)


def apply_mask(patches: torch.Tensor, mask: torch.Tensor, noise_type: str = "random_normal",
               generator: torch.Generator | None = None) -> torch.Tensor:
    """Replace masked patch vectors by N(0, 0.1²) noise (``"random_normal"``) or by the patch at a random permutation
    of positions of the same clip (``"shuffled_input"``)."""
    if noise_type == "random_normal":
        noise = torch.randn(patches.shape, generator=generator).to(patches) * 0.1
    elif noise_type == "shuffled_input":
        b, n = patches.shape[:2]
        perm = torch.argsort(torch.rand(b, n, generator=generator), dim=1).to(patches.device)
        noise = torch.gather(patches, 1, perm[..., None].expand_as(patches))
    else:
        raise ValueError(f"masking_noise_type must be 'random_normal' or 'shuffled_input', got {noise_type!r}")
    return torch.where(mask[..., None], noise, patches)
