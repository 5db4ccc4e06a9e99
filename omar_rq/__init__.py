"""omar_rq: OMAR-RQ music audio representation models — load the released checkpoints exactly, run, pretrain.

Entry point: :func:`get_model` → a module with ``extract_embeddings(audio, layers)`` → ``(L, B, N, C)``, ``sr``, ``eps``.
"""
from .loading import get_model
from .model import OmarRQ

__all__ = ["get_model", "OmarRQ"]
