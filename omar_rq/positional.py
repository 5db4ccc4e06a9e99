"""Position information of the encoders: rotary embedding (every released model) and fixed sinusoids (early ones)."""
from __future__ import annotations

import torch
from torch import nn


class RotaryEmbedding(nn.Module):
    """Interleaved rotary position embedding over all ``head_dim`` features.

    ``freqs = 1 / 10000 ** (arange(0, head_dim, 2) / head_dim)`` is a non-trainable *parameter* (saved in the state
    dict as ``rotary_emb.freqs``). Token n (0-based) rotates feature pair (2j, 2j+1) by ``n * freqs[j]``.
    """

    def __init__(self, head_dim: int):
        super().__init__()
        freqs = 1.0 / (10000 ** (torch.arange(0, head_dim, 2).float() / head_dim))
        self.freqs = nn.Parameter(freqs, requires_grad=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Rotate ``x`` of shape ``(..., N, head_dim)``."""
        n = x.shape[-2]
        angles = torch.arange(n, device=x.device, dtype=self.freqs.dtype)[:, None] * self.freqs[None, :]
        angles = angles.repeat_interleave(2, dim=-1).to(x.dtype)  # (N, head_dim), pairs interleaved
        x_pairs = x.reshape(*x.shape[:-1], -1, 2)
        rotated_half = torch.stack((-x_pairs[..., 1], x_pairs[..., 0]), dim=-1).reshape(x.shape)
        return x * angles.cos() + rotated_half * angles.sin()


class SinusoidalEncoding(nn.Module):
    """Fixed sinusoidal table ``encodings`` (max_len, dim): sin on even, cos on odd features (saved buffer)."""

    def __init__(self, dim: int, max_len: int = 10000):
        super().__init__()
        pos = torch.arange(max_len, dtype=torch.float32)[:, None]
        inv = 10000 ** (-torch.arange(0, dim, 2, dtype=torch.float32) / dim)
        enc = torch.zeros(max_len, dim)
        enc[:, 0::2] = torch.sin(pos * inv)
        enc[:, 1::2] = torch.cos(pos * inv[: dim // 2])
        self.register_buffer("encodings", enc)

    def forward(self, n: int) -> torch.Tensor:
        if n > self.encodings.shape[0]:
            raise ValueError(f"sequence of {n} tokens is longer than the positional table ({self.encodings.shape[0]})")
        return self.encodings[:n]
