"""Issue 6 (pretraining objective): span masking statistics, random-projection and FSQ targets, masked-only loss."""
from __future__ import annotations

import io
import math

import pytest
import torch
import torch.nn.functional as F

from omar_rq.conformer import Conformer
from omar_rq.train.masking import apply_mask, mask_window_tokens, span_mask
from omar_rq.train.maskingmodel import MaskingModel, masked_cross_entropy
from omar_rq.train.quantizers import FiniteScalarQuantizer, RandomProjectionQuantizer
from omar_rq.views import MelSpectrogram, Waveform


def small_module(seed: int = 0, quantizer_type: str = "random_codebook", **kw) -> MaskingModel:
    torch.manual_seed(123)
    mel = MelSpectrogram(sr=16000, hop_len=256, n_mel=96, norm_mean=2.0, norm_std=1.3, patch_size=(96, 4))
    net = Conformer(embed_dim=32, depth=1, num_heads=2, dropout=0.0)
    args = dict(num_codebooks=2, codebook_size=64, codebook_dim=8, seed=seed, quantizer_type=quantizer_type)
    if quantizer_type == "finite_scalar_quantizer":
        args.update(codebook_size=81, fsq_levels=[3, 3, 3, 3])
    args.update(kw)
    return MaskingModel(net=net, target_views=[mel], **args)


# -- masking ---------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("args, expected", [
    ((0.4, 16000, 256, (96, 4), 96), 6),     # mel 16 kHz: ceil(25) frames // 4
    ((0.4, 24000, 1, (1, 960), 1), 10),      # waveform 24 kHz, patch 960: 9600 samples // 960
    ((0.4, 24000, 1, (1, 1280), 1), 7),      # waveform patch 1280: 9600 // 1280
    ((0.4, 24000, 320, (128, 4), 128), 7),   # EnCodec 75 Hz: ceil(30) // 4
    ((0.4, 24000, 320, (96, 3), 96), 10),    # 25 Hz mel
    ((0.4, 16000, 256, (48, 4), 96), 12),    # two frequency patches per time step: W doubles
    ((0.01, 16000, 256, (96, 4), 96), 1),    # shorter than a patch: at least one token
])
def test_mask_window_follows_the_spec_formula(args, expected):
    assert mask_window_tokens(*args) == expected


@pytest.mark.parametrize("prob, window, n_tokens", [(0.6, 6, 62), (0.3, 10, 75), (0.6, 7, 7), (0.9, 4, 41)])
def test_span_mask_statistics_match_probability_and_windows(prob, window, n_tokens):
    gen = torch.Generator().manual_seed(0)
    mask = span_mask(4000, n_tokens, window, prob, gen)
    assert mask.shape == (4000, n_tokens) and mask.dtype == torch.bool
    n_windows = math.ceil(n_tokens / window)
    windows = [mask[:, w * window:(w + 1) * window] for w in range(n_windows)]
    for w in windows:  # every window (the last one possibly shorter) is masked as a whole
        assert bool(((w == w[:, :1]).all()))
    chosen = torch.stack([w[:, 0] for w in windows], dim=1).float()
    # each window is masked independently with probability prob: mean over 4000 x n_windows draws
    assert abs(chosen.mean().item() - prob) < 4 * math.sqrt(prob * (1 - prob) / chosen.numel()) + 1e-3
    assert chosen.mean(dim=0).sub(prob).abs().max().item() < 0.04  # every window position alike
    corr = torch.corrcoef(chosen.T)[0, 1:] if n_windows > 1 else torch.zeros(1)
    assert corr.abs().max().item() < 5 / math.sqrt(4000)  # windows independent (5 sigma)
    if n_tokens % window == 0:
        assert abs(mask.float().mean().item() - prob) < 0.02  # expected masked fraction = prob


def test_span_mask_is_reproducible_with_a_generator():
    a = span_mask(3, 50, 6, 0.6, torch.Generator().manual_seed(7))
    b = span_mask(3, 50, 6, 0.6, torch.Generator().manual_seed(7))
    assert torch.equal(a, b)
    with pytest.raises(ValueError):
        span_mask(1, 10, 0, 0.5)


def test_apply_mask_replaces_only_masked_patches():
    torch.manual_seed(0)
    patches = torch.randn(4, 30, 384) + 5.0
    mask = span_mask(4, 30, 6, 0.5, torch.Generator().manual_seed(1))
    out = apply_mask(patches, mask, "random_normal", torch.Generator().manual_seed(2))
    assert torch.equal(out[~mask], patches[~mask])
    noise = out[mask]
    assert abs(noise.mean().item()) < 0.01 and abs(noise.std().item() - 0.1) < 0.005  # N(0, 0.1^2)
    out = apply_mask(patches, mask, "shuffled_input", torch.Generator().manual_seed(2))
    assert torch.equal(out[~mask], patches[~mask])
    for b in range(4):  # a masked position holds a patch of the same clip
        for n in torch.nonzero(mask[b]).flatten().tolist():
            assert (out[b, n] == patches[b]).all(dim=1).any()
    with pytest.raises(ValueError):
        apply_mask(patches, mask, "zeros")


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


