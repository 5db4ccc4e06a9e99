"""Pretraining targets (omar_rq.train.quantizers): random-projection quantizer draws and inputs, and finite scalar
quantization against a reference implementation."""
from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from omar_rq.train.quantizers import FiniteScalarQuantizer, RandomProjectionQuantizer


# -- random-projection quantiser -------------------------------------------------------------------------------------
def test_random_projection_draws_follow_the_seed_and_leave_the_rng_alone():
    state = torch.random.get_rng_state()
    q = RandomProjectionQuantizer(384, 16, 512, seed=3)
    assert torch.equal(torch.random.get_rng_state(), state)  # the caller's RNG is untouched
    torch.manual_seed(3)  # the spec's order: projection (Xavier-normal) then codebook (standard normal)
    proj = torch.nn.init.xavier_normal_(torch.empty(384, 16))
    codebook = torch.randn(512, 16)
    assert torch.equal(q.projection, proj) and torch.equal(q.codebook, codebook)
    x = torch.randn(2, 40, 384)
    z = F.normalize(x @ proj, dim=-1)
    ref = torch.cdist(z, F.normalize(codebook, dim=-1)[None].expand(2, -1, -1)).argmin(-1)
    assert torch.equal(q(x), ref)  # nearest L2-normalised code
    assert torch.equal(RandomProjectionQuantizer(384, 16, 512, seed=3)(x), q(x))
    assert not torch.equal(RandomProjectionQuantizer(384, 16, 512, seed=4)(x), q(x))


def test_random_projection_diff_input_projects_the_first_difference():
    q = RandomProjectionQuantizer(10, 4, 32, seed=0, diff_input=True)
    assert q.projection.shape == (9, 4)
    x = torch.randn(1, 5, 10)
    ref = (F.normalize(torch.diff(x, dim=-1) @ q.projection, dim=-1) @ F.normalize(q.codebook, dim=-1).T).argmax(-1)
    assert torch.equal(q(x), ref)


# -- finite scalar quantisation --------------------------------------------------------------------------------------
def fsq_reference(z: torch.Tensor, levels: list[int], symmetric: bool) -> torch.Tensor:
    """Spec §7 written out per dimension."""
    qs = []
    for j, L in enumerate(levels):
        zj = z[..., j].double()
        if symmetric:
            q = torch.floor((L - 1) * (torch.tanh(zj) + 1) / 2 + 0.5)
        else:
            half = (L - 1) * (1 + 1e-3) / 2
            off = 0.5 if L % 2 == 0 else 0.0
            q = torch.round(torch.tanh(zj + math.atanh(off / half)) * half - off) + L // 2
        qs.append(q.long())
    return torch.stack(qs, dim=-1)


@pytest.mark.parametrize("symmetric", [False, True])
@pytest.mark.parametrize("levels", [[6, 6, 6, 6, 6], [5, 5, 5, 5, 5], [4, 4, 4, 4, 4], [8, 5, 5, 5], [2, 3]])
def test_fsq_tokens_and_levels_in_range(levels, symmetric):
    q = FiniteScalarQuantizer(patch_dim=960, levels=levels, preserve_symmetry=symmetric, seed=0)
    assert q.codebook_size == math.prod(levels)
    torch.manual_seed(0)
    for scale in (0.01, 1.0, 30.0, 1e4):  # tiny, typical and saturating projections
        z = torch.randn(3, 200, len(levels)) * scale
        idx = q.level_indices(z)
        assert idx.min() >= 0 and (idx < torch.tensor(levels)).all()
        assert torch.equal(idx, fsq_reference(z, levels, symmetric))
    x = torch.randn(4, 300, 960) * 3
    tokens = q(x)
    assert tokens.dtype == torch.int64 and tokens.min() >= 0 and tokens.max() < math.prod(levels)
    idx = q.level_indices(q.proj(x))
    radix = [math.prod(levels[:j]) for j in range(len(levels))]  # first dimension fastest
    assert torch.equal(tokens, sum(idx[..., j] * radix[j] for j in range(len(levels))))
    z = torch.linspace(-4, 4, 4001)[:, None].expand(-1, len(levels))
    for j, L in enumerate(levels):  # every level is reachable
        assert set(q.level_indices(z)[:, j].tolist()) == set(range(L))
