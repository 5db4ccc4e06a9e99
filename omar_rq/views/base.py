"""What every input view shares: sample rate, hop, patch size and the z-normalisation rule."""
from __future__ import annotations

import torch
from torch import nn


def z_normalise(x: torch.Tensor, mean: float | None, std: float | None) -> torch.Tensor:
    """``(x - mean) / std`` when both are given; ``None`` disables it, while 0 is a valid mean (released 25 Hz configs)."""
    if mean is None or std is None:
        return x
    return (x - mean) / std


class View(nn.Module):
    """Base class of the input views.

    Attributes every view sets: ``sr`` (Hz, the audio rate it expects), ``hop`` (audio samples per feature frame),
    ``n_features`` (F) and ``patch_size`` ``(pf, pt)`` (the token shape; see :mod:`omar_rq.patching`).
    """

    sr: int
    hop: int
    n_features: int
    patch_size: tuple[int, int]

    def n_frames(self, n_samples: int) -> int:
        """Number of feature frames the view returns for ``n_samples`` audio samples."""
        raise NotImplementedError

    def n_tokens(self, n_samples: int) -> int:
        """Number of tokens (time patches) the encoder sees for ``n_samples`` audio samples."""
        return self.n_frames(n_samples) // self.patch_size[1]

    @property
    def samples_per_token(self) -> int:
        return self.hop * self.patch_size[1]

    @property
    def eps(self) -> float:
        """Embeddings per second: ``sr / (hop * patch_time)``."""
        return self.sr / (self.hop * self.patch_size[1])
