"""The OMAR-RQ Conformer encoder (``nets.conformer.Conformer``), block for block as the released checkpoints expect.

Quirks kept on purpose (they are what the released weights were trained with): the attention is causal; the
depthwise convolution kernel is always 31 whatever ``conv_kernel_size`` says; DeepNorm wraps only the attention
residual; every block ends with a LayerNorm and there is no final norm.
"""
from __future__ import annotations

import warnings

import torch
import torch.nn.functional as F
from torch import nn

from .positional import RotaryEmbedding, SinusoidalEncoding

#: LayerNorm / BatchNorm epsilon of the feed-forward and convolution modules.
SMALL_EPS = 6.1e-5
DEPTHWISE_KERNEL = 31


class FeedForward(nn.Module):
    """LayerNorm → Linear(d, d·ratio) → GELU → Dropout → Linear(·, d) → Dropout (keys ``module.{0,1,4}``)."""

    def __init__(self, dim: int, mlp_ratio: float, dropout: float):
        super().__init__()
        hidden = int(dim * mlp_ratio)
        self.module = nn.Sequential(nn.LayerNorm(dim, eps=SMALL_EPS), nn.Linear(dim, hidden), nn.GELU(),
                                    nn.Dropout(dropout), nn.Linear(hidden, dim), nn.Dropout(dropout))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.module(x)


