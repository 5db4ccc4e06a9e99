"""The plain Transformer encoder of the early single-view experiments (``nets.transformer.Transformer``).

No released or seed-table model uses it; kept so those configs and checkpoints load. Learned absolute positions
(``pos_embed``, grown with zeros when the input is longer), causal attention without RoPE.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .conformer import DeepNorm


class _Attention(nn.Module):
    def __init__(self, dim: int, num_heads: int):
        super().__init__()
        self.num_heads, self.head_dim = num_heads, dim // num_heads
        self.qkv = nn.Linear(dim, 3 * dim, bias=False)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, n, c = x.shape
        q, k, v = self.qkv(x).reshape(b, n, 3, self.num_heads, self.head_dim).permute(2, 0, 3, 1, 4)
        out = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        return self.proj(out.transpose(1, 2).reshape(b, n, c))


class TransformerBlock(nn.Module):
    def __init__(self, dim: int, num_heads: int, mlp_ratio: float, dropout: float, deepnorm: bool, alpha: float):
        super().__init__()
        self.deepnorm = deepnorm
        self.attn = _Attention(dim, num_heads)
        hidden = int(dim * mlp_ratio)
        self.mlp = nn.Sequential(nn.Linear(dim, hidden), nn.GELU(), nn.Dropout(dropout), nn.Linear(hidden, dim),
                                 nn.Dropout(dropout))
        self.norm1 = DeepNorm(dim, alpha) if deepnorm else nn.LayerNorm(dim)
        self.norm2 = DeepNorm(dim, alpha) if deepnorm else nn.LayerNorm(dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.deepnorm:
            x = self.norm1(x, self.attn(x))
            return self.norm2(x, self.mlp(x))
        x = self.norm1(x)  # upstream takes the residual after the norm
        x = self.attn(x) + x
        x = self.norm2(x)
        return self.mlp(x) + x


class Transformer(nn.Module):
    """Blocks ``transformer.{i}`` over ``tokens + pos_embed``; ``norm``/``head`` only with ``do_classification``."""

    def __init__(self, patch_size: tuple[int, int] = (96, 4), in_chans: int = 1, embed_dim: int = 768,
                 head_dims: int = 768, depth: int = 12, num_heads: int = 12, num_patches: int = 1000,
                 mlp_ratio: float = 4.0, dropout: float = 0.1, input_dropout: float = 0.0,
                 alpha_deepnorm: float | None = None, beta_deepnorm: float | None = None,
                 do_classification: bool = False, do_vit_tokenization: bool = False, do_deepnorm: bool = False,
                 context_length: int | None = None, num_classes: int = 1):
        super().__init__()
        self.embed_dim, self.depth = int(embed_dim), int(depth)
        alpha = (2 * depth) ** 0.25 if alpha_deepnorm is None else float(alpha_deepnorm)
        self.pos_embed = nn.Parameter(torch.zeros(1, int(num_patches), self.embed_dim))
        nn.init.trunc_normal_(self.pos_embed, std=0.02)
        self.input_dropout = nn.Dropout(input_dropout)
        self.transformer = nn.ModuleList(TransformerBlock(self.embed_dim, num_heads, mlp_ratio, dropout, do_deepnorm,
                                                          alpha) for _ in range(self.depth))
        self.do_classification = do_classification
        if do_classification:
            self.norm = nn.LayerNorm(self.embed_dim)
            self.head = nn.Linear(self.embed_dim, num_classes)

    @property
    def layers(self) -> nn.ModuleList:
        return self.transformer

    def forward(self, x: torch.Tensor, layers: list[int] | None = None):
        n = x.shape[1]
        pos = self.pos_embed
        if n > pos.shape[1]:
            pos = torch.cat([pos, pos.new_zeros(1, n - pos.shape[1], pos.shape[2])], dim=1)
        x = self.input_dropout(x + pos[:, :n])
        wanted = set(layers) if layers is not None else {self.depth - 1}
        last = max(wanted)
        outs = {}
        for i, block in enumerate(self.transformer[: last + 1]):
            x = block(x)
            if i in wanted:
                outs[i] = x
        return outs[self.depth - 1] if layers is None else [outs[i] for i in layers]