def test_random_projection_tokens_identical_after_save_and_load():
    audio = torch.randn(2, 32000) * 0.1
    a = small_module(seed=0)
    buf = io.BytesIO()
    torch.save(a.state_dict(), buf)
    buf.seek(0)
    b = small_module(seed=9)  # different draws until the state is loaded
    assert not torch.equal(a.targets(audio), b.targets(audio))
    b.load_state_dict(torch.load(buf, weights_only=True))
    assert torch.equal(a.targets(audio), b.targets(audio))
    assert torch.equal(small_module(seed=0).targets(audio), a.targets(audio))  # and reproducible from the seed
    keys = [k for k in a.state_dict() if k.startswith("quantizers.")]
    assert "quantizers.0.projection" in keys and "quantizers.1.codebook" in keys
    # codebook i of every view is seeded seed + i
    assert torch.equal(a.quantizers[1].codebook, RandomProjectionQuantizer(384, 8, 64, seed=1).codebook)


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


def test_fsq_projection_is_seeded_and_row_normalised():
    q = FiniteScalarQuantizer(patch_dim=384, levels=[6] * 5, seed=2)
    assert torch.allclose(q.proj.weight.norm(dim=1), torch.ones(5), atol=1e-6)
    assert not q.proj.weight.requires_grad
    with torch.random.fork_rng():
        torch.manual_seed(2)
        lin = torch.nn.Linear(384, 5)
        torch.nn.init.xavier_normal_(lin.weight)
    assert torch.allclose(q.proj.weight, F.normalize(lin.weight, dim=1)) and torch.equal(q.proj.bias, lin.bias)
    x = torch.randn(2, 10, 384)
    assert torch.equal(FiniteScalarQuantizer(384, [6] * 5, seed=2)(x), q(x))
    m = small_module(quantizer_type="finite_scalar_quantizer")
    t = m.targets(torch.randn(2, 32000) * 0.1)
    assert t.shape[-1] == 2 and t.min() >= 0 and t.max() < 81


def test_fsq_codebook_size_must_hold_the_codes():
    # the 4- and 5-level FSQ experiments keep codebook_size = 7776 (head classes that never occur): allowed
    m = small_module(quantizer_type="finite_scalar_quantizer", codebook_size=7776, fsq_levels=[4] * 5)
    assert m.linear.out_features == 7776 * 2
    with pytest.raises(ValueError, match="more than MaskingModel.codebook_size"):
        small_module(quantizer_type="finite_scalar_quantizer", codebook_size=100, fsq_levels=[6] * 5)


# -- loss --------------------------------------------------------------------------------------------------------------
def test_masked_cross_entropy_reads_masked_positions_only():
    torch.manual_seed(0)
    logits = torch.randn(3, 20, 16, 2)
    targets = torch.randint(0, 16, (3, 20, 2))
    mask = span_mask(3, 20, 4, 0.5, torch.Generator().manual_seed(0))
    mask[0, :4] = True
    loss, acc = masked_cross_entropy(logits, targets, mask)
    ref = F.cross_entropy(logits[mask].permute(0, 2, 1).reshape(-1, 16), targets[mask].reshape(-1))
    assert torch.allclose(loss, ref)  # mean over every masked position, codebook and view
    logits2, targets2 = logits.clone(), targets.clone()
    logits2[~mask] = torch.randn_like(logits2[~mask]) * 100
    targets2[~mask] = torch.randint(0, 16, targets2[~mask].shape)
    loss2, acc2 = masked_cross_entropy(logits2, targets2, mask)
    assert torch.equal(loss, loss2) and torch.equal(acc, acc2)
    logits2[mask] += torch.randn_like(logits2[mask])
    assert not torch.equal(loss, masked_cross_entropy(logits2, targets2, mask)[0])


def test_module_loss_ignores_targets_at_unmasked_positions(monkeypatch):
    m = small_module().eval()
    audio = torch.randn(2, 48000) * 0.1
    base = m.masked_loss(audio, torch.Generator().manual_seed(5))
    n = base["n_tokens"] if "n_tokens" in base else m.targets(audio).shape[1]
    mask = span_mask(2, n, m.mask_window, m.mask_prob, torch.Generator().manual_seed(5))
    assert 0 < mask.float().mean() < 1
    real = m.tokens_from_patches

    def scrambled(patches):
        t = real(patches).clone()
        t[~mask[:, :t.shape[1]]] = torch.randint(0, m.codebook_size, t[~mask[:, :t.shape[1]]].shape)
        return t

    monkeypatch.setattr(m, "tokens_from_patches", scrambled)
    again = m.masked_loss(audio, torch.Generator().manual_seed(5))
    assert torch.equal(base["loss"], again["loss"]) and torch.equal(base["accuracy"], again["accuracy"])
    assert abs(base["masked_fraction"].item() - mask.float().mean().item()) < 1e-6


def test_module_shapes_and_encoder_keys():
    m = small_module()
    assert m.mask_window == 6 and m.n_targets == 2 and m.linear.out_features == 128
    keys = set(m.encoder_state_dict())
    assert keys and all(k.startswith(("net.", "embedding_layer.")) for k in keys)
    assert not any(k.startswith("input_view_module") for k in m.state_dict())  # the shared view is not duplicated
    wav = Waveform(sr=16000, patch_size=(1, 1024))
    other = MaskingModel(net=Conformer(embed_dim=32, depth=1, num_heads=2), target_views=[m.target_views[0]],
                         input_view=wav, codebook_size=32)
    assert other.input_view is wav and other.embedding_layer.in_features == 1024 and other.mask_window == 6
    out = other.masked_loss(torch.randn(2, 32000) * 0.1)
    assert torch.isfinite(out["loss"])
