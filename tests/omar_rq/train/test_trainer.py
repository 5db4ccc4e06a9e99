"""Building the SSL module from configs, the audio data module, the schedule, and pretraining end to end
(released-format output loadable with get_model, resume from last.ckpt, bad files skipped, 2-process CPU DDP)."""
from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

import omar_rq
from omar_rq.train.data import AudioDataModule, DataSetupError, list_audio_files, read_file_list
from omar_rq.checkpoint import load_encoder_weights
from omar_rq.config import ConfigError
from omar_rq.train.maskingmodel import MaskingModel
from omar_rq.config import flatten_config
from omar_rq.train import PretrainError, build_pretraining_module, pretrain
from omar_rq.train.callbacks import CosineAnnealingCallback, read_metrics, warmup_cosine_lr
from omar_rq.train.trainer import _trainer_params
from omar_rq.views import EnCodec, Waveform

from helpers import shared_or_skip

from helpers import ROOT

PRETRAIN = ROOT / "cfg" / "pretrain"
TINY = PRETRAIN / "tiny.gin"
SEED_MODELS = ["b0", "b1", "b3", "s1", "s3", "s4", "s5", "s6", "s7", "s8", "l3", "l5", "l6", "l7", "l8", "f0", "f1"]
RELEASED = ["base", "multicodebook", "multifeature", "multifeature-25hz", "multifeature-25hz-fsq"]


def write_audio(folder: Path, n: int = 6, seconds: float = 1.5, sr: int = 16000, fmt: str = "wav") -> list[Path]:
    """``n`` short tone + noise clips (deterministic)."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    out = []
    for i in range(n):
        t = np.arange(int(seconds * sr)) / sr
        x = 0.3 * np.sin(2 * np.pi * (110 * (i + 1)) * t) + 0.05 * rng.standard_normal(t.shape)
        p = folder / f"clip{i}.{fmt}"
        sf.write(p, x.astype(np.float32), sr)
        out.append(p)
    return out


# -- configs -----------------------------------------------------------------------------------------------------------
def test_every_seed_and_released_model_has_a_pretraining_config():
    assert {p.stem for p in PRETRAIN.glob("*.gin")} >= set(SEED_MODELS + RELEASED + ["tiny"])


def test_includes_resolve_from_any_working_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    text = flatten_config(TINY)
    assert "include" not in "\n".join(line for line in text.splitlines() if not line.startswith("#"))
    module, info = build_pretraining_module(TINY)
    assert isinstance(module, MaskingModel) and info.train_params["max_steps"] > 0
    assert info.data["num_workers"] == 0 and info.warmup_steps == int(0.1 * info.train_params["max_steps"])
    (tmp_path / "a.gin").write_text("include 'b.gin'\n")
    (tmp_path / "b.gin").write_text("include 'a.gin'\n")
    with pytest.raises(ConfigError, match="cycle"):
        flatten_config(tmp_path / "a.gin")


_ENCODEC_CACHE: dict = {}


@pytest.fixture
def encodec_loads_on_cpu(monkeypatch):
    """Full-size models are built on the meta device; the (small, frozen) EnCodec weights still load on the CPU."""
    transformers = pytest.importorskip("transformers")
    real = transformers.EncodecModel.from_pretrained

    def from_pretrained(path, *args, **kwargs):  # loaded once per test session file: a frozen, shared encoder
        if str(path) not in _ENCODEC_CACHE:
            with torch.device("cpu"):
                _ENCODEC_CACHE[str(path)] = real(path, *args, **kwargs)
        return _ENCODEC_CACHE[str(path)]

    monkeypatch.setattr(transformers.EncodecModel, "from_pretrained", from_pretrained)


@pytest.mark.parametrize("name", SEED_MODELS + RELEASED)
def test_pretraining_configs_build_the_architecture_of_the_model_config(name, request):
    """Each cfg/pretrain/<id>.gin builds a MaskingModel whose encoder keys/shapes are get_model's for <id>."""
    needs_encodec = "EnCodec" in flatten_config(PRETRAIN / f"{name}.gin")
    enc = None
    if needs_encodec:
        enc = shared_or_skip("fixtures", "omar-rq", "encodec-small", "encodec")
        request.getfixturevalue("encodec_loads_on_cpu")
    with torch.device("meta"):  # full-size models without allocating them
        module, info = build_pretraining_module(PRETRAIN / f"{name}.gin", encodec_weights_path=enc)
        ref = omar_rq.get_model(config_file=ROOT / "cfg" / "models" / f"{name}.gin", load_weights=False,
                                device="meta", encodec_weights_path=enc)
    got = {k: tuple(v.shape) for k, v in module.state_dict().items() if k.startswith(("net.", "embedding_layer."))}
    assert got == {k: tuple(v.shape) for k, v in ref.encoder_state_dict().items()}
    assert module.input_view.patch_size == ref.view.patch_size and module.input_view.sr == ref.sr
    assert info.train_params["precision"] == "bf16-mixed" and info.train_params["accelerator"] == "gpu"
    assert info.train_params["strategy"].startswith("ddp") and info.warmup_steps == 30000
    assert info.data["num_frames"] / info.data["orig_freq"] == 30.0  # 30 s crops
    assert module.n_targets == module.num_codebooks * len(info.target_views)


