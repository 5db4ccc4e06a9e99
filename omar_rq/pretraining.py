"""Pretraining OMAR-RQ models from the released gin configs (spec §7): build the SSL module, train it, write the
released checkpoint format.

Library use::

    from omar_rq.pretraining import build_pretraining_module, pretrain
    module, info = build_pretraining_module("cfg/pretrain/tiny.gin")      # a MaskingModel, random init
    out = pretrain("cfg/pretrain/tiny.gin", data_dir="/data/audio", output="runs/tiny")
    model = omar_rq.get_model(config_file=out)                            # out/config.gin + out/model.ckpt

Command line: ``python -m omar_rq.pretraining --config cfg/pretrain/tiny.gin --data-dir DIR --output DIR``
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

from .pretraining_args import build_parser
import contextlib
import csv
import json
import logging
import math
import os
import sys
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import gin
import lightning as L
import torch
from lightning.pytorch.callbacks import Callback, ModelCheckpoint

from .audio_data import AudioDataModule, DataSetupError
from .config import (_WRAPPERS, GIN_VIEWS, ConfigError, _base_class, _bound, bound_build_module, flatten_config,
                     input_view_configurable, parsed_config, resolve_path, view_kwargs)
from .maskingmodel import MaskingModel

log = logging.getLogger("omar_rq.pretraining")

__all__ = ["build_pretraining_module", "pretrain", "PretrainInfo", "PretrainError", "CosineAnnealingCallback",
           "ReleasedFormatWriter", "MetricsCSV", "flatten_config", "warmup_cosine_lr", "main"]

#: Precisions that fall back to 32-bit on CPU (bf16 autocast on CPU is slow and fp16 unsupported).
_MIXED = {"bf16-mixed", "16-mixed", "bf16", "16", "bf16-true", "16-true", "half"}


class PretrainError(RuntimeError):
    """A pretraining run that cannot start as configured (the message says what to change)."""


# -- configs -------------------------------------------------------------------------------------------------------
@dataclass
class PretrainInfo:
    """What a pretraining config says beyond the module: trainer, data and schedule settings."""

    config_path: Path
    config_text: str                    # the config with includes inlined
    train_params: dict                  # train.params (Lightning Trainer kwargs)
    data: dict                          # AudioDataModule kwargs from AudioDataset.* / *AudioDataModule.*
    data_from_config: dict              # which data paths came from the config (resolved against its folder)
    warmup_steps: int | None            # CosineAnnealingCallback.warmup_steps
    eta_min: float                      # CosineAnnealingCallback.eta_min
    input_view: str                     # gin selector of the input view
    target_views: list[str]             # gin selectors of build_module.representation
    multi_view: bool
    path_bindings: dict = field(default_factory=dict)  # absolute file paths the views were built with (EnCodec)
    seed: int = 0


def _selector(cls) -> str:
    return next(s for s, c in GIN_VIEWS.items() if c is cls)


def _view_kwargs(cls, multi_view: bool, config_path: Path, encodec_weights_path, path_bindings: dict,
                 encodec_stats_path=None) -> dict:
    """:func:`omar_rq.config.view_kwargs`, noting the absolute file paths used in ``path_bindings``."""
    kwargs = view_kwargs(cls, multi_view, config_path, encodec_weights_path, encodec_stats_path)
    sel = _selector(cls)
    for param, value in kwargs.items():
        if param != "patch_size":
            path_bindings[f"{sel}.{param}"] = str(Path(value).resolve())
    return kwargs


def _evaluate_macros(value):
    """``value`` with gin macros (``%new_freq``) replaced by their values, inside dicts, lists and tuples too."""
    if isinstance(value, gin.config.ConfigurableReference) and value.evaluate and \
            getattr(value.configurable, "name", "") == "macro":
        return _evaluate_macros(value.scoped_configurable_fn())
    if isinstance(value, dict):
        return {k: _evaluate_macros(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_evaluate_macros(v) for v in value)
    return value


def _query(selector: str, default=None):
    """A bound parameter with macros evaluated (``default`` when unbound)."""
    return _evaluate_macros(_bound(selector, default))


def _data_bindings(config_path: Path) -> tuple[dict, dict]:
    data, from_config = {}, {}
    names = {"AudioDataset": ("num_frames", "orig_freq", "new_freq", "mono", "half_precision"),
             "AudioDataModule": ("num_workers", "batch_size", "data_dir", "filelist_train", "filelist_val"),
             "DiscotubeAudioDataModule": ("num_workers", "batch_size", "data_dir", "filelist_train", "filelist_val")}
    for configurable, params in names.items():
        for p in params:
            v = _query(f"{configurable}.{p}")
            if v is not None:
                data[p] = v
    for p in ("data_dir", "filelist_train", "filelist_val"):
        if data.get(p) is not None:
            if str(data[p]) != SYNTH_DATA:
                data[p] = resolve_path(str(data[p]), config_path.parent)
            from_config[p] = data[p]
    return data, from_config


def _info_from_bindings(path: Path, text: str, **fields) -> PretrainInfo:
    """A :class:`PretrainInfo` from the currently parsed bindings (call under ``_LOCK`` after :func:`_parse`)."""
    data, from_config = _data_bindings(path)
    warmup = _query("CosineAnnealingCallback.warmup_steps")
    return PretrainInfo(config_path=path, config_text=text, train_params=dict(_query("train.params", {}) or {}),
                        data=data, data_from_config=from_config,
                        warmup_steps=int(warmup) if warmup is not None else None,
                        eta_min=float(_query("CosineAnnealingCallback.eta_min", 0.0) or 0.0),
                        seed=int(_query("modules.maskingmodel.MaskingModel.seed", 0) or 0), **fields)


def build_pretraining_module(config_path: str | os.PathLike, encodec_weights_path: str | os.PathLike | None = None,
                             encodec_stats_path: str | os.PathLike | None = None) -> tuple[MaskingModel, PretrainInfo]:
    """Parse a pretraining (or released / development) config and build its :class:`MaskingModel` (random init).

    Target views: ``build_module.representation`` (one class = single-view, its patch fixed by type; a list =
    multi-view, patches from the bindings). Input view: ``MaskingModel.input_representation`` for a list (it may be a
    view outside the list, e.g. the waveform of multifeature-25hz-fsq; a listed one is shared, not rebuilt), else the
    single view. ``FiniteScalarQuantizer.levels / .preserve_symmetry`` go to the FSQ quantisers. EnCodec views need
    the EnCodec weights: ``nets.encodec.EnCodec.weights_path`` (relative to the config) or ``encodec_weights_path``;
    ``encodec_stats_path`` overrides ``nets.encodec.EnCodec.stats_path`` (the normalisation statistics JSON).
    Includes are inlined (:func:`flatten_config`). Returns the module and a :class:`PretrainInfo` with the trainer,
    data and schedule bindings.
    """
    path = Path(config_path).expanduser()
    text = flatten_config(path)
    with parsed_config(path, text):
        bound = bound_build_module(path)
        rep = bound["representation"]
        multi_view = isinstance(rep, (list, tuple))
        reps = list(rep) if multi_view else [rep]
        if not reps:
            raise ConfigError(f"{path}: build_module.representation is an empty list")
        path_bindings: dict = {}
        try:
            classes = [_base_class(r) for r in reps]
            views = [r(**_view_kwargs(c, multi_view, path, encodec_weights_path, path_bindings, encodec_stats_path))
                     for r, c in zip(reps, classes)]
            if multi_view:
                in_cfg = input_view_configurable(path, rep)
                in_cls = _base_class(in_cfg)
                if in_cls in classes:
                    input_view = views[classes.index(in_cls)]
                else:
                    input_view = in_cfg(**_view_kwargs(in_cls, True, path, encodec_weights_path, path_bindings,
                                                           encodec_stats_path))
            else:
                in_cls, input_view = classes[0], views[0]
            net = bound["net"]()
            _base_class(bound["net"])
            levels = _query("FiniteScalarQuantizer.levels", [6, 6, 6, 6, 6])
            symmetric = bool(_query("FiniteScalarQuantizer.preserve_symmetry", False))
            module = _WRAPPERS["modules.maskingmodel.MaskingModel"](
                net=net, target_views=views, input_view=input_view, fsq_levels=list(levels),
                fsq_preserve_symmetry=symmetric)
        except ConfigError:
            raise
        except (TypeError, ValueError, FileNotFoundError) as e:
            hint = (" (EnCodec views: pass encodec_weights_path= / --encodec-weights and, if the config's stats "
                    "file is not here, encodec_stats_path= / --encodec-stats)"
                    if isinstance(e, FileNotFoundError) else "")
            raise ConfigError(f"{path}: cannot build the pretraining module it describes: {e}{hint}") from e
        info = _info_from_bindings(path, text, input_view=_selector(in_cls),
                                   target_views=[_selector(c) for c in classes], multi_view=multi_view,
                                   path_bindings=path_bindings)
        return module, info


def _gin_value(value) -> str:
    """A Python literal gin parses back (dicts, lists, strings, numbers, booleans, None)."""
    if isinstance(value, Path):
        value = str(value)
    return json.dumps(value) if isinstance(value, str) else repr(value)


def resolved_config_text(info: PretrainInfo, overrides: dict[str, object]) -> str:
    """The released-format ``config.gin``: the inlined config, then the run's bindings and the checkpoint name."""
    lines = [info.config_text.rstrip(), "",
             "# ---- written by omar_rq.pretraining: the bindings this run used (later bindings win) ----",
             f"# source config: {info.config_path.resolve()}"]
    for key, value in {**info.path_bindings, **overrides}.items():
        lines.append(f"{key} = {_gin_value(value)}")
    lines.append('build_module.ckpt_path = "model.ckpt"')
    return "\n".join(lines) + "\n"


