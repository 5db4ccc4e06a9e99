"""Any encoder through one contract — hear:, hf: and py: adapters end to end, `omar-bench validate` on the
built-in encoders and on a violation of each kind, omar_rq.hear against the HEAR API's own checks, and fingerprints."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from benchmarks.cli import main as cli
from benchmarks.encoders import load_encoder
from benchmarks.records import load_records
from benchmarks.validate import validate_encoder

from helpers import ROOT

TINY_SYNTH = "[nsynth]\nmax_instruments_per_family = 3\nnotes_per_instrument = 2\n"


@pytest.fixture
def tiny_synth(tmp_path, monkeypatch):
    cfg = tmp_path / "synth.toml"
    cfg.write_text(TINY_SYNTH)
    monkeypatch.setenv("OMAR_BENCH_SYNTH_CONFIG", str(cfg))
    return ["--cache-dir", str(tmp_path / "cache"), "--results-dir", str(tmp_path / "results")]


def run_all_layers(capsys, tmp_path, model, extra=()) -> list[dict]:
    rc = cli(["run", "--model", model, "--task", "synth-nsynth-pitch", "--layers", "all", "--probe", "linear",
              "--max-epochs", "3", "--quiet", "--cache-dir", str(tmp_path / "cache"), "--results-dir",
              str(tmp_path / "results"), *extra])
    err = capsys.readouterr().err
    assert rc == 0, err[-3000:]
    return sorted(load_records(tmp_path / "results"), key=lambda r: r["layer"])


# ------------------------------------------------------------------------------------------------------------------
# hf:
# ------------------------------------------------------------------------------------------------------------------
def _tiny_hf(path: Path, kind: str) -> Path:
    transformers = pytest.importorskip("transformers")
    torch.manual_seed(0)
    if kind == "wav2vec2":
        cfg = transformers.Wav2Vec2Config(hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                                          intermediate_size=64, conv_dim=(16, 16, 16, 16), conv_stride=(5, 4, 4, 4),
                                          conv_kernel=(10, 4, 4, 4), num_conv_pos_embeddings=16,
                                          num_conv_pos_embedding_groups=2)
        model = transformers.Wav2Vec2Model(cfg)
        fe = transformers.Wav2Vec2FeatureExtractor(sampling_rate=16000, do_normalize=True)
    elif kind == "whisper":
        cfg = transformers.WhisperConfig(d_model=32, encoder_layers=2, decoder_layers=1, encoder_attention_heads=2,
                                         decoder_attention_heads=2, encoder_ffn_dim=64, decoder_ffn_dim=64,
                                         num_mel_bins=80, max_source_positions=1500)
        model = transformers.WhisperModel(cfg)
        fe = transformers.WhisperFeatureExtractor(feature_size=80)
    else:
        cfg = transformers.ASTConfig(hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                                     intermediate_size=64, max_length=200, num_mel_bins=64)
        model = transformers.ASTModel(cfg)
        fe = transformers.ASTFeatureExtractor(max_length=200, num_mel_bins=64)
    model.save_pretrained(path)
    fe.save_pretrained(path)
    return path


def test_hf_model_runs_end_to_end_with_one_record_per_hidden_state(tmp_path, capsys, tiny_synth):
    model = _tiny_hf(tmp_path / "tiny-w2v2", "wav2vec2")
    recs = run_all_layers(capsys, tmp_path, f"hf:{model}")
    assert [r["layer"] for r in recs] == [0, 1, 2]  # the feature projection's output and the 2 blocks
    assert {r["model"] for r in recs} == {"hf:tiny-w2v2"}
    info = recs[0]["model_info"]
    assert info["kind"] == "hf" and info["sr"] == 16000 and info["eps"] == 50.0 and info["depth"] == 3
    assert all(np.isfinite(r["metrics"]["accuracy"]) for r in recs)


@pytest.mark.parametrize("kind, eps", [("whisper", 50.0), ("ast", 10.0)])
def test_hf_whisper_and_ast_give_time_frames(tmp_path, kind, eps):
    enc = load_encoder(f"hf:{_tiny_hf(tmp_path / kind, kind)}")
    assert enc.eps == eps and enc.num_layers == 3
    y = enc.model.extract_embeddings(torch.randn(2, 16000 * 3) * 0.1, [0, 2])
    assert y.shape[:3] == (2, 2, int(3 * eps))
    long = enc.model.extract_embeddings(torch.randn(1, int(16000 * 32.5)) * 0.1, [2])  # several windows
    assert long.shape[2] == int(32.5 * eps)
    checks = validate_encoder(enc, full=False)
    assert all(c.ok for c in checks), [c.line() for c in checks]


def test_remote_code_needs_the_flag(tmp_path, capsys):
    model = _tiny_hf(tmp_path / "remote", "wav2vec2")
    cfg = json.loads((model / "config.json").read_text())
    cfg["auto_map"] = {"AutoModel": "modeling_mert.MERTModel", "AutoConfig": "configuration_mert.MERTConfig"}
    cfg["model_type"] = "mert_model"
    (model / "config.json").write_text(json.dumps(cfg))
    capsys.readouterr()  # save_pretrained's own progress output
    rc = cli(["validate", f"hf:{model}", "--quick"])
    err = capsys.readouterr().err
    assert rc == 2 and "--trust-remote-code" in err and len(err.strip().splitlines()) == 1


# ------------------------------------------------------------------------------------------------------------------
# hear:
# ------------------------------------------------------------------------------------------------------------------
HEAR_MODULE = '''
import torch

class Model(torch.nn.Module):
    sample_rate = 16000
    scene_embedding_size = 24
    timestamp_embedding_size = 24

    def __init__(self, hop_ms=20):
        super().__init__()
        self.hop = int(self.sample_rate * hop_ms / 1000)
        self.proj = torch.nn.Linear(257, 24)
        torch.nn.init.normal_(self.proj.weight, generator=torch.Generator().manual_seed(0))

def load_model(model_file_path="", hop_ms=20):
    m = Model(hop_ms)
    if model_file_path:
        m.load_state_dict(torch.load(model_file_path, weights_only=True))
    return m

def get_timestamp_embeddings(audio, model):
    spec = torch.stft(audio, 512, model.hop, window=torch.hann_window(512), return_complex=True, center=False).abs()
    emb = model.proj(torch.log1p(spec.transpose(1, 2)))
    n = emb.shape[1]
    ts = (torch.arange(n) * model.hop + 256) / model.sample_rate * 1000
    return emb, ts.expand(audio.shape[0], n)

def get_scene_embeddings(audio, model):
    return get_timestamp_embeddings(audio, model)[0].mean(1)
'''


def test_hear_module_runs_end_to_end_and_options_reach_load_model(tmp_path, capsys, tiny_synth, monkeypatch):
    (tmp_path / "my_hear_module.py").write_text(HEAR_MODULE)
    monkeypatch.syspath_prepend(str(tmp_path))
    recs = run_all_layers(capsys, tmp_path, "hear:my_hear_module", ["--model-options", '{"hop_ms": 25}'])
    assert [r["layer"] for r in recs] == [0] and recs[0]["model"] == "hear:my_hear_module"
    assert recs[0]["model_info"]["eps"] == pytest.approx(40.0) and recs[0]["model_info"]["options"] == {"hop_ms": 25}
    a = load_encoder("hear:my_hear_module", options={"hop_ms": 25})
    b = load_encoder("hear:my_hear_module", options={"hop_ms": 20})
    assert a.fingerprint != b.fingerprint  # options are part of the cache key
    weights = tmp_path / "w.pt"
    state = {k: v + 1 for k, v in a.model.model.state_dict().items()}
    torch.save(state, weights)
    c = load_encoder("hear:my_hear_module", options={"hop_ms": 25}, weights=str(weights))
    assert c.fingerprint != a.fingerprint  # so are the weights
    sys.modules.pop("my_hear_module", None)


# ------------------------------------------------------------------------------------------------------------------
# py:
# ------------------------------------------------------------------------------------------------------------------
PY_MODULE = '''
import torch

class Enc:
    sr, eps, num_layers = 16000, 31.25, 3

    def __init__(self, scale=1.0):
        self.scale = scale
        self.fingerprint = f"py-test-{scale}"

    def extract_embeddings(self, audio, layers):
        frames = audio[:, : audio.shape[1] // 512 * 512].reshape(audio.shape[0], -1, 512)
        spec = torch.fft.rfft(frames).abs()[..., :64]
        outs = [torch.log1p(spec * self.scale), torch.log1p(spec * self.scale) ** 2,
                torch.log1p(spec[..., :24] * self.scale)]     # layers differ in width: a list, one per layer
        return [outs[i] for i in layers]

def make(scale=1.0):
    return Enc(scale)
'''


def test_python_factory_runs_end_to_end(tmp_path, capsys, tiny_synth, monkeypatch):
    (tmp_path / "my_py_encoder.py").write_text(PY_MODULE)
    monkeypatch.syspath_prepend(str(tmp_path))
    recs = run_all_layers(capsys, tmp_path, "py:my_py_encoder:make", ["--model-options", '{"scale": 2.0}'])
    assert [r["layer"] for r in recs] == [0, 1, 2] and recs[0]["model"] == "py:my_py_encoder:make"
    assert all(np.isfinite(r["metrics"]["accuracy"]) for r in recs)   # the 24-wide layer trains in its own fit
    assert recs[0]["model_info"]["eps"] == 31.25
    sys.modules.pop("my_py_encoder", None)


def test_madmom_rnn_encoder_layers(tmp_path):
    enc = load_encoder("py:benchmarks.adapters.madmom_rnn:encoder")
    assert (enc.sr, enc.eps, enc.num_layers) == (44100, 100.0, 3)
    t = np.arange(4 * 44100) / 44100
    clicks = (np.sin(2 * np.pi * 1000 * t) * (np.mod(t, 0.5) < 0.01)).astype(np.float32)
    out = enc.model.extract_embeddings(torch.from_numpy(clicks)[None], [0, 1, 2])
    assert [tuple(o.shape) for o in out] == [(1, 400, 266), (1, 400, 8), (1, 400, 1)]
    act = out[2][0, :, 0].numpy()
    peaks = np.flatnonzero((act[1:-1] > act[:-2]) & (act[1:-1] >= act[2:]) & (act[1:-1] > 0.3)) + 1
    assert len(peaks) >= 5  # a beat every 0.5 s is found by the pretrained networks


# ------------------------------------------------------------------------------------------------------------------
# validate
# ------------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("model", ["mel", "random-tiny"])
def test_validate_passes_on_built_in_encoders(capsys, model):
    assert cli(["validate", model, "--long-minutes", "10", "--json"]) == 0
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert out["ok"] and {c["name"] for c in out["checks"]} >= {"shapes", "frame_rate", "deterministic",
                                                                   "batch_invariant", "long_input", "memory"}


def test_validate_passes_on_a_released_format_model(capsys):
    from helpers import shared_or_skip

    model = shared_or_skip("fixtures", "omar-rq", "base")
    assert cli(["validate", str(model), "--quick"]) == 0


BROKEN = '''
import torch

class Base:
    sr, eps, num_layers = 8000, 25.0, 1
    fingerprint = "broken"

    def frames(self, audio):
        n = audio.shape[1] // 320
        return audio[:, : n * 320].reshape(audio.shape[0], n, 320)[..., :16]

    def extract_embeddings(self, audio, layers):
        return self.frames(audio)[None].repeat(len(layers), 1, 1, 1)

class BadRate(Base):
    sr = "8000"

class BadShape(Base):
    def extract_embeddings(self, audio, layers):
        return self.frames(audio)

class BadEps(Base):
    eps = 50.0

class Nan(Base):
    def extract_embeddings(self, audio, layers):
        y = super().extract_embeddings(audio, layers).clone()
        y[..., 0, 0] = float("nan")
        return y

class Random(Base):
    def extract_embeddings(self, audio, layers):
        return super().extract_embeddings(audio, layers) + torch.rand(1)

class BatchMix(Base):
    def extract_embeddings(self, audio, layers):
        y = super().extract_embeddings(audio, layers)
        return y - y.mean(dim=1, keepdim=True)

class NoShort(Base):
    def extract_embeddings(self, audio, layers):
        if audio.shape[1] < 2 * self.sr:
            raise RuntimeError("input shorter than 2 s")
        return super().extract_embeddings(audio, layers)

class Misaligned(Base):
    def extract_embeddings(self, audio, layers):
        y = super().extract_embeddings(audio, layers)
        if audio.shape[1] > 60 * self.sr:   # a windowing bug on long inputs: frames shifted by 7
            y = torch.roll(y, 7, dims=2)
        return y

class Hungry(Base):
    def extract_embeddings(self, audio, layers):
        if audio.shape[1] > 50 * self.sr:
            waste = torch.ones(900 * 2 ** 20)   # 3.6 GB that a bounded encoder would never hold
            waste += 1
        return super().extract_embeddings(audio, layers)

def make(kind):
    return globals()[kind]()
'''


@pytest.mark.parametrize("kind, check", [("BadRate", "sample_rate"), ("BadShape", "shapes"), ("BadEps", "frame_rate"),
                                         ("Nan", "finite"), ("Random", "deterministic"),
                                         ("BatchMix", "batch_invariant"), ("NoShort", "short_input"),
                                         ("Misaligned", "long_input"), ("Hungry", "memory")])
def test_validate_catches_each_kind_of_violation(tmp_path, capsys, monkeypatch, kind, check):
    (tmp_path / "broken_encoders.py").write_text(BROKEN)
    monkeypatch.syspath_prepend(str(tmp_path))
    rc = cli(["validate", "py:broken_encoders:make", "--model-options", json.dumps({"kind": kind}),
              "--long-minutes", "1", "--json"])
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    failed = {c["name"]: c["detail"] for c in out["checks"] if not c["ok"]}
    assert rc == 1 and check in failed, out
    assert failed[check]  # a reason in words
    sys.modules.pop("broken_encoders", None)


def test_run_refuses_an_encoder_that_breaks_the_contract(tmp_path, capsys, monkeypatch, tiny_synth):
    (tmp_path / "broken_encoders.py").write_text(BROKEN)
    monkeypatch.syspath_prepend(str(tmp_path))
    rc = cli(["run", "--model", "py:broken_encoders:make", "--model-options", '{"kind": "Nan"}', "--task",
              "synth-nsynth-pitch", "--quiet", *tiny_synth])
    err = capsys.readouterr().err
    assert rc == 2 and "finite" in err and "omar-bench validate" in err and len(err.strip().splitlines()) == 1
    sys.modules.pop("broken_encoders", None)


# ------------------------------------------------------------------------------------------------------------------
# omar_rq.hear against the HEAR API's own checks (hear-validator's, re-run here: it needs TensorFlow)
# ------------------------------------------------------------------------------------------------------------------
def test_omar_rq_hear_module_passes_the_hear_api_checks():
    import omar_rq.hear as hear

    model = hear.load_model(str(ROOT / "cfg/models/tiny.gin"), load_weights=False)
    assert isinstance(model, torch.nn.Module)
    assert model.sample_rate in (16000, 22050, 44100, 48000)
    assert isinstance(model.scene_embedding_size, int) and isinstance(model.timestamp_embedding_size, int)
    for length in (1.07, 1.98, 4.0):
        audio = torch.rand(2, int(length * model.sample_rate)) * 2 - 1
        emb, ts = hear.get_timestamp_embeddings(audio, model)
        assert emb.dtype == torch.float32 and emb.ndim == 3 and ts.ndim == 2
        assert emb.shape[0] == 2 and emb.shape[:2] == ts.shape and emb.shape[2] == model.timestamp_embedding_size
        diff = np.diff(ts.numpy())
        avg = diff.mean()
        assert np.max(np.abs(diff - avg)) <= 1  # regular intervals
        assert ts.max() >= 1000 * length - 2 * avg and ts.max() <= 1000 * length
        assert ts.min() <= avg
    scene = hear.get_scene_embeddings(torch.rand(4, int(2.74 * model.sample_rate)) * 2 - 1, model)
    assert scene.dtype == torch.float32 and scene.shape == (4, model.scene_embedding_size)
    multi = hear.load_model(str(ROOT / "cfg/models/tiny.gin"), layers=[0, -1], load_weights=False)
    assert multi.timestamp_embedding_size == 2 * model.timestamp_embedding_size
