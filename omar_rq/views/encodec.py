"""EnCodec latents as an input view: the continuous output of the ``transformers`` EnCodec encoder (75 Hz at 24 kHz).

Optional: needs ``transformers`` (``pip install 'omar-bench[encodec]'``) and the EnCodec 24 kHz weights in a local
folder (``EncodecModel.from_pretrained`` format). The weights are frozen and are not part of an OMAR-RQ checkpoint.
"""
from __future__ import annotations

import json
import math
from pathlib import Path

import torch

from ..resample import resample
from .base import View
from ..errors import UserError

#: Global statistics used by upstream when no stats file is given.
DEFAULT_MEAN, DEFAULT_STD = -0.5577428463574771, 5.863781862801963


class EncodecWeightsNotFound(UserError, FileNotFoundError):
    pass


class EnCodec(View):
    """``(B, T)`` at ``orig_sr`` → ``(B, 128, frames)`` normalised EnCodec encoder latents.

    ``norm_type="global"``: ``(x - mean) / std`` from the JSON at ``stats_path`` (keys ``mean``, ``std``), else the
    upstream defaults; ``"dimensionwise"``: per-channel ``mean_dims`` / ``std_dims``.
    """

    def __init__(self, weights_path: str | None = None, norm_type: str = "global", stats_path: str | None = None,
                 orig_sr: int = 24000, patch_size: tuple[int, int] = (128, 5)):
        super().__init__()
        self.weights_path = weights_path
        if weights_path is None or not Path(weights_path).is_dir():
            raise EncodecWeightsNotFound(
                f"EnCodec weights folder not found: {weights_path!r}. The EnCodec view needs the 24 kHz EnCodec "
                "weights saved in the transformers format (config.json + model.safetensors, e.g. a local copy of "
                "facebook/encodec_24khz); pass get_model(..., encodec_weights_path=DIR) or fix "
                "nets.encodec.EnCodec.weights_path (relative paths resolve against the config file's folder).")
        try:
            from transformers import EncodecModel
        except ImportError as e:  # pragma: no cover - depends on the install
            raise ImportError("the EnCodec view needs `transformers`: pip install 'omar-bench[encodec]'") from e
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()  # no loading bar: the weights are small and local
        model = EncodecModel.from_pretrained(str(weights_path), torch_dtype=torch.float32)
        model.eval().requires_grad_(False)
        self.encoder = model.encoder
        self.model_sr = int(model.config.sampling_rate)
        self.sr = int(orig_sr)
        self.hop = int(math.prod(model.config.upsampling_ratios))
        self.n_features = int(model.config.hidden_size)
        self.patch_size = tuple(int(p) for p in patch_size)
        self.norm_type = norm_type
        mean, std = self._load_stats(norm_type, stats_path)
        self.register_buffer("mean", mean, persistent=False)
        self.register_buffer("std", std, persistent=False)

    def _load_stats(self, norm_type: str, stats_path: str | None) -> tuple[torch.Tensor, torch.Tensor]:
        stats = None
        if stats_path is not None:
            p = Path(stats_path)
            if not p.is_file():
                raise FileNotFoundError(f"EnCodec stats file not found: {stats_path}")
            stats = json.loads(p.read_text())
        if norm_type == "global":
            if stats is None:
                return torch.tensor(DEFAULT_MEAN), torch.tensor(DEFAULT_STD)
            return torch.tensor(float(stats["mean"])), torch.tensor(float(stats["std"]))
        if norm_type == "dimensionwise":
            if stats is None:
                raise ValueError("EnCodec norm_type='dimensionwise' needs stats_path with mean_dims / std_dims")
            return (torch.tensor(stats["mean_dims"], dtype=torch.float32)[:, None],
                    torch.tensor(stats["std_dims"], dtype=torch.float32)[:, None])
        raise ValueError(f"EnCodec norm_type must be 'global' or 'dimensionwise', got {norm_type!r}")

    def n_frames(self, n_samples: int) -> int:
        n = math.ceil(int(n_samples) * self.model_sr / self.sr) if self.sr != self.model_sr else int(n_samples)
        return math.ceil(n / self.hop)

    @property
    def eps(self) -> float:
        return self.model_sr / (self.hop * self.patch_size[1])

    @property
    def samples_per_token(self) -> int:
        return self.hop * self.patch_size[1] * self.sr // self.model_sr

    def forward(self, audio: torch.Tensor) -> torch.Tensor:
        if self.sr != self.model_sr:
            audio = resample(audio, self.sr, self.model_sr)
        with torch.no_grad():
            z = self.encoder(audio[:, None, :].float())
        return (z - self.mean) / self.std

    def train(self, mode: bool = True):  # the EnCodec encoder stays frozen in eval mode
        super().train(mode)
        self.encoder.eval()
        return self
