"""``hear:<module>``: an installed HEAR API module as an encoder.

The HEAR 2021 common API (https://hearbenchmark.com/hear-api.html): ``load_model(model_file_path="", **kwargs)``
returns a model with ``sample_rate``, ``scene_embedding_size`` and ``timestamp_embedding_size``;
``get_timestamp_embeddings(audio (n_sounds, n_samples), model)`` returns ``(embeddings (n_sounds, n_frames, C),
timestamps (n_sounds, n_frames) in ms)``. ``--weights PATH`` is ``model_file_path``; ``--model-options JSON`` are the
other keyword arguments of ``load_model``.

Layers: one (the timestamp embeddings). A module that exposes hidden states — a model attribute ``num_layers`` and
a ``layers`` keyword of ``get_timestamp_embeddings`` returning ``(L, n_sounds, n_frames, C)`` — gives them all. The
frame rate is measured on a probe input from the module's own timestamps (the median interval).
"""
from __future__ import annotations

import importlib
import inspect

import numpy as np
import torch

from . import AdapterError, file_digest, options_digest, package_version
from ..fingerprint import fingerprint_module


class HearEncoder:
    kind = "hear"
    supports_autocast = False

    def __init__(self, module_name: str, weights: str | None = None, options: dict | None = None,
                 device: str = "cpu"):
        try:
            self.module = importlib.import_module(module_name)
        except ImportError as e:
            raise AdapterError(f"hear:{module_name}: cannot import the module ({e}); install the HEAR module "
                               "first") from None
        for fn in ("load_model", "get_timestamp_embeddings"):
            if not hasattr(self.module, fn):
                raise AdapterError(f"hear:{module_name}: not a HEAR API module (no {fn}())")
        self.module_name, self.weights, self.options = module_name, weights, dict(options or {})
        model = self.module.load_model(weights, **self.options) if weights else \
            self.module.load_model(**self.options)
        if isinstance(model, torch.nn.Module):
            model = model.to(device).eval()
        for attr in ("sample_rate", "timestamp_embedding_size"):
            if not hasattr(model, attr):
                raise AdapterError(f"hear:{module_name}: its model has no {attr} attribute (HEAR API)")
        self.model, self.device = model, device
        self.sr = int(model.sample_rate)
        self.embed_dim = int(model.timestamp_embedding_size)
        params = inspect.signature(self.module.get_timestamp_embeddings).parameters
        self.multi = "layers" in params and isinstance(getattr(model, "num_layers", None), int)
        self.num_layers = int(model.num_layers) if self.multi else 1
        probe = torch.zeros(1, 4 * self.sr, device=device)
        _, ts = self._call(probe, None)
        ts = np.asarray(ts.detach().cpu() if torch.is_tensor(ts) else ts, dtype=np.float64).reshape(-1)
        if ts.size < 2:
            raise AdapterError(f"hear:{module_name}: fewer than 2 timestamps for 4 s of audio: no frame rate")
        self.eps = float(1000.0 / np.median(np.diff(ts)))
        self.first_timestamp_ms = float(ts[0])

    def _call(self, audio: torch.Tensor, layers):
        if self.multi:
            return self.module.get_timestamp_embeddings(audio, self.model, layers=layers)
        return self.module.get_timestamp_embeddings(audio, self.model)

    @torch.no_grad()
    def extract_embeddings(self, audio: torch.Tensor, layers=(0,)) -> torch.Tensor:
        layers = [int(x) % self.num_layers for x in ([layers] if isinstance(layers, int) else layers)]
        emb, _ = self._call(audio.to(self.device), layers if self.multi else None)
        emb = torch.as_tensor(np.asarray(emb.detach().cpu()) if torch.is_tensor(emb) else np.asarray(emb))
        if not self.multi:
            if any(x != 0 for x in layers):
                raise IndexError(f"hear:{self.module_name} has one layer (0)")
            emb = emb[None]
        return emb.to(torch.float32)

    def fingerprint_parts(self) -> list[str]:
        dist = self.module_name.split(".")[0]
        state = ""
        if isinstance(self.model, torch.nn.Module):

            state = fingerprint_module(self.model)
        return ["hear", self.module_name, str(package_version(dist) or getattr(self.module, "__version__", "")),
                options_digest(self.options), file_digest(self.weights), state]

    def describe(self) -> str:
        return f"HEAR module {self.module_name}" + (f" ({self.weights})" if self.weights else "")
