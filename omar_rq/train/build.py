"""Pretraining configs → the SSL module: parse a released / development / pretraining gin config and build its
:class:`~omar_rq.train.maskingmodel.MaskingModel` (random init), with the trainer, data and schedule bindings the
config holds (:class:`PretrainInfo`), and the resolved ``config.gin`` a run writes beside its weights."""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import gin

from ..config import (GIN_VIEWS, ConfigError, base_class, bound_build_module, bound_parameter, flatten_config,
                      input_view_configurable, parsed_config, resolve_path, view_kwargs, wrapper)
from .maskingmodel import MaskingModel

__all__ = ["PretrainInfo", "build_pretraining_module", "resolved_config_text", "config_data_dir", "peek_config",
           "SYNTH_DATA"]


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
    return _evaluate_macros(bound_parameter(selector, default))


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
            classes = [base_class(r) for r in reps]
            views = [r(**_view_kwargs(c, multi_view, path, encodec_weights_path, path_bindings, encodec_stats_path))
                     for r, c in zip(reps, classes)]
            if multi_view:
                in_cfg = input_view_configurable(path, rep)
                in_cls = base_class(in_cfg)
                if in_cls in classes:
                    input_view = views[classes.index(in_cls)]
                else:
                    input_view = in_cfg(**_view_kwargs(in_cls, True, path, encodec_weights_path, path_bindings,
                                                           encodec_stats_path))
            else:
                in_cls, input_view = classes[0], views[0]
            net = bound["net"]()
            base_class(bound["net"])
            levels = _query("FiniteScalarQuantizer.levels", [6, 6, 6, 6, 6])
            symmetric = bool(_query("FiniteScalarQuantizer.preserve_symmetry", False))
            module = wrapper("modules.maskingmodel.MaskingModel")(
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
             "# ---- written by omar_rq.train: the bindings this run used (later bindings win) ----",
             f"# source config: {info.config_path.resolve()}"]
    for key, value in {**info.path_bindings, **overrides}.items():
        lines.append(f"{key} = {_gin_value(value)}")
    lines.append('build_module.ckpt_path = "model.ckpt"')
    return "\n".join(lines) + "\n"


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


def peek_config(config) -> PretrainInfo:
    """The trainer / data bindings of ``config`` without building its views or network (cheap, for early checks)."""
    path = Path(config).expanduser()
    text = flatten_config(path)
    with parsed_config(path, text):
        return _info_from_bindings(path, text, input_view="", target_views=[], multi_view=False)
