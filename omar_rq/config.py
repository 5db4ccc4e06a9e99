"""Reading OMAR-RQ gin configs: our classes registered under the released configs' gin names.

Released and development ``config.gin`` files parse as they are (``skip_unknown=True`` drops the training-only
bindings: ``train.*``, data modules, callbacks…). Gin keeps global state, so each parse happens under a lock between
two ``gin.clear_config()`` calls and builds everything it needs before returning.
"""
from __future__ import annotations

import contextlib
import re
import threading
from dataclasses import dataclass
from pathlib import Path

import gin

from .conformer import Conformer
from .errors import UserError
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

#: Training-only gin names of the pretraining configs. Registered as permissive sinks (any parameter accepted, nothing
#: built) so :mod:`omar_rq.train.build` can query their bindings; inference ignores them.
TRAINING_NAMES = ("train", "AudioDataset", "AudioDataModule", "DiscotubeAudioDataModule", "CosineAnnealingCallback")


def _training_sink(name: str):
    def sink(**bindings):
        return bindings

    sink.__name__ = sink.__qualname__ = name
    return sink


def _training_class(module: str, name: str):
    """A gin target standing for training class ``module.name``: any binding accepted, the class imported and built
    only when the configurable is called."""
    def build(**bindings):
        import importlib

        return getattr(importlib.import_module(module), name)(**bindings)

    build.__name__ = build.__qualname__ = name
    return build


_LOCK = threading.RLock()
_WRAPPERS: dict[str, object] = {}


class ConfigError(UserError, ValueError):
    """A config file that is not a usable OMAR-RQ model config; the message names the file and the problem."""


_INCLUDE = re.compile(r"""^\s*include\s+(['"])(.+?)\1\s*(#.*)?$""")


class UnsafeConfig(ConfigError):
    """A config that would import code (``import …`` or ``from __gin__ import dynamic_registration``)."""


def check_no_imports(path: Path, text: str) -> None:
    """Refuse a config that imports code, naming the file and the line.

    Model folders come from the internet and their configs are as untrusted as their checkpoints (which load with
    ``torch.load(weights_only=True)``): gin executes an ``import`` line by importing the module, so any module on the
    path would run. The statements are found with gin's own parser (``gin.config_parser``), before gin parses the
    file; our configurables never need an import.
    """
    from gin import config_parser

    class _Delegate(config_parser.ParserDelegate):
        def configurable_reference(self, scoped_name, evaluate):
            return scoped_name

        def macro(self, name):
            return name

    try:
        statements = list(config_parser.ConfigParser(text, _Delegate()))
    except Exception:  # noqa: BLE001 - not parseable: gin's own parse reports it with the file name
        statements = []
        for n, line in enumerate(text.splitlines(), 1):  # still refuse what looks like an import
            if re.match(r"^\s*(import\s+\S|from\s+\S+\s+import\s)", line):
                statements.append(config_parser.ImportStatement(
                    line.strip(), False, None, config_parser.Location(str(path), n, None, line)))
    for st in statements:
        if isinstance(st, config_parser.ImportStatement):
            line = st.location.line_content.strip()
            raise UnsafeConfig(f"{path}, line {st.location.line_num}: refused `{line}`: model configs may not "
                               "import code (gin would run the imported module); remove the line")


def flatten_config(path: str | Path, _stack: tuple[Path, ...] = ()) -> str:
    """The text of gin config ``path`` with every ``include '...'`` line replaced by the included file's text.

    Include paths resolve against the including file's folder first, then the working directory, so a config
    works from anywhere (gin alone resolves them against the working directory). Cycles are an error.
    """
    path = Path(path).resolve()
    if path in _stack:
        raise ConfigError(f"include cycle: {' -> '.join(str(p) for p in _stack + (path,))}")
    if not path.is_file():
        raise ConfigError(f"config file not found: {path}")
    text = path.read_text()
    check_no_imports(path, text)
    out = []
    for line in text.splitlines():
        m = _INCLUDE.match(line)
        if not m:
            out.append(line)
            continue
        target = Path(m.group(2)).expanduser()
        candidates = [target] if target.is_absolute() else [path.parent / target, Path.cwd() / target]
        found = next((c for c in candidates if c.is_file()), None)
        if found is None:
            raise ConfigError(f"{path}: included file {m.group(2)!r} not found (looked for "
                              f"{', '.join(map(str, candidates))})")
        out.append(f"# ---- begin include {m.group(2)} ({found.resolve()})")
        out.append(flatten_config(found, _stack + (path,)))
        out.append(f"# ---- end include {m.group(2)}")
    return "\n".join(out) + "\n"


@contextlib.contextmanager
def parsed_config(path: str | Path, text: str | None = None):
    """Parse config ``path`` (includes inlined, or the given ``text``) with ``skip_unknown=True`` under the gin
    lock, and clear gin's global state again on exit. Build everything you need inside the ``with`` block.
    A config that imports code is refused (:func:`check_no_imports`)."""
    path = Path(path)
    text = flatten_config(path) if text is None else text
    check_no_imports(path, text)
    register_gin_names()
    with _LOCK:
        gin.clear_config()
        try:
            try:
                gin.parse_config(text, skip_unknown=True)
            except Exception as e:  # noqa: BLE001 - gin raises many types; all mean "cannot parse"
                raise ConfigError(f"{path}: cannot parse as a gin config ({type(e).__name__}: {e})") from None
            yield
        finally:
            gin.clear_config()