@pytest.mark.parametrize("name", RELEASED)
def test_upstream_released_configs_build_a_masking_model(name, request):
    cfg = shared_or_skip("upstream-configs", "released-full", f"{name}.gin")
    enc = None
    if "EnCodec" in cfg.read_text():
        enc = shared_or_skip("fixtures", "omar-rq", "encodec-small", "encodec")
        request.getfixturevalue("encodec_loads_on_cpu")
    stats = enc.parent / "encodec_stats.json" if enc else None  # the config's stats file is on the authors' cluster
    with torch.device("meta"):
        module, info = build_pretraining_module(cfg, encodec_weights_path=enc, encodec_stats_path=stats)
    assert module.net.depth in (12, 24)
    if name == "multifeature-25hz-fsq":  # the input view is not among the targets
        assert isinstance(module.input_view, Waveform) and module.input_view.patch_size == (1, 960)
        assert info.input_view not in info.target_views and len(module.target_views) == 3
        assert module.quantizer_type == "finite_scalar_quantizer" and module.quantizers[0].levels == [6] * 5
        assert module.quantizers[0].preserve_symmetry and module.n_targets == 6 and module.mask_window == 10
        assert any(isinstance(v, EnCodec) for v in module.target_views)


# -- schedule and trainer settings -----------------------------------------------------------------------------------
def test_warmup_cosine_schedule():
    lr, warm, total, eta = 1e-3, 10, 110, 1e-6
    assert warmup_cosine_lr(0, lr, warm, total, eta) == pytest.approx(lr / warm)
    assert warmup_cosine_lr(4, lr, warm, total, eta) == pytest.approx(lr * 5 / warm)
    assert warmup_cosine_lr(warm, lr, warm, total, eta) == pytest.approx(lr)
    assert warmup_cosine_lr(60, lr, warm, total, eta) == pytest.approx(eta + (lr - eta) / 2)
    assert warmup_cosine_lr(total, lr, warm, total, eta) == pytest.approx(eta)
    assert warmup_cosine_lr(total + 50, lr, warm, total, eta) == pytest.approx(eta)
    steps = [warmup_cosine_lr(s, lr, warm, total, eta) for s in range(total)]
    assert steps[:warm] == sorted(steps[:warm]) and steps[warm:] == sorted(steps[warm:], reverse=True)
    cb = CosineAnnealingCallback(warmup_steps=warm, eta_min=eta)
    assert cb.lr_at(60, lr, total) == warmup_cosine_lr(60, lr, warm, total, eta)


def test_trainer_settings_on_a_cpu_machine(caplog):
    _, info = build_pretraining_module(TINY)
    info.train_params = {"accelerator": "gpu", "devices": 4, "num_nodes": 2, "max_steps": 10,
                         "precision": "bf16-mixed", "strategy": "ddp_find_unused_parameters_true"}
    if not torch.cuda.is_available():
        with pytest.raises(PretrainError, match="--accelerator cpu"):
            _trainer_params(info, {}, precision_given=False)
    with caplog.at_level(logging.WARNING, logger="omar_rq.train"):
        params = _trainer_params(info, {"accelerator": "cpu", "devices": 1, "num_nodes": 1}, precision_given=False)
    assert params["precision"] == "32-true" and "32-bit" in caplog.text
    assert _trainer_params(info, {"accelerator": "cpu", "precision": "bf16-mixed"},
                           precision_given=True)["precision"] == "bf16-mixed"
    info.train_params = {"accelerator": "cpu"}
    with pytest.raises(PretrainError, match="max_steps"):
        _trainer_params(info, {}, precision_given=False)


