"""The raw waveform as a one-feature view (F = 1, hop 1), as the multifeature models take it."""
from __future__ import annotations

import torch

from .base import View, z_normalise


class Waveform(View):
    """``(B, T)`` → ``(B, 1, T)``, z-normalised when ``norm_mean`` and ``norm_std`` are both given."""

    def __init__(self, sr: int = 24000, norm_mean: float | None = None, norm_std: float | None = None,
                 patch_size: tuple[int, int] = (1, 960)):
        super().__init__()
        self.sr = int(sr)
        self.norm_mean, self.norm_std = norm_mean, norm_std
        self.hop = 1
        self.n_features = 1
        self.patch_size = tuple(int(p) for p in patch_size)

    def n_frames(self, n_samples: int) -> int:
        return int(n_samples)

    def forward(self, audio: torch.Tensor) -> torch.Tensor:
        return z_normalise(audio[:, None, :], self.norm_mean, self.norm_std)
