"""Full-size released architectures, input validation, early stop, windowing, checkpoint errors."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from omar_rq import get_model
from omar_rq.checkpoint import CheckpointError, CheckpointMismatch
from omar_rq.config import ConfigError
from omar_rq.model import OmarRQ
from omar_rq.views import MelSpectrogram, Waveform
from omar_rq.conformer import Conformer

from helpers import ROOT

RELEASED = {  # name: (input patch dim, depth, dim, heads) from the spec / released configs
    "base": (96 * 4, 24, 1024, 8),
    "multicodebook": (96 * 4, 24, 1024, 8),
    "multifeature": (1280, 12, 512, 8),
    "multifeature-25hz": (960, 24, 1024, 8),
    "multifeature-25hz-fsq": (960, 24, 1024, 8),
}


def expected_encoder_keys(patch_dim: int, depth: int, d: int, heads: int) -> dict[str, tuple]:
    """Key names and shapes of a released ``model.ckpt``, written out from the spec (§1, §4, §5)."""
    keys = {"embedding_layer.weight": (d, patch_dim), "embedding_layer.bias": (d,)}
    for i in range(depth):
        p = f"net.layers.{i}."
        for ff in ("ff1", "ff2"):
            keys |= {f"{p}{ff}.module.0.weight": (d,), f"{p}{ff}.module.0.bias": (d,),
                     f"{p}{ff}.module.1.weight": (4 * d, d), f"{p}{ff}.module.1.bias": (4 * d,),
                     f"{p}{ff}.module.4.weight": (d, 4 * d), f"{p}{ff}.module.4.bias": (d,)}
        keys |= {f"{p}attention.qkv.weight": (3 * d, d), f"{p}attention.proj.weight": (d, d),
                 f"{p}attention.proj.bias": (d,), f"{p}attention.rotary_emb.freqs": (d // heads // 2,),
                 f"{p}norm1.layer_norm.weight": (d,), f"{p}norm1.layer_norm.bias": (d,),
                 f"{p}conv_block.layer_norm.weight": (d,), f"{p}conv_block.layer_norm.bias": (d,),
                 f"{p}conv_block.module.0.weight": (2 * d, d, 1), f"{p}conv_block.module.0.bias": (2 * d,),
                 f"{p}conv_block.module.2.weight": (d, 1, 31), f"{p}conv_block.module.2.bias": (d,),
                 f"{p}conv_block.module.3.weight": (d,), f"{p}conv_block.module.3.bias": (d,),
                 f"{p}conv_block.module.3.running_mean": (d,), f"{p}conv_block.module.3.running_var": (d,),
                 f"{p}conv_block.module.3.num_batches_tracked": (),
                 f"{p}conv_block.module.5.weight": (d, d, 1), f"{p}conv_block.module.5.bias": (d,),
                 f"{p}norm2.weight": (d,), f"{p}norm2.bias": (d,)}
    return keys


@pytest.mark.parametrize("name", sorted(RELEASED))
def test_released_full_size_key_names_and_shapes(name):
    with torch.device("meta"):  # full-size weights without allocating them
        model = get_model(config_file=ROOT / "cfg" / "models" / f"{name}.gin", load_weights=False, device="meta")
    got = {k: tuple(v.shape) for k, v in model.encoder_state_dict().items()}
    assert got == expected_encoder_keys(*RELEASED[name])


@pytest.mark.parametrize("name, sr, shape", [("base", 16000, (1, 1, 15, 1024)),
                                             ("multifeature-25hz-fsq", 24000, (1, 1, 25, 1024))])
def test_released_full_size_one_second(name, sr, shape):
    model = get_model(config_file=ROOT / "cfg" / "models" / f"{name}.gin", load_weights=False)
    assert model.sr == sr
    out = model.extract_embeddings(torch.randn(1, sr) * 0.1, [-1])
    assert tuple(out.shape) == shape and torch.isfinite(out).all()
    with pytest.raises(ValueError, match="empty"):
        model.extract_embeddings(torch.zeros(1, 0))
    with pytest.raises(ValueError, match="NaN"):
        model.extract_embeddings(torch.full((1, sr), float("nan")))
    with pytest.raises(TypeError, match="numpy"):
        model.extract_embeddings(np.zeros((1, sr), dtype=np.float32))


def tiny_model(view=None, depth=3, **kw) -> OmarRQ:
    torch.manual_seed(0)
    view = view or MelSpectrogram(sr=16000, norm_mean=2.0, norm_std=1.3)
    model = OmarRQ(view, Conformer(embed_dim=32, depth=depth, num_heads=4, dropout=0.0), **kw)
    for m in model.modules():  # random BatchNorm statistics so the conv module is not an identity in eval
        if isinstance(m, torch.nn.BatchNorm1d):
            m.running_mean.normal_(0, 0.1)
            m.running_var.uniform_(0.5, 1.5)
    return model.eval()


# -- input validation (each message names the problem) -----------------------------------------------------------------
@pytest.mark.parametrize("audio, exc, words", [
    (torch.zeros(1, 0), ValueError, "empty"),
    (torch.zeros(0, 16000), ValueError, "empty"),
    (torch.full((1, 16000), float("nan")), ValueError, "NaN"),
    (torch.tensor([[0.0, float("inf")] * 8000]), ValueError, "infinite"),
    (np.zeros((1, 16000), dtype=np.float32), TypeError, "numpy"),
    (torch.zeros(16000), ValueError, "2-D"),
    (torch.zeros(1, 1, 16000), ValueError, "2-D"),
    (torch.zeros(1, 16000, dtype=torch.int16), TypeError, "floating"),
    (torch.zeros(1, 100), ValueError, "too short"),
])
def test_bad_audio_raises_naming_the_problem(audio, exc, words):
    with pytest.raises(exc, match=words):
        tiny_model().extract_embeddings(audio)


@pytest.mark.parametrize("layers", [[3], [-4], [0, 7]])
def test_layer_out_of_range_names_the_valid_range(layers):
    with pytest.raises(IndexError, match=r"-3\.\.2"):
        tiny_model().extract_embeddings(torch.randn(1, 16000), layers)


def test_layers_sorted_deduplicated_and_negative():
    model = tiny_model()
    x = torch.randn(2, 16000)
    a = model.extract_embeddings(x, [2, 0, -1, 0])
    b = model.extract_embeddings(x, [0, 2])
    assert a.shape == (2, 2, 15, 32) and torch.equal(a, b)
    assert torch.equal(model.extract_embeddings(x, [-1])[0], b[1])


def test_encoder_stops_after_deepest_requested_layer():
    model = tiny_model(depth=3)
    ran = []
    for i, block in enumerate(model.net.layers):
        block.register_forward_hook(lambda m, inp, out, i=i: ran.append(i))
    model.extract_embeddings(torch.randn(1, 16000), [0])
    assert ran == [0]
    ran.clear()
    model.extract_embeddings(torch.randn(1, 16000), [1, 0])
    assert ran == [0, 1]


# -- windowing ------------------------------------------------------------------------------------------------
def test_audio_within_one_window_is_the_whole_clip_result():
    model = tiny_model(window_seconds=2.0, overlap_seconds=0.5)
    x = torch.randn(1, model.window_samples())
    whole = model(model.check_audio(x), [0, 2])
    assert torch.equal(model.extract_embeddings(x, [0, 2]), torch.stack(whole))


@pytest.mark.parametrize("view", [MelSpectrogram(sr=16000, norm_mean=2.0, norm_std=1.3),
                                  Waveform(sr=24000, norm_mean=0, norm_std=0.2, patch_size=(1, 960))],
                         ids=["mel", "waveform"])
def test_long_audio_is_windowed_with_bounded_context(view):
    model = tiny_model(view=view, window_seconds=4.0, overlap_seconds=1.0)
    x = torch.randn(2, int(view.sr * 13.3)) * 0.1
    n = view.n_tokens(x.shape[1])
    out = model.extract_embeddings(x, [0, 2])
    assert out.shape == (2, 2, n, 32)
    whole = torch.stack(model(x, [0, 2]))
    # tokens of the first window far from its right edge (> 15 tokens per block) see exactly the same context
    k = model.window_tokens()
    safe = k - 15 * 3 - 1
    assert safe > 0
    torch.testing.assert_close(out[:, :, :safe], whole[:, :, :safe], rtol=1e-4, atol=1e-5)
    starts, spans = model.window_plan(n)
    assert spans[0][0] == 0 and spans[-1][1] == n and all(a[1] == b[0] for a, b in zip(spans, spans[1:]))
    assert starts[-1] == n - k  # the last window ends at the clip's last token


def test_window_plan_spans_are_the_middle_of_overlaps():
    model = tiny_model(window_seconds=4.0, overlap_seconds=1.0)
    k, o = model.window_tokens(), round(1.0 * model.eps)
    starts, spans = model.window_plan(200)
    assert starts[:2] == [0, k - o]
    assert spans[0] == (0, (k - o + k) // 2)


# -- config / checkpoint errors --------------------------------------------------------------------------------
def _save_model(tmp_path: Path, config_text: str, state: dict) -> Path:
    tmp_path.mkdir(parents=True, exist_ok=True)
    (tmp_path / "config.gin").write_text(config_text)
    torch.save(state, tmp_path / "model.ckpt")
    return tmp_path / "config.gin"


TINY_CONFIG = """
build_module.representation = @nets.melspectrogram.MelSpectrogram
build_module.net = @nets.conformer.Conformer
build_module.module = @modules.maskingmodel.MaskingModel
build_module.ckpt_path = "model.ckpt"
train.params = {"max_steps": 10}
nets.melspectrogram.MelSpectrogram.sr = 16000
nets.conformer.Conformer.embed_dim = 32
nets.conformer.Conformer.depth = 2
nets.conformer.Conformer.num_heads = 4
"""


def test_config_that_does_not_match_checkpoint_names_keys(tmp_path):
    good = get_model(config_file=_save_model(tmp_path / "a", TINY_CONFIG, {}), load_weights=False)
    state = good.encoder_state_dict()
    state.pop("net.layers.1.norm2.bias")
    state["net.layers.5.extra.weight"] = torch.zeros(3)
    state["embedding_layer.weight"] = torch.zeros(32, 100)
    cfg = _save_model(tmp_path / "b", TINY_CONFIG, state)
    with pytest.raises(CheckpointMismatch) as e:
        get_model(config_file=cfg)
    msg = str(e.value)
    assert "missing keys" in msg and "net.layers.1.norm2.bias" in msg
    assert "unexpected keys" in msg and "net.layers.5.extra.weight" in msg
    assert "mis-shaped" in msg and "embedding_layer.weight" in msg and "(32, 100)" in msg


def test_wider_config_than_checkpoint_is_reported(tmp_path):
    small = get_model(config_file=_save_model(tmp_path / "a", TINY_CONFIG, {}), load_weights=False)
    cfg = _save_model(tmp_path / "b", TINY_CONFIG.replace("depth = 2", "depth = 3"), small.encoder_state_dict())
    with pytest.raises(CheckpointMismatch, match="net.layers.2"):
        get_model(config_file=cfg)


@pytest.mark.parametrize("payload, words", [
    ([1, 2, 3], "not a state dict"),
    ({"foo.weight": torch.zeros(2)}, "no encoder weights"),
    ({"net.layers.0.ff1.module.0.weight": "a string"}, "not tensors"),
])
def test_checkpoint_that_is_not_a_state_dict(tmp_path, payload, words):
    cfg = _save_model(tmp_path, TINY_CONFIG, payload)
    with pytest.raises(CheckpointError, match=words) as e:
        get_model(config_file=cfg)
    assert "model.ckpt" in str(e.value)


def test_checkpoint_with_pickled_objects_is_refused(tmp_path):
    """weights_only=True: an arbitrary pickled object is not executed, and the error names the file."""
    cfg = _save_model(tmp_path, TINY_CONFIG, {})
    torch.save({"state_dict": {}, "callback": Path("x")}, tmp_path / "model.ckpt")
    with pytest.raises(CheckpointError, match="weights_only=True"):
        get_model(config_file=cfg)


def test_corrupt_checkpoint_file(tmp_path):
    cfg = _save_model(tmp_path, TINY_CONFIG, {})
    (tmp_path / "model.ckpt").write_bytes(b"not a torch file")
    with pytest.raises(CheckpointError, match="model.ckpt"):
        get_model(config_file=cfg)


def test_missing_checkpoint_says_where_it_looked(tmp_path):
    cfg = _save_model(tmp_path, TINY_CONFIG.replace('"model.ckpt"', '"/cluster/run/weights.ckpt"'), {})
    with pytest.raises(CheckpointError, match="weights.ckpt") as e:
        get_model(config_file=cfg)
    assert str(tmp_path / "weights.ckpt") in str(e.value)


def test_not_a_model_config(tmp_path):
    (tmp_path / "x.gin").write_text('train.params = {"a": 1}\n')
    with pytest.raises(ConfigError, match="build_module"):
        get_model(config_file=tmp_path / "x.gin")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ConfigError, match="Expected config.gin"):
        get_model(config_file=tmp_path / "empty")


def test_exactly_one_source():
    with pytest.raises(ValueError, match="exactly one"):
        get_model()
    with pytest.raises(ValueError, match="exactly one"):
        get_model(model_id="a/b", config_file="c.gin")


def test_encodec_config_without_weights_says_how_to_fix():
    with pytest.raises(FileNotFoundError, match="encodec_weights_path"):
        get_model(config_file=ROOT / "cfg" / "models" / "s8.gin", load_weights=False)


TRANSFORMER_CONFIG = """
build_module.representation = @nets.melspectrogram.MelSpectrogram
build_module.net = @nets.transformer.Transformer
build_module.ckpt_path = "model.ckpt"
nets.melspectrogram.MelSpectrogram.sr = 16000
nets.transformer.Transformer.patch_size = (96, 4)
nets.transformer.Transformer.in_chans = 1
nets.transformer.Transformer.embed_dim = 32
nets.transformer.Transformer.head_dims = 32
nets.transformer.Transformer.depth = 3
nets.transformer.Transformer.num_heads = 4
nets.transformer.Transformer.do_vit_tokenization = False
nets.transformer.Transformer.do_deepnorm = {deepnorm}
"""


@pytest.mark.parametrize("deepnorm", [True, False])
def test_plain_transformer_loads_strictly_and_selects_layers(tmp_path, deepnorm):
    """§8: the early single-view Transformer: keys pos_embed / transformer.{i}.*, causal attention, layer selection;
    the positional table's length comes from the checkpoint (a longer input grows it with zeros)."""
    text = TRANSFORMER_CONFIG.format(deepnorm=deepnorm)
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "config.gin").write_text(text)
    model = get_model(config_file=tmp_path / "a", load_weights=False)
    keys = set(model.encoder_state_dict())
    assert "net.pos_embed" in keys and "net.transformer.2.attn.qkv.weight" in keys
    assert "net.transformer.0.attn.qkv.bias" not in keys and "net.transformer.0.mlp.3.weight" in keys
    assert ("net.transformer.0.norm1.layer_norm.weight" in keys) == deepnorm
    state = model.encoder_state_dict()
    state["net.pos_embed"] = torch.randn(1, 20, 32)  # a shorter table than the default
    _save_model(tmp_path / "b", text, state)
    loaded = get_model(config_file=tmp_path / "b")
    x = torch.randn(2, 16000 * 2)  # 31 tokens > 20 positions
    out = loaded.extract_embeddings(x, [0, -1])
    assert out.shape == (2, 2, 31, 32) and torch.isfinite(out).all()
    # causal attention: the first tokens do not depend on later audio
    y = x.clone()
    y[:, 16000:] = torch.randn(2, 16000)
    torch.testing.assert_close(loaded.extract_embeddings(y, [0])[:, :, :10], out[:1, :, :10])