class Attention(nn.Module):
    """Causal multi-head self-attention with RoPE (or fixed sinusoids added to q and k when ``use_rope=False``)."""

    def __init__(self, dim: int, num_heads: int, use_rope: bool = True):
        super().__init__()
        if dim % num_heads:
            raise ValueError(f"embed_dim {dim} is not divisible by num_heads {num_heads}")
        self.num_heads, self.head_dim = num_heads, dim // num_heads
        self.qkv = nn.Linear(dim, 3 * dim, bias=False)
        self.proj = nn.Linear(dim, dim)
        if use_rope:
            self.rotary_emb = RotaryEmbedding(self.head_dim)
        else:
            if num_heads != 1:
                raise ValueError("use_rope=False adds an (N, embed_dim) sinusoid table to every head, which only "
                                 f"works with one head (head_dim == embed_dim); got num_heads={num_heads}")
            self.positional_encoder = SinusoidalEncoding(dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, n, c = x.shape
        q, k, v = self.qkv(x).reshape(b, n, 3, self.num_heads, self.head_dim).permute(2, 0, 3, 1, 4)
        if hasattr(self, "rotary_emb"):
            q, k = self.rotary_emb(q), self.rotary_emb(k)
        else:
            enc = self.positional_encoder(n).to(q.dtype)
            q, k = q + enc, k + enc
        out = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        return self.proj(out.transpose(1, 2).reshape(b, n, c))


class DeepNorm(nn.Module):
    """``LayerNorm(alpha * x + f(x))`` (key ``layer_norm``)."""

    def __init__(self, dim: int, alpha: float):
        super().__init__()
        self.alpha = alpha
        self.layer_norm = nn.LayerNorm(dim)

    def forward(self, x: torch.Tensor, fx: torch.Tensor) -> torch.Tensor:
        return self.layer_norm(self.alpha * x + fx)


class ConvModule(nn.Module):
    """LayerNorm → pointwise conv (2d) → GLU → depthwise conv (31, "same") → BatchNorm → GELU → pointwise → Dropout."""

    def __init__(self, dim: int, dropout: float):
        super().__init__()
        self.layer_norm = nn.LayerNorm(dim, eps=SMALL_EPS)
        self.module = nn.Sequential(
            nn.Conv1d(dim, 2 * dim, 1), nn.GLU(dim=1),
            nn.Conv1d(dim, dim, DEPTHWISE_KERNEL, padding="same", groups=dim),
            nn.BatchNorm1d(dim, eps=SMALL_EPS), nn.GELU(), nn.Conv1d(dim, dim, 1), nn.Dropout(dropout))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.module(self.layer_norm(x).transpose(1, 2)).transpose(1, 2)


class ConformerBlock(nn.Module):
    def __init__(self, dim: int, num_heads: int, mlp_ratio: float, residual_factor: float, dropout: float,
                 use_deepnorm: bool, alpha: float, use_rope: bool):
        super().__init__()
        self.residual_factor = residual_factor
        self.use_deepnorm = use_deepnorm
        self.ff1 = FeedForward(dim, mlp_ratio, dropout)
        self.attention = Attention(dim, num_heads, use_rope)
        # without DeepNorm upstream still creates (and saves) a plain LayerNorm here that it never applies
        self.norm1 = DeepNorm(dim, alpha) if use_deepnorm else nn.LayerNorm(dim)
        self.conv_block = ConvModule(dim, dropout)
        self.ff2 = FeedForward(dim, mlp_ratio, dropout)
        self.norm2 = nn.LayerNorm(dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.residual_factor * self.ff1(x)
        x = self.norm1(x, self.attention(x)) if self.use_deepnorm else x + self.attention(x)
        x = x + self.conv_block(x)
        x = x + self.residual_factor * self.ff2(x)
        return self.norm2(x)


class Conformer(nn.Module):
    """Stack of :class:`ConformerBlock` (``layers.{i}``) over token embeddings ``(B, N, embed_dim)``.

    ``conv_kernel_size`` and ``num_patches`` are accepted for config compatibility and ignored (the depthwise kernel
    is 31 in every released model); ``patch_size`` is deprecated here (the view's patch size is used).
    """

    def __init__(self, embed_dim: int = 512, depth: int = 12, num_heads: int = 8, mlp_ratio: float = 4.0,
                 mlp_residual_factor: float = 4.0, dropout: float = 0.1, input_dropout: float = 0.0,
                 use_deepnorm: bool = True, alpha_deepnorm: float | None = None, beta_deepnorm: float | None = None,
                 use_rope: bool = True, conv_kernel_size: int = DEPTHWISE_KERNEL, num_patches: int | None = None,
                 patch_size: tuple[int, int] | None = None):
        super().__init__()
        if patch_size is not None:
            warnings.warn("nets.conformer.Conformer.patch_size is deprecated and ignored: the input view's patch "
                          "size is used", DeprecationWarning, stacklevel=2)
        self.embed_dim, self.depth, self.num_heads = int(embed_dim), int(depth), int(num_heads)
        self.alpha = (2 * depth) ** 0.25 if alpha_deepnorm is None else float(alpha_deepnorm)
        self.beta = (8 * depth) ** -0.25 if beta_deepnorm is None else float(beta_deepnorm)
        self.input_dropout = nn.Dropout(input_dropout)
        self.layers = nn.ModuleList(
            ConformerBlock(self.embed_dim, self.num_heads, mlp_ratio, mlp_residual_factor, dropout, use_deepnorm,
                           self.alpha, use_rope) for _ in range(self.depth))
        if use_deepnorm:
            self._deepnorm_init()

    @torch.no_grad()
    def _deepnorm_init(self) -> None:
        """Scale the feed-forward Linears, the value third of ``qkv`` and ``proj`` by beta (pretraining init)."""
        d = self.embed_dim
        for block in self.layers:
            for ff in (block.ff1, block.ff2):
                ff.module[1].weight.mul_(self.beta)
                ff.module[4].weight.mul_(self.beta)
            block.attention.qkv.weight[2 * d:].mul_(self.beta)
            block.attention.proj.weight.mul_(self.beta)

    def forward(self, x: torch.Tensor, layers: list[int] | None = None) -> torch.Tensor | list[torch.Tensor]:
        """Run the blocks. ``layers=None`` → the last block's output; else the outputs of those 0-based blocks
        (non-negative, in the order given), stopping after the deepest one."""
        x = self.input_dropout(x)
        if layers is None:
            for block in self.layers:
                x = block(x)
            return x
        wanted, last, outs = set(layers), max(layers), {}
        for i, block in enumerate(self.layers[: last + 1]):
            x = block(x)
            if i in wanted:
                outs[i] = x
        return [outs[i] for i in layers]
