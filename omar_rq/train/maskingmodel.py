"""The SSL LightningModule (``modules.maskingmodel.MaskingModel``): masked token prediction over one or more views.

Input view → patches → span masking → ``embedding_layer`` → encoder → ``linear`` head predicting, at every masked
position, the tokens of each target view (``num_codebooks`` frozen quantisers per view). Cross-entropy on masked
positions only, every codebook and view averaged together (spec §7).

Build one from a config with :func:`omar_rq.train.build.build_pretraining_module`; train it with
:func:`omar_rq.train.pretrain` (which adds the warm-up + cosine learning-rate schedule).
"""
from __future__ import annotations

import contextlib
import logging

import lightning as L
import torch
import torch.nn.functional as F
from torch import nn

from .masking import NOISE_TYPES, apply_mask, mask_window_tokens, span_mask
from ..checkpoint import ENCODER_PREFIXES
from ..patching import patchify
from .quantizers import FiniteScalarQuantizer, RandomProjectionQuantizer
from ..views.base import View

log = logging.getLogger("omar_rq.train")

QUANTIZER_TYPES = ("random_codebook", "finite_scalar_quantizer")


def masked_cross_entropy(logits: torch.Tensor, targets: torch.Tensor, mask: torch.Tensor
                         ) -> tuple[torch.Tensor, torch.Tensor]:
    """Cross-entropy and accuracy over the masked positions only.

    ``logits`` ``(B, N, codebook_size, n_targets)``, ``targets`` ``(B, N, n_targets)`` (int64), ``mask`` ``(B, N)``
    bool. Every (masked position, codebook, view) counts once in the mean; unmasked positions are never read.
    """
    picked, wanted = logits[mask].float(), targets[mask]  # (M, K, n_targets), (M, n_targets)
    loss = F.cross_entropy(picked, wanted)
    accuracy = (picked.argmax(dim=1) == wanted).float().mean()
    return loss, accuracy


def _batch_audio(batch) -> torch.Tensor:
    """The audio tensor ``(B, T)`` of a batch: a tensor, the first item of a tuple/list, or ``batch["audio"]``."""
    if isinstance(batch, dict):
        batch = batch["audio"]
    elif isinstance(batch, (tuple, list)):
        batch = batch[0]
    if not isinstance(batch, torch.Tensor) or batch.dim() != 2:
        raise ValueError("MaskingModel expects batches of audio shaped (batch, samples), got "
                         f"{type(batch).__name__}{tuple(batch.shape) if isinstance(batch, torch.Tensor) else ''}")
    return batch


def _no_autocast(device: torch.device):
    return torch.autocast(device_type=device.type, enabled=False) if device.type in ("cpu", "cuda") \
        else contextlib.nullcontext()


def _augments(view: View) -> bool:
    """Whether ``view`` changes its output in training mode (SpecAugment-style masking)."""
    return getattr(view, "freq_mask_param", 0) > 0 or getattr(view, "time_mask_param", 0) > 0


