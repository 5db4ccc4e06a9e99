"""Reading OMAR-RQ gin configs: our classes registered under the released configs' gin names.

Released and development ``config.gin`` files parse as they are (``skip_unknown=True`` drops the training-only
bindings: ``train.*``, data modules, callbacks…). Gin keeps global state, so each parse happens under a lock between
two ``gin.clear_config()`` calls and builds everything it needs before returning.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

import gin

from .conformer import Conformer
from .transformer import Transformer
from .views import CQT, EnCodec, MelSpectrogram, View, Waveform

#: gin name → our class (the names of the public configs)
GIN_VIEWS = {
    "nets.melspectrogram.MelSpectrogram": MelSpectrogram,
    "nets.cqt.CQT": CQT,
    "nets.waveform.Waveform": Waveform,
    "nets.encodec.EnCodec": EnCodec,
}
GIN_NETS = {"nets.conformer.Conformer": Conformer, "nets.transformer.Transformer": Transformer}

#: Single-view models use a patch fixed by view type, whatever the config binds (a waveform uses its binding).
SINGLE_VIEW_PATCH = {MelSpectrogram: (96, 4), CQT: (144, 4), EnCodec: (128, 5)}

#: Parameters holding file paths, resolved against the config file's folder.
PATH_PARAMS = {EnCodec: ("weights_path", "stats_path")}

_LOCK = threading.RLock()
_WRAPPERS: dict[str, object] = {}


class ConfigError(ValueError):
    """A config file that is not a usable OMAR-RQ model config; the message names the file and the problem."""


def build_module(representation=gin.REQUIRED, net=gin.REQUIRED, module=None, ckpt_path=None):
    """Gin target of ``build_module.*``: returns the bound values, references resolved to configurables."""
    return {"representation": representation, "net": net, "module": module, "ckpt_path": ckpt_path}


def register_gin_names() -> None:
    """Register our configurables under the released gin names (idempotent)."""
    with _LOCK:
        if _WRAPPERS:
            return
        for selector, cls in {**GIN_VIEWS, **GIN_NETS}.items():
            module, name = selector.rsplit(".", 1)
            _WRAPPERS[selector] = gin.external_configurable(cls, name=name, module=module)
        _WRAPPERS["build_module"] = gin.external_configurable(build_module, name="build_module")
        from .maskingmodel import MaskingModel
        from .quantizers import FiniteScalarQuantizer

        _WRAPPERS["modules.maskingmodel.MaskingModel"] = gin.external_configurable(
            MaskingModel, name="MaskingModel", module="modules.maskingmodel")
        _WRAPPERS["FiniteScalarQuantizer"] = gin.external_configurable(
            FiniteScalarQuantizer, name="FiniteScalarQuantizer", module="quantizers")


def _base_class(configurable) -> type:
    for cls in list(GIN_VIEWS.values()) + list(GIN_NETS.values()):
        if isinstance(configurable, type) and issubclass(configurable, cls):
            return cls
    raise ConfigError(f"unsupported configurable {configurable!r}")


def _bound(selector: str, default=None):
    try:
        return gin.query_parameter(selector)
    except ValueError:
        return default


@dataclass
class ParsedConfig:
    """What a config says about the inference model, plus the objects built from it."""

    path: Path
    view: View
    net: object
    input_view: str          # gin selector of the input view
    target_views: list[str]  # gin selectors of build_module.representation
    multi_view: bool
    ckpt_path: str | None


def resolve_path(value: str | None, base_dir: Path) -> str | None:
    """A config path resolved against ``base_dir`` when relative (upstream semantics: relative to the config)."""
    if value is None:
        return None
    p = Path(value).expanduser()
    return str(p if p.is_absolute() else base_dir / p)


def parse_model_config(path: str | Path, encodec_weights_path: str | None = None) -> ParsedConfig:
    """Parse ``path`` and build the input view and encoder it describes (random weights)."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file not found: {path}")
    register_gin_names()
    with _LOCK:
        gin.clear_config()
        try:
            try:
                gin.parse_config_file(str(path), skip_unknown=True)
            except Exception as e:  # noqa: BLE001 - gin raises many types; all mean "cannot parse"
                raise ConfigError(f"{path}: cannot parse as a gin config ({type(e).__name__}: {e})") from None
            try:
                bound = _WRAPPERS["build_module"]()
            except Exception as e:  # noqa: BLE001
                raise ConfigError(f"{path}: not an OMAR-RQ model config — it must bind build_module.representation "
                                  f"and build_module.net ({type(e).__name__}: {e})") from None
            rep = bound["representation"]
            multi_view = isinstance(rep, (list, tuple))
            targets = [_base_class(r) for r in (rep if multi_view else [rep])]
            if multi_view:
                ref = _bound("modules.maskingmodel.MaskingModel.input_representation")
                if ref is None:
                    raise ConfigError(f"{path}: build_module.representation is a list (multi-view) but "
                                      "modules.maskingmodel.MaskingModel.input_representation is not bound")
                view_cfg = ref.configurable.wrapper
            else:
                view_cfg = rep
            view_cls = _base_class(view_cfg)
            selector = next(s for s, c in GIN_VIEWS.items() if c is view_cls)
            kwargs = {}
            if not multi_view and view_cls in SINGLE_VIEW_PATCH:
                kwargs["patch_size"] = SINGLE_VIEW_PATCH[view_cls]
            for param in PATH_PARAMS.get(view_cls, ()):
                kwargs[param] = resolve_path(_bound(f"{selector}.{param}"), path.parent)
            if view_cls is EnCodec and encodec_weights_path is not None:
                kwargs["weights_path"] = str(encodec_weights_path)
            try:
                view = view_cfg(**kwargs)
                net = bound["net"]()
            except (TypeError, ValueError) as e:
                raise ConfigError(f"{path}: cannot build the model it describes: {e}") from e
            _base_class(bound["net"])
            names = {c: s for s, c in GIN_VIEWS.items()}
            return ParsedConfig(path=path, view=view, net=net, input_view=selector,
                                target_views=[names[c] for c in targets], multi_view=multi_view,
                                ckpt_path=bound["ckpt_path"])
        finally:
            gin.clear_config()
