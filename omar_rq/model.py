"""The inference model: input view → patches → ``embedding_layer`` → encoder blocks, with layer selection.

``extract_embeddings`` is the seed's contract (HEAR-like): audio ``(B, T)`` at ``model.sr`` → ``(L, B, N, C)``.

Long audio (longer than ``window_seconds``, the 30 s training length) is processed in windows so memory stays
bounded. **Stitching rule**: windows hold ``k`` tokens (``k = window_seconds * eps``, rounded down) and start every
``k - o`` tokens (``o`` = ``overlap_seconds * eps``); the last window is moved back to end exactly at the clip's last
token, so all windows have equal length and are batched. Between two consecutive windows, each token is taken from
the window where it lies farther from the edge: the boundary is the middle of their overlap. Every window is fed the
audio of exactly its tokens (zero-padded by < 1 hop at the very end). Because attention sees all earlier tokens and the
depthwise convolutions see 15 tokens each side per block, windowed embeddings differ slightly from a whole-clip pass
near window boundaries; audio of at most one window gives exactly the whole-clip result.
"""
from __future__ import annotations


import torch
from torch import nn

from .checkpoint import ENCODER_PREFIXES, CheckpointMismatch
from .patching import patchify
from .views.base import View


def validate_audio(audio, sr: int, min_samples: int, n_tokens=None, device=None) -> torch.Tensor:
    """Check ``audio`` is a finite float tensor ``(batch, samples)`` long enough for one embedding; raise naming the
    problem (type, rank, emptiness, dtype, NaN/inf, length). Returns it as float32 on ``device``."""
    if not isinstance(audio, torch.Tensor):
        kind = type(audio).__module__ + "." + type(audio).__name__
        hint = " (use torch.from_numpy(audio))" if type(audio).__module__ == "numpy" else ""
        raise TypeError(f"audio must be a torch.Tensor of shape (batch, samples) at {sr} Hz, got {kind}{hint}")
    if audio.dim() != 2:
        raise ValueError(f"audio must be 2-D (batch, samples) at {sr} Hz, got shape {tuple(audio.shape)}"
                         + (" — add a batch axis with audio[None]" if audio.dim() == 1 else ""))
    if audio.numel() == 0:
        raise ValueError(f"audio is empty (shape {tuple(audio.shape)})")
    if not torch.is_floating_point(audio):
        raise TypeError(f"audio must be a floating-point waveform (got dtype {audio.dtype})")
    finite = torch.isfinite(audio)
    if not bool(finite.all()):
        raise ValueError(f"audio contains NaN or infinite values ({int((~finite).sum())} samples)")
    enough = n_tokens(audio.shape[1]) >= 1 if n_tokens is not None else audio.shape[1] >= min_samples
    if not enough:
        raise ValueError(f"audio of {audio.shape[1]} samples is too short: the model needs at least {min_samples} "
                         f"samples ({min_samples / sr:.3f} s at {sr} Hz) for one embedding")
    return audio.to(device=device, dtype=torch.float32)


class ViewEncoder(nn.Module):
    """An encoder reading audio through an input view (``self.view``): its rate and embedding rate come from it."""

    view: View

    @property
    def sr(self) -> int:
        return self.view.sr

    @property
    def eps(self) -> float:
        return self.view.eps