# -- schedule --------------------------------------------------------------------------------------------------------
def warmup_cosine_lr(step: int, base_lr: float, warmup_steps: int, max_steps: int, eta_min: float = 0.0) -> float:
    """Learning rate at optimizer step ``step`` (0-based): linear warm-up from 0 to ``base_lr`` over ``warmup_steps``
    (``base_lr * (step + 1) / warmup_steps``), then cosine decay from ``base_lr`` to ``eta_min`` at ``max_steps``."""
    if warmup_steps > 0 and step < warmup_steps:
        return base_lr * (step + 1) / warmup_steps
    span = max(1, max_steps - warmup_steps)
    progress = min(1.0, max(0.0, (step - warmup_steps) / span))
    return eta_min + (base_lr - eta_min) * 0.5 * (1.0 + math.cos(math.pi * progress))


class CosineAnnealingCallback(Callback):
    """Warm-up + cosine learning-rate schedule (gin name ``CosineAnnealingCallback``: ``warmup_steps``, ``eta_min``).

    Before every optimizer step it sets each parameter group's ``lr`` from :func:`warmup_cosine_lr` of the trainer's
    ``global_step``, the module's ``lr`` and the trainer's ``max_steps``. Stateless: a resumed run continues the curve.
    """

    def __init__(self, warmup_steps: int = 0, eta_min: float = 0.0):
        self.warmup_steps, self.eta_min = int(warmup_steps or 0), float(eta_min)

    def lr_at(self, step: int, base_lr: float, max_steps: int) -> float:
        return warmup_cosine_lr(step, base_lr, self.warmup_steps, max_steps, self.eta_min)

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        max_steps = trainer.max_steps if trainer.max_steps and trainer.max_steps > 0 else \
            int(trainer.estimated_stepping_batches)
        lr = self.lr_at(trainer.global_step, float(pl_module.lr), max_steps)
        for opt in trainer.optimizers:
            for group in opt.param_groups:
                group["lr"] = lr