def bound_build_module(path: str | Path) -> dict:
    """``build_module``'s bindings (references resolved to configurables); call inside :func:`parsed_config`."""
    try:
        return _WRAPPERS["build_module"]()
    except Exception as e:  # noqa: BLE001
        raise ConfigError(f"{path}: not an OMAR-RQ model config — it must bind build_module.representation "
                          f"and build_module.net ({type(e).__name__}: {e})") from None


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
        # the training classes are registered as proxies that import them only when called, so parsing a config
        # (inference) never imports Lightning; pretraining builds the real MaskingModel through the proxy
        _WRAPPERS["modules.maskingmodel.MaskingModel"] = gin.external_configurable(
            _training_class("omar_rq.train.maskingmodel", "MaskingModel"), name="MaskingModel",
            module="modules.maskingmodel")
        _WRAPPERS["FiniteScalarQuantizer"] = gin.external_configurable(
            _training_class("omar_rq.train.quantizers", "FiniteScalarQuantizer"), name="FiniteScalarQuantizer",
            module="quantizers")
        for name in TRAINING_NAMES:
            _WRAPPERS[name] = gin.external_configurable(_training_sink(name), name=name)


def wrapper(selector: str):
    """The registered gin configurable of ``selector`` (e.g. ``"modules.maskingmodel.MaskingModel"``); calling it
    inside :func:`parsed_config` applies the parsed bindings."""
    register_gin_names()
    return _WRAPPERS[selector]


def base_class(configurable) -> type:
    for cls in list(GIN_VIEWS.values()) + list(GIN_NETS.values()):
        if isinstance(configurable, type) and issubclass(configurable, cls):
            return cls
    raise ConfigError(f"unsupported configurable {configurable!r}")


def bound_parameter(selector: str, default=None):
    """The value bound to ``selector`` in the parsed config, or ``default`` when unbound."""
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


def input_view_configurable(path: str | Path, representation):
    """The configurable of the input view (call inside :func:`parsed_config`): ``MaskingModel.input_representation``
    for a multi-view config (it may name a view outside the list), else the single view."""
    if not isinstance(representation, (list, tuple)):
        return representation
    ref = bound_parameter("modules.maskingmodel.MaskingModel.input_representation")
    if ref is None:
        raise ConfigError(f"{path}: build_module.representation is a list (multi-view) but "
                          "modules.maskingmodel.MaskingModel.input_representation is not bound")
    return ref.configurable.wrapper


def view_kwargs(cls: type, multi_view: bool, config_path: Path, encodec_weights_path=None,
                encodec_stats_path=None) -> dict:
    """Explicit arguments for building view ``cls`` from the parsed config (call inside :func:`parsed_config`): the
    fixed patch of a single-view model, file paths resolved against the config's folder, EnCodec overrides."""
    kwargs = {}
    if not multi_view and cls in SINGLE_VIEW_PATCH:
        kwargs["patch_size"] = SINGLE_VIEW_PATCH[cls]
    selector = next(s for s, c in GIN_VIEWS.items() if c is cls)
    for param in PATH_PARAMS.get(cls, ()):
        value = resolve_path(bound_parameter(f"{selector}.{param}"), Path(config_path).parent)
        if value is not None:
            kwargs[param] = value
    if cls is EnCodec and encodec_weights_path is not None:
        kwargs["weights_path"] = str(Path(encodec_weights_path).expanduser().resolve())
    if cls is EnCodec and encodec_stats_path is not None:
        kwargs["stats_path"] = str(Path(encodec_stats_path).expanduser().resolve())
    return kwargs


def parse_model_config(path: str | Path, encodec_weights_path: str | None = None) -> ParsedConfig:
    """Parse ``path`` and build the input view and encoder it describes (random weights)."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file not found: {path}")
    with parsed_config(path):
        bound = bound_build_module(path)
        rep = bound["representation"]
        multi_view = isinstance(rep, (list, tuple))
        targets = [base_class(r) for r in (rep if multi_view else [rep])]
        view_cfg = input_view_configurable(path, rep)
        view_cls = base_class(view_cfg)
        selector = next(s for s, c in GIN_VIEWS.items() if c is view_cls)
        try:
            view = view_cfg(**view_kwargs(view_cls, multi_view, path, encodec_weights_path))
            net = bound["net"]()
        except (TypeError, ValueError) as e:
            raise ConfigError(f"{path}: cannot build the model it describes: {e}") from e
        base_class(bound["net"])
        names = {c: s for s, c in GIN_VIEWS.items()}
        return ParsedConfig(path=path, view=view, net=net, input_view=selector,
                            target_views=[names[c] for c in targets], multi_view=multi_view,
                            ckpt_path=bound["ckpt_path"])


def read_depth(path: str | Path) -> int:
    """Number of encoder blocks a config describes, read from its bindings without building anything (cheap even
    for full-size or EnCodec-input models)."""
    with parsed_config(path):
        for selector in GIN_NETS:
            depth = bound_parameter(f"{selector}.depth")
            if depth is not None:
                return int(depth)
        import inspect

        net = bound_build_module(path)["net"]
        return int(inspect.signature(base_class(net)).parameters["depth"].default)
