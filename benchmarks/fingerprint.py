"""The fingerprint of an encoder's weights: what the embedding cache keys on. Imports nothing from the project, so
the encoder registry and every adapter can use it without importing each other."""
from __future__ import annotations

import hashlib

import torch
from torch import nn

__all__ = ["fingerprint_module"]


def fingerprint_module(module: nn.Module, extra: str = "") -> str:
    """blake2b of every tensor of the state dict (names, shapes, dtypes, bytes), the plain settings of the input view
    and ``extra``: two encoders with the same fingerprint compute the same embeddings."""
    h = hashlib.blake2b(digest_size=20)
    h.update(type(module).__name__.encode())
    h.update(extra.encode())
    view = getattr(module, "view", None)
    if view is not None:
        plain = {k: v for k, v in sorted(vars(view).items())
                 if not k.startswith("_") and isinstance(v, (int, float, str, bool, tuple, type(None)))}
        h.update(f"{type(view).__name__}{plain}".encode())
    for name, tensor in sorted(module.state_dict().items()):
        t = tensor.detach().cpu().contiguous().reshape(-1)
        h.update(f"{name}{tuple(t.shape)}{t.dtype}".encode())
        h.update(t.view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    return h.hexdigest()