def test_placeholder_data_path_is_a_clear_error(tmp_path):
    with pytest.raises(PretrainError, match="--data-dir"):
        pretrain(TINY, output=tmp_path / "out")


# -- data --------------------------------------------------------------------------------------------------------------
def test_datamodule_folder_split_crops_and_padding(tmp_path):
    write_audio(tmp_path / "a", n=8, seconds=1.5, sr=22050)
    write_audio(tmp_path / "a" / "sub", n=2, seconds=0.5, sr=16000, fmt="flac")  # shorter than a crop: padded
    (tmp_path / "a" / "notes.txt").write_text("not audio")
    assert len(list_audio_files(tmp_path / "a")) == 10
    dm = AudioDataModule(data_dir=tmp_path / "a", batch_size=4, num_frames=16000, orig_freq=16000, new_freq=16000,
                         val_fraction=0.2, seed=1)
    dm.setup()
    assert len(dm.train_files) == 8 and len(dm.val_files) == 2 and not set(dm.train_files) & set(dm.val_files)
    dm2 = AudioDataModule(data_dir=tmp_path / "a", batch_size=4, num_frames=16000, new_freq=16000,
                          val_fraction=0.2, seed=1)
    dm2.setup()
    assert dm2.val_files == dm.val_files  # seeded hold-out
    batch = next(iter(dm.train_dataloader()))
    assert batch.shape == (4, 16000) and batch.dtype == torch.float32
    v1 = torch.cat(list(dm.val_dataloader()))
    v2 = torch.cat(list(dm.val_dataloader()))
    assert torch.equal(v1, v2)  # deterministic validation crops
    short = [i for i, e in enumerate(dm._train.entries) if e.n_samples < 16000]
    assert short and dm._train.crop(short[0], 0, 16000)[8000:].abs().max() == 0  # zero-padded at the end
    # crop length: num_frames counts samples at orig_freq (the released configs: 480000 at 16 kHz = 30 s)
    dm3 = AudioDataModule(data_dir=tmp_path / "a", num_frames=480000, orig_freq=16000, new_freq=24000)
    assert dm3.crop_seconds == 30.0 and dm3.crop_samples == 720000


def test_datamodule_file_lists_lazy_reading_and_half_precision(tmp_path):
    files = write_audio(tmp_path / "root" / "x", n=5, seconds=2.0, sr=16000)
    (tmp_path / "root" / "train.txt").write_text("# training\n" + "\n".join(f"x/{f.name}" for f in files[:4]) + "\n\n")
    (tmp_path / "root" / "val.txt").write_text(f"x/{files[4].name}\n")
    assert read_file_list("train.txt", tmp_path / "root") == [tmp_path / "root" / "x" / f.name for f in files[:4]]
    dm = AudioDataModule(data_dir=tmp_path / "root", filelist_train="train.txt", filelist_val="val.txt",
                         batch_size=2, num_frames=8000, new_freq=16000, cache="never", half_precision=True)
    dm.setup()
    assert len(dm.train_files) == 4 and dm.val_files == [tmp_path / "root" / "x" / files[4].name]
    batch = next(iter(dm.train_dataloader()))
    assert batch.shape == (2, 8000) and batch.dtype == torch.float16
    cached = AudioDataModule(data_dir=tmp_path / "root", filelist_train="train.txt", filelist_val="val.txt",
                             batch_size=2, num_frames=8000, new_freq=16000, cache="always")
    cached.setup()  # the same validation crop read lazily and from memory
    assert torch.allclose(next(iter(cached.val_dataloader())), next(iter(dm.val_dataloader())).float(), atol=1e-3)
    with pytest.raises(DataSetupError, match="file list not found"):
        AudioDataModule(data_dir=tmp_path / "root", filelist_train="missing.txt").setup()


