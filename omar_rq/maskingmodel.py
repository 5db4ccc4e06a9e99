"""The SSL LightningModule (``modules.maskingmodel.MaskingModel``): masked token prediction over one or more views.

Input view → patches → span masking → ``embedding_layer`` → encoder → ``linear`` head predicting, at every masked
position, the tokens of each target view (``num_codebooks`` frozen quantisers per view). Cross-entropy on masked
positions only, every codebook and view averaged together.
"""
from __future__ import annotations

import lightning as L
import torch
import torch.nn.functional as F
from torch import nn

from .masking import apply_mask, mask_window_tokens, span_mask
from .model import ENCODER_PREFIXES
from .patching import patchify
from .quantizers import FiniteScalarQuantizer, RandomProjectionQuantizer
from .views.base import View


class MaskingModel(L.LightningModule):
    """Masked-token pretraining of ``net`` on ``input_view`` with targets from ``target_views``.

    ``target_views``: the views of ``build_module.representation`` (one or several); ``input_view``: the view the
    encoder reads (one of them, or another view object). Keys ``net.*`` and ``embedding_layer.*`` are the released
    encoder; ``linear.*`` and ``quantizers.*`` exist only for pretraining.
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
                             "omar_rq.pretraining.build_pretraining_module from a config)")
        self.net = net
        self.target_views = nn.ModuleList(target_views)
        self.input_view = input_view if input_view is not None else target_views[0]
        pf, pt = self.input_view.patch_size
        self.embedding_layer = nn.Linear(pf * pt, net.embed_dim)
        self.num_codebooks, self.codebook_dim = int(num_codebooks), int(codebook_dim)
        self.mask_seconds, self.mask_prob, self.seed = float(mask_seconds), float(mask_prob), int(seed)
        self.lr, self.weight_decay = float(lr), float(weight_decay)
        self.masking_noise_type, self.quantizer_type = masking_noise_type, quantizer_type
        quantizers = []
        for view in self.target_views:
            patch_dim = view.patch_size[0] * view.patch_size[1]
            for i in range(self.num_codebooks):
                if quantizer_type == "random_codebook":
                    quantizers.append(RandomProjectionQuantizer(patch_dim, codebook_dim, codebook_size, seed + i,
                                                                diff_input))
                elif quantizer_type == "finite_scalar_quantizer":
                    q = FiniteScalarQuantizer(patch_dim, fsq_levels or [6, 6, 6, 6, 6], fsq_preserve_symmetry,
                                              seed + i)
                    if q.codebook_size != codebook_size:
                        raise ValueError(f"FSQ levels {q.levels} give {q.codebook_size} codes but "
                                         f"MaskingModel.codebook_size = {codebook_size}")
                    quantizers.append(q)
                else:
                    raise ValueError("quantizer_type must be 'random_codebook' or 'finite_scalar_quantizer', "
                                     f"got {quantizer_type!r}")
        self.quantizers = nn.ModuleList(quantizers)
        self.codebook_size = int(codebook_size)
        self.n_targets = self.num_codebooks * len(self.target_views)
        self.linear = nn.Linear(net.embed_dim, self.codebook_size * self.n_targets)
        v = self.input_view
        self.mask_window = mask_window_tokens(self.mask_seconds, v.sr, v.hop, v.patch_size, v.n_features)

    # -- pieces ----------------------------------------------------------------------------------------------------
    @torch.no_grad()
    def targets(self, audio: torch.Tensor) -> torch.Tensor:
        """Target tokens ``(B, N_min, n_targets)`` of every view and codebook (views cut to the shortest)."""
        per_view = []
        for v, view in enumerate(self.target_views):
            patches = patchify(view(audio), view.patch_size)
            qs = self.quantizers[v * self.num_codebooks:(v + 1) * self.num_codebooks]
            per_view.append(torch.stack([q(patches) for q in qs], dim=-1))
        n = min(t.shape[1] for t in per_view)
        return torch.cat([t[:, :n] for t in per_view], dim=-1)

    def masked_loss(self, audio: torch.Tensor, generator: torch.Generator | None = None) -> dict[str, torch.Tensor]:
        """Loss (and accuracy) of predicting the target tokens at masked positions of ``audio`` ``(B, T)``."""
        targets = self.targets(audio)
        patches = patchify(self.input_view(audio), self.input_view.patch_size)
        n = min(patches.shape[1], targets.shape[1])
        patches, targets = patches[:, :n], targets[:, :n]
        mask = span_mask(patches.shape[0], n, self.mask_window, self.mask_prob, generator, patches.device)
        if not bool(mask.any()):  # a batch with nothing masked teaches nothing; mask one window
            mask[:, : self.mask_window] = True
        x = apply_mask(patches, mask, self.masking_noise_type, generator)
        h = self.net(self.embedding_layer(x))
        logits = self.linear(h).view(h.shape[0], n, self.codebook_size, self.n_targets)
        loss = F.cross_entropy(logits[mask], targets[mask])
        acc = (logits[mask].argmax(dim=1) == targets[mask]).float().mean()
        return {"loss": loss, "accuracy": acc, "masked_fraction": mask.float().mean()}

    # -- Lightning -------------------------------------------------------------------------------------------------
    def training_step(self, batch, batch_idx):
        out = self.masked_loss(batch)
        self.log("train/loss", out["loss"], prog_bar=True)
        self.log("train/accuracy", out["accuracy"])
        return out["loss"]

    def validation_step(self, batch, batch_idx):
        gen = torch.Generator().manual_seed(self.seed + batch_idx)  # the same masks every validation
        out = self.masked_loss(batch, gen)
        self.log("val/loss", out["loss"], prog_bar=True, sync_dist=True)
        self.log("val/accuracy", out["accuracy"], sync_dist=True)

    def configure_optimizers(self):
        params = [p for p in self.parameters() if p.requires_grad]
        return torch.optim.AdamW(params, lr=self.lr, weight_decay=self.weight_decay)

    def encoder_state_dict(self) -> dict[str, torch.Tensor]:
        """The released-format weights: ``net.*`` and ``embedding_layer.*`` only."""
        return {k: v.detach().cpu().clone() for k, v in self.state_dict().items() if k.startswith(ENCODER_PREFIXES)}
