"""Reading encoder weights from released (``model.ckpt``) and development (Lightning ``*.ckpt``) checkpoints.

Checkpoints are untrusted input: always ``torch.load(..., weights_only=True)``.
"""
from __future__ import annotations

from pathlib import Path

import torch

from .errors import UserError

#: prefixes of the keys an encoder checkpoint holds (released format)
ENCODER_PREFIXES = ("net.", "embedding_layer.")


class CheckpointError(UserError, ValueError):
    """A checkpoint file that cannot be used, with the file and the reason."""


class CheckpointMismatch(CheckpointError):
    """The checkpoint's encoder keys do not match the architecture the config describes."""

    def __init__(self, source: str, missing: list[str], unexpected: list[str], misshaped: list[str]):
        self.missing, self.unexpected, self.misshaped = missing, unexpected, misshaped

        def show(keys: list[str], n: int = 8) -> str:
            return ", ".join(keys[:n]) + (f", … ({len(keys)} in all)" if len(keys) > n else "")

        parts = []
        if missing:
            parts.append(f"missing keys (in the model, not in the checkpoint): {show(missing)}")
        if unexpected:
            parts.append(f"unexpected keys (in the checkpoint, not in the model): {show(unexpected)}")
        if misshaped:
            parts.append(f"mis-shaped keys: {show(misshaped)}")
        super().__init__(f"{source} does not match the model built from its config — " + "; ".join(parts)
                         + ". Is the config the one this checkpoint was trained with?")


def load_encoder_weights(path: str | Path) -> dict[str, torch.Tensor]:
    """The ``net.*`` / ``embedding_layer.*`` tensors of a checkpoint file.

    Accepts a plain state dict (released format) or a Lightning checkpoint (``{"state_dict": {...}, ...}``), whose
    pretraining-only keys (``linear.*``, ``quantizers.*``, target views…) are dropped. Raises
    :class:`CheckpointError` naming the file when it is not a torch file, not a state dict, or has no encoder keys.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint not found: {path}")
    try:
        obj = torch.load(str(path), map_location="cpu", weights_only=True)
    except Exception as e:  # noqa: BLE001 - any failure here means "not a safe, readable torch checkpoint"
        raise CheckpointError(f"{path}: cannot be read as a torch checkpoint with weights_only=True "
                              f"({type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''})") from None
    if isinstance(obj, dict) and "state_dict" in obj and isinstance(obj["state_dict"], dict):
        obj = obj["state_dict"]
    if not isinstance(obj, dict) or not all(isinstance(k, str) for k in obj):
        raise CheckpointError(f"{path}: not a state dict (a mapping of parameter names to tensors); "
                              f"got {type(obj).__name__}")
    bad = [k for k, v in obj.items() if k.startswith(ENCODER_PREFIXES) and not isinstance(v, torch.Tensor)]
    if bad:
        raise CheckpointError(f"{path}: entries that are not tensors: {', '.join(bad[:5])}")
    state = {k: v for k, v in obj.items() if k.startswith(ENCODER_PREFIXES)}
    if not state:
        some = ", ".join(list(obj)[:5])
        raise CheckpointError(f"{path}: no encoder weights (no key starts with 'net.' or 'embedding_layer.'); "
                              f"first keys: {some or '(empty)'}")
    return state
