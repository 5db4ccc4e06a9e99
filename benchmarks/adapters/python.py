"""``py:<module>:<callable>``: an encoder of your own. ``callable(**options)`` (``--model-options JSON``; with
``--weights PATH`` also ``weights=PATH``) returns an object with the contract: ``sr``, ``eps``, ``num_layers`` and
``extract_embeddings(audio (B, T) float tensor, layers list) -> (L, B, N, C)``; optionally ``fingerprint`` (a string
that changes whenever its outputs would) and ``supports_autocast``. The module is imported by its name, so it must
be on the Python path (``PYTHONPATH``, or an installed package): you asked for its code to run.
"""
from __future__ import annotations

import importlib
import inspect
from pathlib import Path

import torch

from . import AdapterError, file_digest, options_digest, package_version
from ..fingerprint import fingerprint_module

REQUIRED = ("sr", "eps", "num_layers", "extract_embeddings")


class PythonEncoder:
    """The object of a ``py:`` factory, with the adapter's bookkeeping around it (nothing of it is modified)."""

    kind = "py"

    def __init__(self, obj, spec: str, options: dict, weights: str | None, source: str):
        self.obj, self.spec, self.options, self.weights, self.source = obj, spec, options, weights, source
        self.supports_autocast = bool(getattr(obj, "supports_autocast", False))

    # passed through as the object gives them (``omar-bench validate`` checks their types)
    @property
    def sr(self):
        return self.obj.sr

    @property
    def eps(self):
        return self.obj.eps

    @property
    def num_layers(self):
        return self.obj.num_layers

    def extract_embeddings(self, audio: torch.Tensor, layers=(0,)) -> torch.Tensor:
        return self.obj.extract_embeddings(audio, [layers] if isinstance(layers, int) else list(layers))

    def fingerprint_parts(self) -> list[str]:
        own = getattr(self.obj, "fingerprint", None)
        state = ""
        if own is None and isinstance(self.obj, torch.nn.Module):

            state = fingerprint_module(self.obj)
        return ["py", self.spec, str(own or ""), options_digest(self.options), file_digest(self.weights),
                file_digest(self.source) if self.source and Path(self.source).is_file() else "", state,
                str(package_version(self.spec.split(":")[0].split(".")[0]) or "")]

    def describe(self) -> str:
        return f"Python encoder {self.spec}"


def load_python_encoder(spec: str, weights: str | None = None, options: dict | None = None,
                        device: str = "cpu") -> PythonEncoder:
    """The encoder built by ``py:<module>:<callable>`` (checked for the contract's attributes)."""
    module_name, _, attr = spec.partition(":")
    if not module_name or not attr:
        raise AdapterError(f"py:{spec}: expected py:<module>:<callable> (e.g. py:mypkg.encoders:make)")
    try:
        module = importlib.import_module(module_name)
    except ImportError as e:
        raise AdapterError(f"py:{spec}: cannot import {module_name} ({e}); is it on PYTHONPATH?") from None
    factory = getattr(module, attr, None)
    if not callable(factory):
        raise AdapterError(f"py:{spec}: {module_name} has no callable {attr}")
    kwargs = dict(options or {})
    if weights:
        kwargs["weights"] = weights
    if "device" in inspect.signature(factory).parameters:
        kwargs.setdefault("device", device)
    obj = factory(**kwargs)
    missing = [a for a in REQUIRED if not hasattr(obj, a)]
    if missing:
        raise AdapterError(f"py:{spec}: the object it returned lacks {', '.join(missing)} (the encoder contract: "
                           "sr, eps, num_layers, extract_embeddings(audio, layers) -> (L, B, N, C))")
    if isinstance(obj, torch.nn.Module):
        obj = obj.to(device).eval()
    return PythonEncoder(obj, spec, dict(options or {}), weights, inspect.getsourcefile(module) or "")
