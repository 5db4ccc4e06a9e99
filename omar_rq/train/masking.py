"""Span masking on a fixed grid, as the OMAR-RQ pretraining objective does it (spec §7).

The token sequence is cut into consecutive, non-overlapping windows of ``W`` tokens (the last one may be shorter);
each window is masked as a whole, independently, with probability ``mask_prob`` — so the expected masked fraction is
``mask_prob``. ``W = ceil(mask_seconds * sr / hop) // pt * (F // pf)`` for the input view (waveform: hop 1).
"""
from __future__ import annotations

import math

import torch

__all__ = ["mask_window_tokens", "span_mask", "apply_mask", "NOISE_TYPES"]

NOISE_TYPES = ("random_normal", "shuffled_input")


def mask_window_tokens(mask_seconds: float, sr: int, hop: int, patch_size: tuple[int, int], n_features: int) -> int:
    """Tokens per masking window: ``ceil(mask_seconds * sr / hop) // pt * (F // pf)`` (at least 1)."""
    span_frames = math.ceil(mask_seconds * sr / hop)
    pf, pt = patch_size
    return max(1, (span_frames // pt) * (n_features // pf))


def span_mask(batch: int, n_tokens: int, window: int, prob: float, generator: torch.Generator | None = None,
              device: torch.device | str = "cpu") -> torch.Tensor:
    """Boolean mask ``(batch, n_tokens)``: the sequence is cut into consecutive windows of ``window`` tokens (the
    last may be shorter) and each window is masked as a whole, independently, with probability ``prob``.

    Random numbers are drawn on the CPU (from ``generator`` when given, so a seeded generator gives the same mask on
    any device) and the mask is moved to ``device``.
    """
    if window < 1:
        raise ValueError(f"mask window must be at least 1 token, got {window}")
    if not 0.0 <= prob <= 1.0:
        raise ValueError(f"mask probability must lie in [0, 1], got {prob}")
    n_windows = math.ceil(n_tokens / window)
    chosen = torch.rand(batch, n_windows, generator=generator) < prob
    return chosen.repeat_interleave(window, dim=1)[:, :n_tokens].to(device)


def apply_mask(patches: torch.Tensor, mask: torch.Tensor, noise_type: str = "random_normal",
               generator: torch.Generator | None = None) -> torch.Tensor:
    """Replace masked patch vectors ``(B, N, D)`` by N(0, 0.1²) noise (``"random_normal"``) or by the patch at a random
    permutation of positions of the same clip (``"shuffled_input"``); unmasked patches are returned unchanged.

    With a ``generator`` the random numbers come from it on the CPU (reproducible); without, they are drawn directly
    on the patches' device.
    """
    if noise_type not in NOISE_TYPES:
        raise ValueError(f"masking_noise_type must be 'random_normal' or 'shuffled_input', got {noise_type!r}")
    rng_device = patches.device if generator is None else torch.device("cpu")
    if noise_type == "random_normal":
        noise = torch.randn(patches.shape, generator=generator, device=rng_device).to(patches) * 0.1
    else:
        b, n = patches.shape[:2]
        perm = torch.argsort(torch.rand(b, n, generator=generator, device=rng_device), dim=1).to(patches.device)
        noise = torch.gather(patches, 1, perm[..., None].expand_as(patches))
    return torch.where(mask[..., None].to(patches.device), noise, patches)
