"""OMAR-RQ as a HEAR 2021 module: ``load_model``, ``get_timestamp_embeddings``, ``get_scene_embeddings``.

The HEAR common API (https://hearbenchmark.com/hear-api.html) is what the HEAR, X-ARES and MARBLE harnesses call, so
with this module our models run there too::

    import omar_rq.hear as hear
    model = hear.load_model("mtg-upf/omar-rq-multifeature-25hz-fsq", layer=6)   # or a model folder / config.gin
    emb, ts = hear.get_timestamp_embeddings(audio, model)   # (n_sounds, n_frames, C) float32, timestamps in ms
    scene = hear.get_scene_embeddings(audio, model)          # (n_sounds, C): the mean over time

``audio`` is a float tensor ``(n_sounds, n_samples)`` at ``model.sample_rate``. Timestamps are the centres of the
embedding frames, ``(n + 0.5) / eps`` seconds (in ms), so they fall inside the audio and are regularly spaced. One
layer is returned (``layer``, default the last block); ``layers=[…]`` concatenates several along the channels.
"""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import torch
from torch import nn

__all__ = ["load_model", "get_timestamp_embeddings", "get_scene_embeddings", "HearModel"]


class HearModel(nn.Module):
    """An OMAR-RQ encoder with the attributes the HEAR API asks for (``sample_rate``, ``scene_embedding_size``,
    ``timestamp_embedding_size``) and the layers it returns."""

    def __init__(self, encoder: nn.Module, layers: Sequence[int]):
        super().__init__()
        self.encoder = encoder
        self.layers = [int(x) for x in layers]
        self.sample_rate = int(encoder.sr)
        self.eps = float(encoder.eps)
        self.timestamp_embedding_size = int(encoder.embed_dim) * len(self.layers)
        self.scene_embedding_size = self.timestamp_embedding_size

    @torch.no_grad()
    def embed(self, audio: torch.Tensor) -> torch.Tensor:
        audio = torch.as_tensor(audio)
        if audio.dim() == 1:
            audio = audio[None]
        emb = self.encoder.extract_embeddings(audio.to(torch.float32), self.layers)   # (L, B, N, C)
        return emb.permute(1, 2, 0, 3).reshape(emb.shape[1], emb.shape[2], -1).to(torch.float32)


def load_model(model_file_path: str = "", layer: int = -1, layers: Sequence[int] | None = None,
               device: str = "cpu", **kwargs) -> HearModel:
    """Load an OMAR-RQ model for the HEAR API.

    ``model_file_path``: a Hugging Face id (``mtg-upf/omar-rq-base``), a model folder (``config.gin`` +
    ``model.ckpt``), or a ``config.gin`` (default: ``mtg-upf/omar-rq-multifeature-25hz-fsq``). ``layer`` / ``layers``:
    which blocks to return (0-based; negative from the end). Other keyword arguments go to :func:`omar_rq.get_model`.
    """
    from . import get_model

    source = model_file_path or "mtg-upf/omar-rq-multifeature-25hz-fsq"
    path = Path(source).expanduser()
    if path.exists():
        encoder = get_model(config_file=path, device=device, **kwargs)
    else:
        encoder = get_model(model_id=source, device=device, **kwargs)
    encoder.eval()
    return HearModel(encoder, list(layers) if layers is not None else [layer])


def get_timestamp_embeddings(audio: torch.Tensor, model: HearModel) -> tuple[torch.Tensor, torch.Tensor]:
    """``(embeddings (n_sounds, n_frames, C) float32, timestamps (n_sounds, n_frames) ms)``."""
    emb = model.embed(audio)
    n = emb.shape[1]
    ts = (torch.arange(n, dtype=torch.float32, device=emb.device) + 0.5) * (1000.0 / model.eps)
    return emb, ts.expand(emb.shape[0], n).contiguous()


def get_scene_embeddings(audio: torch.Tensor, model: HearModel) -> torch.Tensor:
    """``(n_sounds, C)`` float32: the mean of the timestamp embeddings over time."""
    return model.embed(audio).mean(dim=1)