class MaskingModel(L.LightningModule):
    """Masked-token pretraining of ``net`` on ``input_view`` with targets from ``target_views``.

    ``target_views``: the views of ``build_module.representation`` (one or several); ``input_view``: the view the
    encoder reads (one of them — the same object —, or another view, e.g. the waveform of multifeature-25hz-fsq).
    Keys ``net.*`` and ``embedding_layer.*`` are the released encoder (:meth:`encoder_state_dict`); ``linear.*``,
    ``quantizers.*`` and the target views' frozen modules exist only for pretraining.

    ``fsq_levels`` / ``fsq_preserve_symmetry`` carry the ``FiniteScalarQuantizer.*`` bindings. ``codebook_size`` is the
    width of the head per target; with FSQ it must be at least ``prod(levels)`` (released FSQ configs use 7776 =
    6**5; the 4- and 5-level experiments keep 7776, leaving head classes that never occur).
    """

    def __init__(self, net: nn.Module | None = None, target_views: list[View] | None = None,
                 input_view: View | None = None, num_codebooks: int = 1, codebook_size: int = 4096,
                 codebook_dim: int = 16, mask_seconds: float = 0.4, mask_prob: float = 0.6, seed: int = 0,
                 lr: float = 1e-4, weight_decay: float = 1e-2, diff_input: bool = False,
                 input_representation=None, masking_noise_type: str = "random_normal",
                 quantizer_type: str = "random_codebook", plot_tokens: bool = False,
                 fsq_levels: list[int] | None = None, fsq_preserve_symmetry: bool = False):
        super().__init__()
        if net is None or not target_views:
            raise ValueError("MaskingModel needs a net and at least one target view (build it with "
                             "omar_rq.train.build.build_pretraining_module from a config)")
        if quantizer_type not in QUANTIZER_TYPES:
            raise ValueError(f"quantizer_type must be one of {QUANTIZER_TYPES}, got {quantizer_type!r}")
        if masking_noise_type not in NOISE_TYPES:
            raise ValueError(f"masking_noise_type must be one of {NOISE_TYPES}, got {masking_noise_type!r}")
        self.net = net
        self.target_views = nn.ModuleList(target_views)
        input_view = target_views[0] if input_view is None else input_view
        # the input view is usually one of the targets (same object): then it is not registered a second time
        self._input_index = next((i for i, v in enumerate(target_views) if v is input_view), None)
        if self._input_index is None:
            self.input_view_module = input_view
        pf, pt = input_view.patch_size
        self.embedding_layer = nn.Linear(pf * pt, net.embed_dim)
        self.num_codebooks, self.codebook_dim = int(num_codebooks), int(codebook_dim)
        self.codebook_size = int(codebook_size)
        self.mask_seconds, self.mask_prob, self.seed = float(mask_seconds), float(mask_prob), int(seed)
        self.lr, self.weight_decay = float(lr), float(weight_decay)
        self.diff_input = bool(diff_input)
        self.masking_noise_type, self.quantizer_type = masking_noise_type, quantizer_type
        self.plot_tokens = plot_tokens  # accepted for config compatibility; no plotting here
        quantizers = []
        for view in self.target_views:
            patch_dim = view.patch_size[0] * view.patch_size[1]
            for i in range(self.num_codebooks):
                if quantizer_type == "random_codebook":
                    quantizers.append(RandomProjectionQuantizer(patch_dim, self.codebook_dim, self.codebook_size,
                                                                self.seed + i, self.diff_input))
                else:
                    q = FiniteScalarQuantizer(patch_dim, fsq_levels or [6, 6, 6, 6, 6], fsq_preserve_symmetry,
                                              self.seed + i)
                    if q.codebook_size > self.codebook_size:
                        raise ValueError(f"FiniteScalarQuantizer.levels {q.levels} give {q.codebook_size} codes, "
                                         f"more than MaskingModel.codebook_size = {self.codebook_size} (the head's "
                                         "classes per target)")
                    quantizers.append(q)
        if quantizer_type == "finite_scalar_quantizer" and quantizers[0].codebook_size < self.codebook_size:
            log.info("FSQ levels %s give %d codes; the head has codebook_size=%d classes per target (the extra "
                     "classes never occur)", quantizers[0].levels, quantizers[0].codebook_size, self.codebook_size)
        self.quantizers = nn.ModuleList(quantizers)
        self.n_targets = self.num_codebooks * len(self.target_views)
        self.linear = nn.Linear(net.embed_dim, self.codebook_size * self.n_targets)
        v = input_view
        self.mask_window = mask_window_tokens(self.mask_seconds, v.sr, v.hop, v.patch_size, v.n_features)

    @property
    def input_view(self) -> View:
        return self.target_views[self._input_index] if self._input_index is not None else self.input_view_module

    @property
    def sr(self) -> int:
        return self.input_view.sr

    # -- pieces ----------------------------------------------------------------------------------------------------
    @staticmethod
    def _features(view: View, audio: torch.Tensor, augment: bool) -> torch.Tensor:
        """``view(audio)`` in float32 (autocast off); training-mode augmentation only when ``augment``."""
        with torch.no_grad(), _no_autocast(audio.device):
            if augment or not view.training:
                return view(audio)
            view.train(False)
            try:
                return view(audio)
            finally:
                view.train(True)

    @torch.no_grad()
    def _target_patches(self, audio: torch.Tensor) -> list[torch.Tensor]:
        return [patchify(self._features(view, audio, augment=False), view.patch_size) for view in self.target_views]

    @torch.no_grad()
    def tokens_from_patches(self, patches: list[torch.Tensor]) -> torch.Tensor:
        """Tokens ``(B, N_min, n_targets)`` (view-major, then codebook) of each view's patches, cut to the shortest."""
        per_view = []
        for v, p in enumerate(patches):
            qs = self.quantizers[v * self.num_codebooks:(v + 1) * self.num_codebooks]
            per_view.append(torch.stack([q(p) for q in qs], dim=-1))
        n = min(t.shape[1] for t in per_view)
        return torch.cat([t[:, :n] for t in per_view], dim=-1)

    @torch.no_grad()
    def targets(self, audio: torch.Tensor) -> torch.Tensor:
        """Target tokens ``(B, N_min, n_targets)`` of every view and codebook (views cut to the shortest)."""
        return self.tokens_from_patches(self._target_patches(audio.float()))

    def input_patches(self, audio: torch.Tensor, target_patches: list[torch.Tensor] | None = None) -> torch.Tensor:
        """Input-view patches ``(B, N, pf*pt)``, reusing the target view's when the input view is one of them."""
        view = self.input_view
        augment = self.training and _augments(view)
        if target_patches is not None and self._input_index is not None and not augment:
            return target_patches[self._input_index]
        return patchify(self._features(view, audio.float(), augment=augment), view.patch_size)

    def masked_loss(self, audio: torch.Tensor, generator: torch.Generator | None = None) -> dict[str, torch.Tensor]:
        """Loss (and accuracy, masked fraction) of predicting the target tokens at masked positions of ``audio``."""
        audio = audio.float()
        target_patches = self._target_patches(audio)
        targets = self.tokens_from_patches(target_patches)
        patches = self.input_patches(audio, target_patches)
        n = min(patches.shape[1], targets.shape[1])
        if n < 1:
            raise ValueError(f"audio of {audio.shape[1]} samples is too short for one token")
        patches, targets = patches[:, :n], targets[:, :n]
        mask = span_mask(patches.shape[0], n, self.mask_window, self.mask_prob, generator, patches.device)
        if not bool(mask.any()):  # a batch with nothing masked has no loss; mask its first window (rare)
            mask[:, : self.mask_window] = True
        x = apply_mask(patches, mask, self.masking_noise_type, generator)
        h = self.net(self.embedding_layer(x))
        logits = self.linear(h).view(h.shape[0], n, self.codebook_size, self.n_targets)
        loss, acc = masked_cross_entropy(logits, targets, mask)
        return {"loss": loss, "accuracy": acc, "masked_fraction": mask.float().mean()}

    # -- Lightning -------------------------------------------------------------------------------------------------
    def training_step(self, batch, batch_idx):
        audio = _batch_audio(batch)
        out = self.masked_loss(audio)
        b = audio.shape[0]
        self.log("train/loss", out["loss"], prog_bar=True, batch_size=b)
        self.log("train/accuracy", out["accuracy"], batch_size=b)
        self.log("train/masked_fraction", out["masked_fraction"], batch_size=b)
        return out["loss"]

    def validation_step(self, batch, batch_idx):
        audio = _batch_audio(batch)
        gen = torch.Generator().manual_seed(self.seed + batch_idx)  # the same masks at every validation
        out = self.masked_loss(audio, gen)
        b = audio.shape[0]
        self.log("val/loss", out["loss"], prog_bar=True, sync_dist=True, batch_size=b)
        self.log("val/accuracy", out["accuracy"], sync_dist=True, batch_size=b)

    def configure_optimizers(self):
        params = [p for p in self.parameters() if p.requires_grad]
        return torch.optim.AdamW(params, lr=self.lr, weight_decay=self.weight_decay)

    def encoder_state_dict(self) -> dict[str, torch.Tensor]:
        """The released-format weights: ``net.*`` and ``embedding_layer.*`` only (CPU copies)."""
        return {k: v.detach().cpu().clone() for k, v in self.state_dict().items() if k.startswith(ENCODER_PREFIXES)}