def test_bad_files_are_reported_once_and_skipped(tmp_path, caplog):
    write_audio(tmp_path / "d", n=3)
    (tmp_path / "d" / "empty.wav").write_bytes(b"")
    (tmp_path / "d" / "garbage.mp3").write_bytes(b"this is not an mp3" * 50)
    dm = AudioDataModule(data_dir=tmp_path / "d", batch_size=2, num_frames=8000, new_freq=16000, val_fraction=0)
    with caplog.at_level(logging.WARNING, logger="omar_rq.train"):
        dm.setup()
    assert len(dm.train_files) == 3
    assert sorted(Path(p).name for p, _ in dm.skipped) == ["empty.wav", "garbage.mp3"]
    warned = [r.getMessage() for r in caplog.records if "skipping bad audio file" in r.getMessage()]
    assert len(warned) == 2 and any("empty.wav" in w and "empty file" in w for w in warned)
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "x.wav").write_bytes(b"")
    with pytest.raises(DataSetupError, match="none of the 1 training files"):
        AudioDataModule(data_dir=tmp_path / "bad", num_frames=8000, new_freq=16000).setup()


# -- end to end --------------------------------------------------------------------------------------------------------
def _metrics(out: Path) -> list[dict]:
    return read_metrics(out / "metrics.csv")


def test_tiny_pretraining_writes_the_released_format_and_resumes(tmp_path, caplog, monkeypatch):
    write_audio(tmp_path / "audio", n=6, seconds=4.5)
    (tmp_path / "audio" / "broken.wav").write_bytes(b"RIFF....WAVEfmt " + b"\0" * 20)
    out = tmp_path / "run"
    kw = dict(data_dir=tmp_path / "audio", batch_size=4, output=out, log_every_n_steps=1, threads=1,
              trainer_kwargs={"val_check_interval": 2})
    with caplog.at_level(logging.WARNING, logger="omar_rq.train"):
        assert pretrain(TINY, max_steps=3, **kw) == out.resolve()
    assert any("broken.wav" in r.getMessage() for r in caplog.records)
    for name in ("config.gin", "model.ckpt", "metrics.csv", "run.json", "checkpoints/last.ckpt"):
        assert (out / name).is_file(), name
    state = torch.load(out / "model.ckpt", weights_only=True)
    assert state and all(k.startswith(("net.", "embedding_layer.")) for k in state)
    assert 'build_module.ckpt_path = "model.ckpt"' in (out / "config.gin").read_text()
    rows = _metrics(out)
    train = [r for r in rows if r["split"] == "train"]
    assert [r["step"] for r in train] == [1, 2, 3] and all(r["loss"] > 0 for r in train)
    val = [r for r in rows if r["split"] == "val"]
    assert val[0]["step"] == 0 and val[0]["loss"] > 0  # the initial weights, validated before training
    assert [r["step"] for r in val[1:]] == [2]  # val_check_interval=2
    assert train[0]["lr"] < train[1]["lr"]  # warming up

    # the output loads like a released model: get_model on the folder or its config.gin
    for source in (out, out / "config.gin"):
        model = omar_rq.get_model(config_file=source)
        emb = model.extract_embeddings(torch.randn(1, 16000) * 0.1)
        assert emb.shape == (1, 1, 15, 128)
    assert torch.equal(load_encoder_weights(out / "model.ckpt")["embedding_layer.weight"],
                       model.embedding_layer.weight)
    # the run's own random initialisation is kept in the same format (the fair "before pretraining" baseline)
    init = omar_rq.get_model(config_file=out / "init")
    assert not torch.equal(init.embedding_layer.weight, model.embedding_layer.weight)

    # a rerun resumes from checkpoints/last.ckpt (read with weights_only=True) and keeps the curve
    loads = []
    real_load = torch.load

    def spy(*args, **kwargs):
        loads.append(kwargs.get("weights_only"))
        return real_load(*args, **kwargs)

    monkeypatch.setattr(torch, "load", spy)
    pretrain(TINY, max_steps=5, **kw)
    monkeypatch.setattr(torch, "load", real_load)
    assert loads and all(w is True for w in loads)
    ckpt = torch.load(out / "checkpoints" / "last.ckpt", weights_only=True, map_location="cpu")
    assert ckpt["global_step"] == 5
    rows2 = _metrics(out)
    train2 = [r for r in rows2 if r["split"] == "train"]
    assert [r["step"] for r in train2] == [1, 2, 3, 4, 5]
    assert train2[:3] == train  # steps 1-3 kept from the first run, not retrained
    assert not torch.equal(torch.load(out / "model.ckpt", weights_only=True)["embedding_layer.weight"],
                           state["embedding_layer.weight"])

    # resume=False starts over
    pretrain(TINY, max_steps=2, resume=False, **kw)
    assert [r["step"] for r in _metrics(out) if r["split"] == "train"] == [1, 2]


