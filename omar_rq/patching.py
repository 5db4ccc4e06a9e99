"""Tokenisation: cut a feature map into non-overlapping patches and flatten them, as the released models do."""
from __future__ import annotations

import torch


def patchify(x: torch.Tensor, patch_size: tuple[int, int]) -> torch.Tensor:
    """``(B, F, frames)`` → ``(B, N, pf * pt)``.

    Drops the time remainder; patches are ordered frequency-patch-major then time, and each patch is flattened
    row-major over ``(pf, pt)`` (frequency is the slow index). Raises when F is not a multiple of ``pf``.
    """
    if x.dim() != 3:
        raise ValueError(f"patchify expects (B, F, frames), got shape {tuple(x.shape)}")
    b, f, t = x.shape
    pf, pt = patch_size
    if f % pf != 0:
        raise ValueError(f"feature axis F={f} is not a multiple of the patch height {pf} (patch size {patch_size})")
    nt = t // pt
    x = x[:, :, : nt * pt].reshape(b, f // pf, pf, nt, pt)
    return x.permute(0, 1, 3, 2, 4).reshape(b, (f // pf) * nt, pf * pt)


def unpatchify_length(n_tokens: int, n_freq_patches: int) -> int:
    """Number of time patches in a token sequence of ``n_tokens`` with ``n_freq_patches`` frequency patches."""
    return n_tokens // n_freq_patches