class OmarRQ(ViewEncoder):
    """An OMAR-RQ encoder for inference. Attributes: ``sr`` (Hz), ``eps`` (embeddings per second), ``num_layers``,
    ``embed_dim``, ``view`` (input view), ``net`` (encoder), ``embedding_layer`` (patch projection)."""

    def __init__(self, view: View, net: nn.Module, window_seconds: float = 30.0, overlap_seconds: float = 10.0,
                 window_batch_size: int = 2):
        super().__init__()
        self.view = view
        self.net = net
        pf, pt = view.patch_size
        self.embedding_layer = nn.Linear(pf * pt, net.embed_dim)
        self.window_seconds, self.overlap_seconds = float(window_seconds), float(overlap_seconds)
        self.window_batch_size = int(window_batch_size)
        self.config_path = None
        self.checkpoint_path = None

    # -- facts -----------------------------------------------------------------------------------------------------
    @property
    def num_layers(self) -> int:
        return self.net.depth

    @property
    def embed_dim(self) -> int:
        return self.net.embed_dim

    @property
    def device(self) -> torch.device:
        return self.embedding_layer.weight.device

    # -- state -----------------------------------------------------------------------------------------------------
    def encoder_state_dict(self) -> dict[str, torch.Tensor]:
        """The keys a released ``model.ckpt`` holds (``net.*``, ``embedding_layer.*``), nothing of the views."""
        return {k: v for k, v in self.state_dict().items() if k.startswith(ENCODER_PREFIXES)}

    def load_encoder_state_dict(self, state: dict[str, torch.Tensor], source: str = "checkpoint") -> None:
        """Strictly load ``net.*`` / ``embedding_layer.*`` keys; raise naming missing, unexpected and mis-shaped keys."""
        own = self.encoder_state_dict()
        missing = sorted(set(own) - set(state))
        unexpected = sorted(set(state) - set(own))
        misshaped = sorted(f"{k}: checkpoint {tuple(state[k].shape)} vs model {tuple(own[k].shape)}"
                           for k in set(own) & set(state) if tuple(state[k].shape) != tuple(own[k].shape))
        if missing or unexpected or misshaped:
            raise CheckpointMismatch(source, missing, unexpected, misshaped)
        self.load_state_dict(state, strict=False)

    # -- forward ---------------------------------------------------------------------------------------------------
    def tokens(self, audio: torch.Tensor) -> torch.Tensor:
        """Audio ``(B, T)`` → token embeddings ``(B, N, embed_dim)`` (view, patching, projection). The input view is
        computed in float32 even under autocast (a mel filterbank or CQT in bf16 would lose the input's precision);
        the projection and the blocks follow the caller's autocast."""
        with torch.autocast(audio.device.type, enabled=False):
            rep = self.view(audio.float())
        return self.embedding_layer(patchify(rep, self.view.patch_size))

    def forward(self, audio: torch.Tensor, layers: list[int] | None = None):
        return self.net(self.tokens(audio), layers)

    def normalise_layers(self, layers) -> list[int]:
        """Sorted unique non-negative block indices; -1 = last. Raises on an index outside [-depth, depth)."""
        if layers is None:
            layers = [-1]
        if isinstance(layers, int):
            layers = [layers]
        depth = self.num_layers
        out = set()
        for layer in layers:
            if isinstance(layer, bool) or not isinstance(layer, int):
                try:
                    layer = int(layer)
                except (TypeError, ValueError):
                    raise TypeError(f"layer indices must be integers, got {layer!r}") from None
            if not -depth <= layer < depth:
                raise IndexError(f"layer {layer} is out of range for a {depth}-block model: valid indices are "
                                 f"{-depth}..{depth - 1} (0-based; negative counts from the end, -1 = last)")
            out.add(layer % depth)
        if not out:
            raise ValueError("layers is empty: ask for at least one block, e.g. [-1]")
        return sorted(out)

    def check_audio(self, audio) -> torch.Tensor:
        """Validate the audio argument of :meth:`extract_embeddings`; float32 on the model device."""
        return validate_audio(audio, self.sr, self.view.samples_per_token, self.view.n_tokens, self.device)

    @torch.no_grad()
    def extract_embeddings(self, audio: torch.Tensor, layers=(-1,)) -> torch.Tensor:
        """Embeddings ``(L, B, N, C)`` of the requested blocks (0-based, ascending, duplicates removed; -1 = last).

        ``audio``: float tensor ``(B, T)`` at ``self.sr`` Hz. ``N = view.n_tokens(T)``, at ``self.eps`` per second.
        The encoder stops after the deepest requested block. Audio longer than ``window_seconds`` is processed in
        windows (see the module docstring for the stitching rule).
        """
        layers = self.normalise_layers(list(layers) if not isinstance(layers, int) else layers)
        audio = self.check_audio(audio)
        was_training = self.training
        self.eval()
        try:
            n_samples = audio.shape[1]
            if n_samples <= self.window_samples():
                return torch.stack(self(audio, layers))
            return self._extract_windowed(audio, layers)
        finally:
            self.train(was_training)

    # -- windowing -------------------------------------------------------------------------------------------------
    def window_tokens(self) -> int:
        return max(1, int(self.window_seconds * self.eps))

    def window_samples(self) -> int:
        return self.window_tokens() * self.view.samples_per_token

    def window_plan(self, n_tokens: int) -> tuple[list[int], list[tuple[int, int]]]:
        """Window start tokens and, per window, the ``[lo, hi)`` token range (in clip positions) it contributes."""
        k = self.window_tokens()
        if n_tokens <= k:
            return [0], [(0, n_tokens)]
        overlap = min(k - 1, max(0, int(round(self.overlap_seconds * self.eps))))
        hop = k - overlap
        starts = list(range(0, n_tokens - k, hop)) + [n_tokens - k]
        bounds = [0] + [(starts[i + 1] + starts[i] + k) // 2 for i in range(len(starts) - 1)] + [n_tokens]
        return starts, [(bounds[i], bounds[i + 1]) for i in range(len(starts))]

    def _extract_windowed(self, audio: torch.Tensor, layers: list[int]) -> torch.Tensor:
        b, n_samples = audio.shape
        n_tokens = self.view.n_tokens(n_samples)
        k, spt = self.window_tokens(), self.view.samples_per_token
        starts, spans = self.window_plan(n_tokens)
        need = (starts[-1] + k) * spt
        if need > n_samples:
            audio = torch.nn.functional.pad(audio, (0, need - n_samples))
        out = audio.new_zeros(len(layers), b, n_tokens, self.embed_dim)
        jobs = [(i, w) for i in range(b) for w in range(len(starts))]
        for j in range(0, len(jobs), self.window_batch_size):
            batch = jobs[j: j + self.window_batch_size]
            chunk = torch.stack([audio[i, starts[w] * spt:(starts[w] + k) * spt] for i, w in batch])
            emb = torch.stack(self(chunk, layers))  # (L, nb, k, C)
            for m, (i, w) in enumerate(batch):
                lo, hi = spans[w]
                out[:, i, lo:hi] = emb[:, m, lo - starts[w]:hi - starts[w]]
        return out
