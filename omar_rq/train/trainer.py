"""Pretraining OMAR-RQ models from the released gin configs (spec §7): build the SSL module, train it, write the
released checkpoint format.

Library use::

    from omar_rq.train import build_pretraining_module, pretrain
    module, info = build_pretraining_module("cfg/pretrain/tiny.gin")      # a MaskingModel, random init
    out = pretrain("cfg/pretrain/tiny.gin", data_dir="/data/audio", output="runs/tiny")
    model = omar_rq.get_model(config_file=out)                            # out/config.gin + out/model.ckpt

Command line: ``python -m omar_rq.train --config cfg/pretrain/tiny.gin --data-dir DIR --output DIR``
(``--help`` lists every option; ``omar-bench pretrain`` calls :func:`pretrain`).

Output folder::

    <output>/config.gin        the resolved config (includes inlined, run overrides appended,
                               build_module.ckpt_path = "model.ckpt"): get_model / omar-bench run read it
    <output>/model.ckpt        {net.*, embedding_layer.*} tensors only (the released format)
    <output>/checkpoints/last.ckpt   Lightning checkpoint (optimizer, step, ...): a rerun resumes from it
    <output>/metrics.csv       the loss curve: step, split (train/val), loss, accuracy, masked fraction, lr, time
    <output>/run.json          summary: data (files, skipped files), trainer settings, first/last losses, timings

``config.gin`` and ``model.ckpt`` are rewritten whenever a Lightning checkpoint is saved and at the end, so a long
job always has a loadable model. Multi-GPU / multi-node DDP is configured as in the released configs
(``train.params``: ``accelerator``, ``devices``, ``num_nodes``, ``strategy``, ``precision``); on CPU ``ddp`` uses gloo.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import logging
import math
import os
import sys
import time
import warnings
from pathlib import Path

import lightning as L
import torch
from lightning.pytorch.callbacks import ModelCheckpoint

from ..config import ConfigError
from ..errors import UserError
from ..files import atomic_write
from .args import build_parser
from .build import SYNTH_DATA, PretrainInfo, build_pretraining_module, peek_config, resolved_config_text
from .callbacks import CosineAnnealingCallback, MetricsCSV, ReleasedFormatWriter, read_metrics
from .data import AudioDataModule, DataSetupError
from .maskingmodel import MaskingModel

log = logging.getLogger("omar_rq.train")

__all__ = ["pretrain", "PretrainError", "main", "run_from_args"]

#: Precisions that fall back to 32-bit on CPU (bf16 autocast on CPU is slow and fp16 unsupported).
_MIXED = {"bf16-mixed", "16-mixed", "bf16", "16", "bf16-true", "16-true", "half"}


class PretrainError(UserError, RuntimeError):
    """A pretraining run that cannot start as configured (the message says what to change)."""


# -- training ------------------------------------------------------------------------------------------------------
def _on_cpu(accelerator) -> bool:
    acc = str(accelerator or "auto").lower()
    return acc == "cpu" or (acc == "auto" and not torch.cuda.is_available())


def _trainer_params(info: PretrainInfo, overrides: dict, precision_given: bool) -> dict:
    params = dict(info.train_params)
    params.update({k: v for k, v in overrides.items() if v is not None})
    acc = str(params.get("accelerator", "auto")).lower()
    if acc in ("gpu", "cuda") and not torch.cuda.is_available():
        raise PretrainError(
            f"{info.config_path} asks for accelerator={params['accelerator']!r} (devices={params.get('devices')}, "
            f"num_nodes={params.get('num_nodes')}) but no CUDA device is available here. To run on CPU pass "
            "--accelerator cpu --devices 1 --num-nodes 1 (or --devices 2 --strategy ddp for a 2-process gloo run).")
    if _on_cpu(params.get("accelerator")) and str(params.get("precision", "32")) in _MIXED and not precision_given:
        log.warning("precision %r is not used on CPU (bf16 autocast is slow there, fp16 unsupported): training in "
                    "32-bit ('32-true'); pass --precision to force it", params["precision"])
        params["precision"] = "32-true"
    max_steps = params.get("max_steps")
    if max_steps is None or int(max_steps) <= 0:
        raise PretrainError(f"{info.config_path}: no max_steps (train.params or --max-steps): the cosine schedule "
                            "needs a known length")
    return params


def _cpu_threads(requested: int | None, processes_per_node: int) -> int:
    """Intra-op threads per process for CPU training: ``requested``, else the cores per process minus the cores other
    programs keep busy (1-minute load average). Oversubscribed OpenMP threads spin-wait on each other: on the 2-core
    machine with another program busy, a tiny-model step took 5 s with 2 threads and 0.22 s with 1."""
    if requested:
        return int(requested)
    cores = os.cpu_count() or 1
    per_process = max(1, cores // max(1, processes_per_node))
    try:
        busy = os.getloadavg()[0]
    except OSError:
        busy = 0.0
    free = max(1, int(round(cores - busy)))
    return max(1, min(per_process, free // max(1, processes_per_node) or 1))


def _data_settings(info: PretrainInfo, data_dir, filelist_train, filelist_val, batch_size, num_workers) -> dict:
    data = dict(info.data)
    if data_dir is None and filelist_train is None and data.get("data_dir") == SYNTH_DATA:
        raise PretrainError(f"{info.config_path} trains on omar-bench's synthesised offline audio (data_dir = "
                            f"\"{SYNTH_DATA}\"): run it with `omar-bench pretrain`, which renders that audio, or pass "
                            "--data-dir DIR (an audio folder)")
    if data_dir is not None:
        data["data_dir"] = str(Path(data_dir).expanduser().resolve())
    if filelist_train is not None:
        data["filelist_train"] = str(Path(filelist_train).expanduser().resolve())
    if filelist_val is not None:
        data["filelist_val"] = str(Path(filelist_val).expanduser().resolve())
    if batch_size is not None:
        data["batch_size"] = int(batch_size)
    if num_workers is not None:
        data["num_workers"] = int(num_workers)
    for key in ("data_dir", "filelist_train", "filelist_val"):
        value = data.get(key)
        if value is not None and not Path(value).exists() and not (
                key != "data_dir" and data.get("data_dir") and (Path(data["data_dir"]) / value).exists()):
            origin = "the config's" if info.data_from_config.get(key) == value else "the given"
            raise PretrainError(f"{origin} {key} {value!r} does not exist — configs in cfg/pretrain/ bind "
                                "placeholder data paths: pass --data-dir DIR (an audio folder, searched recursively) "
                                "and/or --filelist-train / --filelist-val")
    if data.get("data_dir") is None and data.get("filelist_train") is None:
        raise PretrainError("no training data: pass --data-dir DIR (an audio folder) or --filelist-train FILE")
    return data


def pretrain(config: str | os.PathLike, data_dir: str | os.PathLike | None = None, max_steps: int | None = None,
             output: str | os.PathLike | None = None, devices: int | str | None = None, accelerator: str | None = None,
             strategy: str | None = None, num_nodes: int | None = None, precision: str | None = None,
             batch_size: int | None = None, num_workers: int | None = None,
             filelist_train: str | os.PathLike | None = None, filelist_val: str | os.PathLike | None = None,
             encodec_weights_path: str | os.PathLike | None = None,
             encodec_stats_path: str | os.PathLike | None = None, checkpoint_every: int | None = None,
             log_every_n_steps: int | None = None, seed: int | None = None, resume: bool = True,
             trainer_kwargs: dict | None = None, data_kwargs: dict | None = None, progress_bar: bool = False,
             threads: int | None = None, initial_validation: bool = True) -> Path:
    """Pretrain the model of ``config`` and return the output folder (released format + Lightning checkpoints).

    Arguments override the config: ``data_dir`` / ``filelist_train`` / ``filelist_val`` / ``batch_size`` /
    ``num_workers`` the data bindings (``DiscotubeAudioDataModule.*``, ``AudioDataModule.num_workers``);
    ``max_steps``, ``devices``, ``accelerator``, ``strategy``, ``num_nodes``, ``precision``, ``log_every_n_steps`` and
    ``trainer_kwargs`` the ``train.params`` Trainer kwargs. On CPU a mixed precision from the config falls back to
    32-bit (logged) unless ``precision`` is given. ``output`` defaults to ``runs/<config name>``. ``checkpoint_every``:
    optimizer steps between Lightning checkpoints (default ``min(1000, max(1, max_steps // 10))``); a checkpoint is
    also written at the end. ``resume``: continue from ``<output>/checkpoints/last.ckpt`` when it exists (loaded with
    ``weights_only=True``); ``False`` starts over. ``seed`` (default: ``MaskingModel.seed``) seeds the weights and the
    data order. ``data_kwargs`` go to :class:`omar_rq.train.data.AudioDataModule` (``val_fraction``, ``cache``, …).
    ``threads``: intra-op threads per process on CPU (default: the free cores per process, from the load average;
    ``OMP_NUM_THREADS`` when set is respected). ``initial_validation``: validate the initial weights before training
    (a fresh start only), the step-0 point of the curve.
    """
    t_start = time.perf_counter()
    info = peek_config(config)  # settings first: a bad data path fails before the (possibly large) model is built
    trainer_over = {"max_steps": max_steps, "devices": devices, "accelerator": accelerator, "strategy": strategy,
                    "num_nodes": num_nodes, "precision": precision, "log_every_n_steps": log_every_n_steps,
                    **(trainer_kwargs or {})}
    params = _trainer_params(info, trainer_over, precision_given=precision is not None)
    data = _data_settings(info, data_dir, filelist_train, filelist_val, batch_size, num_workers)
    module_seed = info.seed if seed is None else int(seed)
    output = Path(output if output is not None else Path("runs") / Path(config).stem).expanduser().resolve()
    with _cpu_threads_for(params, threads):
        return _fit(config, info, params, data, output, module_seed, (encodec_weights_path, encodec_stats_path),
                    checkpoint_every, resume, data_kwargs, progress_bar, t_start, initial_validation)


@contextlib.contextmanager
def _cpu_threads_for(params: dict, threads: int | None):
    """Set the intra-op thread count for CPU training (see :func:`_cpu_threads`); restored afterwards."""
    if not _on_cpu(params.get("accelerator")):
        yield
        return
    old_threads, old_env = torch.get_num_threads(), os.environ.get("OMP_NUM_THREADS")
    devs = params.get("devices", 1)
    procs = int(devs) if isinstance(devs, int) or str(devs).isdigit() else 1
    if old_env is None or threads:
        n = _cpu_threads(threads, procs)
        os.environ["OMP_NUM_THREADS"] = str(n)  # also what Lightning's CPU DDP processes will use
        torch.set_num_threads(n)
    log.info("CPU training: %d intra-op thread(s) per process (%d cores, 1-min load %.1f before start; "
             "--threads to change)", torch.get_num_threads(), os.cpu_count() or 1, os.getloadavg()[0])
    try:
        yield
    finally:
        torch.set_num_threads(old_threads)
        if old_env is None:
            os.environ.pop("OMP_NUM_THREADS", None)
        else:
            os.environ["OMP_NUM_THREADS"] = old_env


def _fit(config, info: PretrainInfo, params: dict, data: dict, output: Path, module_seed: int, encodec_paths: tuple,
         checkpoint_every, resume: bool, data_kwargs, progress_bar: bool, t_start: float,
         initial_validation: bool) -> Path:
    ckpt_dir = output / "checkpoints"
    L.seed_everything(module_seed, workers=True, verbose=False)
    module, info = build_pretraining_module(config, *encodec_paths)
    dm = AudioDataModule(**data, seed=module_seed, **(data_kwargs or {}))
    rates = {v.sr for v in [module.input_view, *module.target_views]}
    if rates != {dm.new_freq}:
        raise PretrainError(f"{info.config_path}: AudioDataset.new_freq = {dm.new_freq} but the model's views expect "
                            f"audio at {sorted(rates)} Hz; bind AudioDataset.new_freq to the views' rate")
    if dm.crop_samples < module.input_view.samples_per_token:
        raise PretrainError(f"crops of {dm.crop_samples} samples are shorter than one token of the input view")

    max_steps_final = int(params["max_steps"])
    if info.warmup_steps and info.warmup_steps >= max_steps_final:
        log.warning("CosineAnnealingCallback.warmup_steps = %d >= max_steps = %d: the learning rate only warms up "
                    "(to %.3g of lr) in this run", info.warmup_steps, max_steps_final,
                    max_steps_final / info.warmup_steps)
    every = int(checkpoint_every) if checkpoint_every else min(1000, max(1, max_steps_final // 10))
    run_bindings = {"train.params": params, "DiscotubeAudioDataModule.data_dir": data.get("data_dir"),
                    "DiscotubeAudioDataModule.filelist_train": data.get("filelist_train"),
                    "DiscotubeAudioDataModule.filelist_val": data.get("filelist_val"),
                    "DiscotubeAudioDataModule.batch_size": dm.batch_size,
                    "AudioDataModule.num_workers": dm.num_workers}
    config_text = resolved_config_text(info, run_bindings)
    writer = ReleasedFormatWriter(output, config_text)
    callbacks = [CosineAnnealingCallback(info.warmup_steps or 0, info.eta_min),
                 ModelCheckpoint(dirpath=str(ckpt_dir), filename="step-{step}", every_n_train_steps=every,
                                 save_top_k=0, save_last=True),
                 writer, MetricsCSV(output / "metrics.csv")]
    trainer_args = dict(params)
    trainer_args.setdefault("enable_progress_bar", progress_bar)
    trainer_args.setdefault("enable_model_summary", progress_bar)
    trainer = L.Trainer(default_root_dir=str(output), logger=False, callbacks=callbacks, **trainer_args)

    last = ckpt_dir / "last.ckpt"
    ckpt_path = str(last) if resume and last.is_file() else None
    if trainer.is_global_zero:
        output.mkdir(parents=True, exist_ok=True)
        if ckpt_path is None and (output / "metrics.csv").is_file():
            (output / "metrics.csv").unlink()  # a fresh start: a new curve
        if ckpt_path is None:  # the run's own random initialisation, loadable like the result (a fair baseline)
            ReleasedFormatWriter(output / "init", config_text).write(module)
        log.info("pretraining %s → %s (%s)", info.config_path, output,
                 f"resuming from {last}" if ckpt_path else "from scratch")
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*does not have many workers.*")
        warnings.filterwarnings("ignore", message=".*is smaller than the logging interval.*")
        warnings.filterwarnings("ignore", message=".*LeafSpec.*")
        # random crops: a mid-epoch resume needs no dataloader state
        warnings.filterwarnings("ignore", message=".*your dataloader is not resumable.*")
        warnings.filterwarnings("ignore", message=".*Using `DistributedSampler` with the dataloaders.*")
        if ckpt_path is None and initial_validation:  # the curve's step-0 point: the initial weights
            dm.setup("fit")
            if dm.val_files:
                trainer.validate(module, datamodule=dm, verbose=False)
        trainer.fit(module, datamodule=dm, ckpt_path=ckpt_path, weights_only=True)
    # the final state, whatever the checkpoint interval (collective in DDP: every rank calls it, rank 0 writes)
    trainer.save_checkpoint(str(last), weights_only=False)
    if trainer.is_global_zero:
        writer.write(module)
        _write_run_summary(output, info, params, dm, module, ckpt_path, time.perf_counter() - t_start)
    return output


def _write_run_summary(output: Path, info: PretrainInfo, params: dict, dm: AudioDataModule, module: MaskingModel,
                       resumed_from, seconds: float) -> None:
    rows = read_metrics(output / "metrics.csv") if (output / "metrics.csv").is_file() else []
    train = [r for r in rows if r["split"] == "train" and r["loss"] is not None]
    val = [r for r in rows if r["split"] == "val" and r["loss"] is not None]

    def point(r):
        return None if r is None else {"step": int(r["step"]), "loss": r["loss"], "accuracy": r["accuracy"]}

    summary = {
        "config": str(info.config_path.resolve()), "output": str(output), "resumed_from": resumed_from,
        "global_step": int(module.global_step), "max_steps": int(params["max_steps"]),
        "trainer": {k: v for k, v in params.items()}, "data": dm.describe(),
        "model": {"input_view": info.input_view, "target_views": info.target_views,
                  "codebook_size": module.codebook_size, "n_targets": module.n_targets,
                  "chance_loss": math.log(module.codebook_size), "mask_window_tokens": module.mask_window,
                  "encoder_parameters": sum(v.numel() for v in module.encoder_state_dict().values())},
        "train_first": point(train[0] if train else None), "train_last": point(train[-1] if train else None),
        "val_first": point(val[0] if val else None), "val_last": point(val[-1] if val else None),
        "wall_seconds_this_call": round(seconds, 1),
        "versions": {"torch": torch.__version__, "lightning": L.__version__},
    }
    atomic_write(output / "run.json", lambda p: p.write_text(json.dumps(summary, indent=2, default=str) + "\n"))


# -- command line (options in omar_rq.pretraining_args, a light module the omar-bench CLI imports too) --
def main(argv: list[str] | None = None) -> int:
    return run_from_args(build_parser().parse_args(argv))


def run_from_args(args: argparse.Namespace) -> int:
    """Run a pretraining from parsed :func:`build_parser` options; 0 on success, 2 on a user error."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    devices = args.devices
    if devices is not None and devices.isdigit():
        devices = int(devices)
    data_kwargs = {k: v for k, v in (("cache", args.cache), ("val_fraction", args.val_fraction)) if v is not None}
    try:
        out = pretrain(args.config, data_dir=args.data_dir, max_steps=args.max_steps, output=args.output,
                       devices=devices, accelerator=args.accelerator, strategy=args.strategy,
                       num_nodes=args.num_nodes, precision=args.precision, batch_size=args.batch_size,
                       num_workers=args.num_workers, filelist_train=args.filelist_train,
                       filelist_val=args.filelist_val, encodec_weights_path=args.encodec_weights,
                       encodec_stats_path=args.encodec_stats,
                       checkpoint_every=args.checkpoint_every, log_every_n_steps=args.log_every, seed=args.seed,
                       resume=not args.no_resume, progress_bar=args.progress_bar, threads=args.threads,
                       data_kwargs=data_kwargs or None)
    except (PretrainError, ConfigError, DataSetupError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if int(os.environ.get("LOCAL_RANK", "0")) == 0 and int(os.environ.get("NODE_RANK", "0")) == 0:
        print(f"wrote {out / 'config.gin'} and {out / 'model.ckpt'} (loss curve: {out / 'metrics.csv'})")
    return 0
