"""Frozen target tokenisers of the pretraining objective: random-projection quantisers and finite scalar quantisation.

Both draw their frozen weights right after ``torch.manual_seed(seed)`` (inside a forked RNG, so the caller's random
state is left untouched), so the tokens of a clip are reproducible from the seed alone; the weights are also saved in
the module's state dict, so a checkpoint reproduces them without the seed.

Tokens are always computed in float32 with autocast disabled: under ``bf16-mixed`` training the projections would
otherwise run in bfloat16 and the targets would depend on the precision setting.
"""
from __future__ import annotations

import contextlib
import math

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["RandomProjectionQuantizer", "FiniteScalarQuantizer", "seeded"]


@contextlib.contextmanager
def seeded(seed: int):
    """``torch.manual_seed(seed)`` for the duration of the block, restoring the caller's CPU RNG state afterwards."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(seed))
        yield


def _no_autocast(device: torch.device):
    return torch.autocast(device_type=device.type, enabled=False) if device.type in ("cpu", "cuda") \
        else contextlib.nullcontext()


class RandomProjectionQuantizer(nn.Module):
    """Token = index of the nearest code (Euclidean, after L2 normalisation of both) to the randomly projected patch.

    After ``torch.manual_seed(seed)``: projection ``(in_dim, codebook_dim)`` Xavier-normal, then codebook
    ``(codebook_size, codebook_dim)`` standard normal (buffers ``projection``, ``codebook``). ``diff_input``: the
    first difference along the patch vector (length ``patch_dim - 1`` = ``in_dim``) is projected instead of the patch.
    """

    def __init__(self, patch_dim: int, codebook_dim: int, codebook_size: int, seed: int = 0, diff_input: bool = False):
        super().__init__()
        self.diff_input = bool(diff_input)
        in_dim = patch_dim - 1 if diff_input else patch_dim
        if in_dim < 1:
            raise ValueError(f"patch_dim={patch_dim} is too small for a random-projection quantiser"
                             + (" with diff_input" if diff_input else ""))
        with seeded(seed):
            projection = nn.init.xavier_normal_(torch.empty(in_dim, codebook_dim))
            codebook = torch.randn(codebook_size, codebook_dim)
        self.register_buffer("projection", projection)
        self.register_buffer("codebook", codebook)
        self.codebook_size = int(codebook_size)

    @torch.no_grad()
    def forward(self, patches: torch.Tensor) -> torch.Tensor:
        """``(B, N, patch_dim)`` → tokens ``(B, N)`` (int64 in ``[0, codebook_size)``)."""
        with _no_autocast(patches.device):
            x = patches.float()
            if self.diff_input:
                x = torch.diff(x, dim=-1)
            z = F.normalize(x @ self.projection.float(), dim=-1)
            codes = F.normalize(self.codebook.float(), dim=-1)
            # both sides unit-norm: |z - c|^2 = 2 - 2 z.c, so the nearest code is the one of largest dot product
            return (z @ codes.T).argmax(dim=-1)


class FiniteScalarQuantizer(nn.Module):
    """Finite scalar quantisation (``FiniteScalarQuantizer.levels``, ``.preserve_symmetry``) of a frozen projection.

    After ``torch.manual_seed(seed)``: ``Linear(patch_dim, len(levels))`` (default init of weight and bias), then its
    weight re-drawn Xavier-normal and L2-normalised per output row (bias keeps its default init). Per dimension with L
    levels, ``half = (L-1)(1+1e-3)/2``, ``off = 0.5`` for even L else 0:
    ``q = round(tanh(z + atanh(off/half)) * half - off) + L // 2``; with ``preserve_symmetry``:
    ``q = floor((L-1)(tanh z + 1)/2 + 0.5)``. Token = Σ_j q_j Π_{i<j} L_i (first dimension fastest).
    """

    def __init__(self, patch_dim: int = 1, levels: list[int] | tuple[int, ...] = (6, 6, 6, 6, 6),
                 preserve_symmetry: bool = False, seed: int = 0):
        super().__init__()
        self.levels = [int(v) for v in levels]
        if not self.levels or min(self.levels) < 2:
            raise ValueError(f"FiniteScalarQuantizer.levels must be a non-empty list of integers >= 2, got {levels!r}")
        self.preserve_symmetry = bool(preserve_symmetry)
        with seeded(seed):
            proj = nn.Linear(patch_dim, len(self.levels))
            nn.init.xavier_normal_(proj.weight)
        with torch.no_grad():
            proj.weight.copy_(F.normalize(proj.weight, dim=1))
        proj.requires_grad_(False)
        self.proj = proj
        self.register_buffer("_levels", torch.tensor(self.levels, dtype=torch.float32), persistent=False)
        basis = [math.prod(self.levels[:j]) for j in range(len(self.levels))]
        self.register_buffer("_basis", torch.tensor(basis, dtype=torch.int64), persistent=False)

    @property
    def codebook_size(self) -> int:
        return math.prod(self.levels)

    def level_indices(self, z: torch.Tensor) -> torch.Tensor:
        """Per-dimension level indices ``(…, d)`` in ``[0, L_j)`` of projected values ``z``."""
        levels = self._levels.to(z.device)
        z = z.float()
        if self.preserve_symmetry:
            q = torch.floor((levels - 1) * (torch.tanh(z) + 1) / 2 + 0.5)
        else:
            half = (levels - 1) * (1 + 1e-3) / 2
            off = torch.where(levels % 2 == 0, torch.full_like(levels, 0.5), torch.zeros_like(levels))
            shift = torch.atanh(off / half)
            bounded = torch.tanh(z + shift) * half - off
            q = torch.round(bounded) + torch.div(levels, 2, rounding_mode="floor")
        return q.long()

    @torch.no_grad()
    def forward(self, patches: torch.Tensor) -> torch.Tensor:
        """``(B, N, patch_dim)`` → tokens ``(B, N)`` in ``[0, prod(levels))``."""
        with _no_autocast(patches.device):
            q = self.level_indices(self.proj(patches.float()))
        return (q * self._basis.to(q.device)).sum(dim=-1)