@pytest.mark.skipif(sys.platform != "linux", reason="gloo DDP smoke test written for Linux")
def test_two_process_cpu_ddp(tmp_path):
    """Acceptance 4: ``strategy=ddp`` with 2 CPU processes (gloo) trains a few steps through the module entry point."""
    write_audio(tmp_path / "audio", n=6, seconds=4.5)
    out = tmp_path / "ddp"
    env = {k: v for k, v in os.environ.items() if k not in ("LOCAL_RANK", "RANK", "WORLD_SIZE", "NODE_RANK")}
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    cmd = [sys.executable, "-m", "omar_rq.train", "--config", str(TINY), "--data-dir", str(tmp_path / "audio"),
           "--max-steps", "3", "--batch-size", "2", "--accelerator", "cpu", "--devices", "2", "--strategy", "ddp",
           "--output", str(out), "--log-every", "1"]
    proc = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=170)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "world_size=2" in proc.stderr + proc.stdout or "distributed_backend=gloo" in proc.stderr + proc.stdout
    ckpt = torch.load(out / "checkpoints" / "last.ckpt", weights_only=True, map_location="cpu")
    assert ckpt["global_step"] == 3
    assert [r["step"] for r in _metrics(out) if r["split"] == "train"] == [1, 2, 3]
    model = omar_rq.get_model(config_file=out)
    assert model.extract_embeddings(torch.randn(1, 16000) * 0.1).shape == (1, 1, 15, 128)


def test_cli_help_names_the_options():
    from omar_rq.train.args import build_parser

    text = build_parser().format_help()
    for opt in ("--config", "--data-dir", "--max-steps", "--output", "--devices", "--strategy", "--accelerator",
                "--num-nodes", "--no-resume"):
        assert opt in text


def test_view_statistics_match_a_direct_computation(tmp_path):
    """view_stats: mean/std of each un-normalised view over the files, for configs binding several views."""
    from omar_rq.audio import load_audio
    from omar_rq.view_stats import main as view_stats_main
    from omar_rq.view_stats import view_statistics
    from omar_rq.views import CQT, MelSpectrogram

    files = write_audio(tmp_path / "a", n=3, seconds=1.0, sr=16000)
    cfg = tmp_path / "mv.gin"
    cfg.write_text(
        "build_module.representation = [@nets.melspectrogram.MelSpectrogram, @nets.cqt.CQT]\n"
        "build_module.net = @nets.conformer.Conformer\n"
        "modules.maskingmodel.MaskingModel.input_representation = @nets.melspectrogram.MelSpectrogram\n"
        "nets.melspectrogram.MelSpectrogram.norm_mean = 2.0\nnets.melspectrogram.MelSpectrogram.norm_std = 1.3\n"
        "nets.cqt.CQT.sr = 16000\nnets.cqt.CQT.n_bins = 96\nnets.cqt.CQT.norm_mean = 5.0\nnets.cqt.CQT.norm_std = 2.0\n")
    stats = view_statistics(cfg, files)
    for name, view in (("nets.melspectrogram.MelSpectrogram", MelSpectrogram()), ("nets.cqt.CQT", CQT(n_bins=96))):
        values = torch.cat([view(load_audio(f, 16000)[None]).flatten() for f in files]).double()
        assert stats[name]["mean"] == pytest.approx(values.mean().item(), rel=1e-6)
        assert stats[name]["std"] == pytest.approx(values.std(unbiased=False).item(), rel=1e-6)
        assert stats[name]["n_files"] == 3
    assert view_stats_main(["--config", str(cfg), "--data-dir", str(tmp_path / "a")]) == 0
