"""The pretraining module (omar_rq.train.maskingmodel): the loss read at masked positions only, quantizer targets
that follow the seed and survive saving and loading, and the module's shapes and encoder keys."""
from __future__ import annotations

import io

import pytest
import torch
import torch.nn.functional as F

from omar_rq.conformer import Conformer
from omar_rq.train.masking import span_mask
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