# -- outputs -------------------------------------------------------------------------------------------------------
def _atomic_write(path: Path, write) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    write(tmp)
    os.replace(tmp, path)


class ReleasedFormatWriter(Callback):
    """Writes ``<output>/config.gin`` + ``<output>/model.ckpt`` (released format) whenever a Lightning checkpoint is
    saved and at the end of training (rank 0 only; atomic replaces, so a reader never sees half a file). A fresh run
    also writes its initial weights to ``<output>/init/`` in the same format."""

    def __init__(self, output: Path, config_text: str):
        self.output, self.config_text = Path(output), config_text

    def write(self, pl_module: MaskingModel) -> None:
        self.output.mkdir(parents=True, exist_ok=True)
        state = pl_module.encoder_state_dict()
        _atomic_write(self.output / "model.ckpt", lambda p: torch.save(state, p))
        _atomic_write(self.output / "config.gin", lambda p: p.write_text(self.config_text))

    def on_save_checkpoint(self, trainer, pl_module, checkpoint) -> None:
        if trainer.is_global_zero:
            self.write(pl_module)

    def on_train_end(self, trainer, pl_module) -> None:
        if trainer.is_global_zero:
            self.write(pl_module)


class MetricsCSV(Callback):
    """The loss curve in ``metrics.csv`` (rank 0): one row per ``log_every_n_steps`` training steps and per
    validation, columns ``step, split, loss, accuracy, masked_fraction, lr, epoch, time_s``. ``step`` counts optimizer
    steps done: the train row of step 1 is the loss of the initial weights on the first batch, the val row of step 0
    the initial validation. A resumed run keeps the rows up to its restored step."""

    FIELDS = ["step", "split", "loss", "accuracy", "masked_fraction", "lr", "epoch", "time_s"]

    def __init__(self, path: Path, every: int | None = None):
        self.path, self.every = Path(path), every
        self.t0 = time.perf_counter()
        self.offset = 0.0

    def on_train_start(self, trainer, pl_module) -> None:  # after a resume has restored global_step
        if not trainer.is_global_zero:
            return
        rows = []
        if self.path.is_file():  # keep the curve up to the restored step (step 0: the initial validation)
            with open(self.path, newline="") as f:
                rows = [r for r in csv.DictReader(f) if int(r["step"]) <= trainer.global_step]
            if trainer.global_step > 0:
                self.offset = max((float(r["time_s"]) for r in rows if r.get("time_s")), default=0.0)
                self.t0 = time.perf_counter()
        with open(self.path, "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=self.FIELDS)
            w.writeheader()
            w.writerows(rows)

    def _append(self, row: dict) -> None:
        row["time_s"] = round(self.offset + time.perf_counter() - self.t0, 3)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        new = not self.path.is_file()
        with open(self.path, "a", newline="") as f:
            w = csv.DictWriter(f, fieldnames=self.FIELDS)
            if new:
                w.writeheader()
            w.writerow(row)

    @staticmethod
    def _num(metrics, key):
        v = metrics.get(key)
        return None if v is None else round(float(v), 6)

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        if not trainer.is_global_zero:
            return
        step = trainer.global_step
        every = self.every or max(1, trainer.log_every_n_steps)
        if step != 1 and step % every and step != trainer.max_steps:
            return
        m = trainer.callback_metrics
        lr = trainer.optimizers[0].param_groups[0]["lr"] if trainer.optimizers else None
        self._append({"step": step, "split": "train", "loss": self._num(m, "train/loss"),
                      "accuracy": self._num(m, "train/accuracy"),
                      "masked_fraction": self._num(m, "train/masked_fraction"), "lr": lr,
                      "epoch": trainer.current_epoch})

    def on_validation_epoch_end(self, trainer, pl_module) -> None:
        if not trainer.is_global_zero or trainer.sanity_checking:
            return
        m = trainer.callback_metrics
        if "val/loss" not in m:
            return
        self._append({"step": trainer.global_step, "split": "val", "loss": self._num(m, "val/loss"),
                      "accuracy": self._num(m, "val/accuracy"), "epoch": trainer.current_epoch})


def read_metrics(path: str | os.PathLike) -> list[dict]:
    """Rows of a ``metrics.csv`` with numbers parsed (empty cells → None)."""
    out = []
    with open(path, newline="") as f:
        for r in csv.DictReader(f):
            out.append({k: (r[k] if k == "split" else (None if r[k] in ("", None) else float(r[k])))
                        for k in r})
    return out


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


#: The ``data_dir`` of a config that trains on omar-bench's synthesised offline sets (``cfg/pretrain/tiny.gin``):
#: ``omar-bench pretrain`` renders that audio and passes it; this library alone cannot (it does not import the
#: benchmark), so it asks for ``--data-dir``.
SYNTH_DATA = "synth:"


def config_data_dir(config: str | os.PathLike) -> str | None:
    """The config's bound ``DiscotubeAudioDataModule.data_dir`` / ``AudioDataModule.data_dir`` as written (includes
    inlined), or None — a cheap look without building anything."""
    path = Path(config)
    text = flatten_config(path)
    with parsed_config(path, text):
        for selector in ("DiscotubeAudioDataModule.data_dir", "AudioDataModule.data_dir"):
            value = _query(selector)
            if value is not None:
                return str(value)
    return None


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
    data order. ``data_kwargs`` go to :class:`omar_rq.audio_data.AudioDataModule` (``val_fraction``, ``cache``, …).
    ``threads``: intra-op threads per process on CPU (default: the free cores per process, from the load average;
    ``OMP_NUM_THREADS`` when set is respected). ``initial_validation``: validate the initial weights before training
    (a fresh start only), the step-0 point of the curve.
    """
    t_start = time.perf_counter()
    info = _peek_config(config)  # settings first: a bad data path fails before the (possibly large) model is built
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


def _peek_config(config) -> PretrainInfo:
    """The trainer / data bindings of ``config`` without building its views or network (cheap, for early checks)."""
    path = Path(config).expanduser()
    text = flatten_config(path)
    with parsed_config(path, text):
        return _info_from_bindings(path, text, input_view="", target_views=[], multi_view=False)


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
    _atomic_write(output / "run.json", lambda p: p.write_text(json.dumps(summary, indent=2, default=str) + "\n"))


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


if __name__ == "__main__":
    sys.exit(main())
