"""What ``--model`` can name, resolved to an encoder with one contract, whatever its origin.

The contract (OMAR-RQ's own, HEAR-like): ``sr`` (Hz), ``eps`` (embeddings per second; frame ``n`` stands for the time
``(n + 0.5) / eps``), ``num_layers``, ``extract_embeddings(audio (B, T) float tensor at sr, layers) -> (L, B, N,
C)``, and a ``fingerprint`` covering weights, options and versions (the embedding cache's key).
``omar-bench validate MODEL`` checks it (:mod:`benchmarks.validate`). Accepted names, in resolution order:

- ``hear:<module>``: an installed HEAR API module (:mod:`benchmarks.adapters.hear`);
- ``hf:<id or path>``: a ``transformers`` audio model, each hidden state a layer (:mod:`benchmarks.adapters.hf`);
- ``py:<module>:<callable>``: your own factory (:mod:`benchmarks.adapters.python`);

- ``mel``: the floor without learned weights — the log-mel input view of the released mel models (16 kHz, 96 mels,
  hop 256, z-normalised) cut into the same 96 × 4 patches, each flattened (384 dims at 15.625 Hz). One "layer" (0).
- ``random-<id>``: that architecture (``cfg/models/<id>.gin``, or a config path) with seeded random weights.
- a registry id (``s8``, ``b0`` … → ``<checkpoint root>/<run id>/checkpoints/<config>.gin``; root from
  ``--checkpoint-root`` or ``$OMAR_BENCH_CHECKPOINTS``), a released name (``base``, ``multifeature-25hz-fsq`` …) or a
  Hugging Face id (``mtg-upf/omar-rq-base``; local cache, else a download when ``huggingface_hub`` is installed);
- a path: a model folder (``config.gin`` + ``model.ckpt``), a development run folder, or a ``.gin`` file.

Every encoder carries a ``fingerprint`` of everything that determines its outputs (weights, view settings), the key
of the embedding cache.
"""
from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path

import torch

from omar_rq import get_model
from omar_rq.hub import is_hf_id
from omar_rq.model import ViewEncoder, validate_audio
from omar_rq.patching import patchify
from omar_rq.views import MelSpectrogram

from .errors import UsageError
from .fingerprint import fingerprint_module
from .registry import CheckpointNotFound, UnknownModel, default_registry
from .resources import model_configs_dir, project_file

MODEL_CONFIGS = model_configs_dir()
ENCODEC_ENV = "OMAR_BENCH_ENCODEC_WEIGHTS"
RANDOM_SEED = 0


class MelBaseline(ViewEncoder):
    """Log-mel patches as embeddings: the released mel models' input, without the encoder (see module docstring)."""

    num_layers = 1

    def __init__(self):
        super().__init__()
        self.view = MelSpectrogram(sr=16000, win_len=512, hop_len=256, power=2, n_mel=96, norm="slaney",
                                   mel_scale="slaney", norm_mean=2.06755686098554, norm_std=1.268292820667291,
                                   patch_size=(96, 4))

    @property
    def embed_dim(self) -> int:
        return self.view.patch_size[0] * self.view.patch_size[1]

    @torch.no_grad()
    def extract_embeddings(self, audio: torch.Tensor, layers=(0,)) -> torch.Tensor:
        layers = [layers] if isinstance(layers, int) else list(layers)
        if any(layer not in (0, -1) for layer in layers) or not layers:
            raise IndexError(f"the mel baseline has one layer: valid indices are 0 and -1, got {layers}")
        audio = validate_audio(audio, self.sr, self.view.samples_per_token, self.view.n_tokens, self.view.fb.device)
        self.view.eval()
        return patchify(self.view(audio), self.view.patch_size)[None]


@dataclass
class Encoder:
    """A resolved ``--model``: the object with the contract plus what a result record says about it."""

    name: str          # the id records and tables use
    kind: str          # "omar-rq" | "mel" | "random" | "hear" | "hf" | "py"
    model: object      # has sr, eps, num_layers, extract_embeddings
    source: str        # where it came from (path, HF id, config, module)
    fingerprint: str = field(default="")
    options: dict = field(default_factory=dict)

    @property
    def supports_autocast(self) -> bool:
        """Whether extraction may run under bf16 autocast on CUDA (the encoder's matmuls; views stay float32)."""
        return bool(getattr(self.model, "supports_autocast", self.kind in ("omar-rq", "random")))

    @property
    def sr(self) -> int:
        return int(self.model.sr)

    @property
    def eps(self) -> float:
        return float(self.model.eps)

    @property
    def num_layers(self) -> int:
        return int(self.model.num_layers)

    def info(self) -> dict:
        out = {"kind": self.kind, "source": self.source, "fingerprint": self.fingerprint, "sr": self.sr,
               "eps": self.eps, "depth": self.num_layers}
        return out | ({"options": self.options} if self.options else {})


def _config_for_random(arch: str) -> Path:
    p = Path(arch).expanduser()
    if p.suffix == ".gin" and p.is_file():
        return p
    if (MODEL_CONFIGS / f"{arch}.gin").is_file():
        return MODEL_CONFIGS / f"{arch}.gin"
    try:
        entry = default_registry().model(arch)
        if entry.project_config:
            return project_file(entry.project_config)
    except UnknownModel:
        pass
    raise UnknownModel(f"random-{arch}: no architecture named {arch!r}; known: "
                       + ", ".join(sorted(p.stem for p in MODEL_CONFIGS.glob("*.gin"))))


def _path_name(path: Path) -> str:
    """A readable record name for a model given by path: its folder (or the run folder above ``checkpoints/``),
    prefixed ``path:`` when that would read as a registry id (a local folder named ``base`` is not the released one)."""
    folder = (path if path.is_dir() else path.parent).resolve()
    if folder.name == "checkpoints":
        folder = folder.parent
    name = folder.name
    if name == "init" and (folder.parent / "config.gin").is_file():  # a pretraining run's initial weights
        name = f"{folder.parent.name}-init"
    return f"path:{name}" if default_registry().canonical(name) is not None or name in ("mel",) else name


ADAPTER_PREFIXES = ("hear:", "hf:", "py:")


def record_name(name: str) -> str:
    """The id records and tables use for ``--model name``, known without loading the model."""
    if name == "mel" or name.startswith("random-"):
        return name
    if name.startswith("hf:"):
        target = name[3:]
        p = Path(target).expanduser()
        return f"hf:{p.resolve().name}" if p.exists() else name
    if name.startswith(("hear:", "py:")):
        return name
    registry = default_registry()
    if registry.canonical(name) is not None:
        return registry.model(name).id
    if Path(name).expanduser().exists():
        return _path_name(Path(name).expanduser())
    return name


@dataclass(frozen=True)
class ModelSource:
    """Where ``--model`` points, found without loading anything: ``kind`` is "mel", "random" (``config`` = its
    architecture), "dev" / "path" (``config`` = a config file or folder), "hub" (``hf_id``), or an adapter — "hear",
    "hf", "py" (``target`` = module, model id / path, module:callable)."""

    name: str
    kind: str
    config: Path | None = None
    hf_id: str | None = None
    target: str | None = None


def locate(name: str, checkpoint_root: str | None = None) -> ModelSource:
    """Resolve ``--model`` (see module docstring) cheaply; raises :class:`UnknownModel` or
    :class:`CheckpointNotFound` with what was tried, before any data or weights are read."""
    registry = default_registry()
    if name == "mel":
        return ModelSource("mel", "mel")
    for prefix in ADAPTER_PREFIXES:
        if name.startswith(prefix):
            target = name[len(prefix):]
            if not target:
                raise UnknownModel(f"--model {name!r} names nothing after {prefix!r} (e.g. hear:my_module, "
                                   "hf:facebook/wav2vec2-base or hf:./my-model, py:my.module:make_encoder)")
            return ModelSource(record_name(name), prefix[:-1], target=target)
    if name.startswith("random-"):
        return ModelSource(name, "random", config=_config_for_random(name[len("random-"):]))
    if registry.canonical(name) is not None:
        entry = registry.model(name)
        if entry.kind == "dev":
            return ModelSource(entry.id, "dev", config=registry.resolve_checkpoint(entry.id, checkpoint_root))
        return ModelSource(entry.id, "hub", hf_id=entry.hf_id)
    if Path(name).expanduser().exists():
        return ModelSource(record_name(name), "path", config=Path(name).expanduser())
    if is_hf_id(name):
        return ModelSource(name, "hub", hf_id=name)
    from benchmarks.errors import did_you_mean

    raise UnknownModel(f"unknown model {name!r}{did_you_mean(name, ['mel', *registry.ids()])}. Use one of: mel, random-<architecture> (e.g. random-tiny, "
                       f"random-base), a registry id ({', '.join(registry.ids())}), a Hugging Face id "
                       "(mtg-upf/omar-rq-base), a path to a model folder / config.gin / development run folder, "
                       "or another encoder: hear:<module>, hf:<id or path>, py:<module>:<callable>.")


def load_encoder(name: str | ModelSource, device: str = "cpu", checkpoint_root: str | None = None,
                 encodec_weights: str | None = None, options: dict | None = None, weights: str | None = None,
                 trust_remote_code: bool = False) -> Encoder:
    """Resolve and load ``--model`` (see module docstring): an :class:`Encoder` on ``device``, eval mode,
    fingerprinted. ``options`` (``--model-options``), ``weights`` (``--weights``) and ``trust_remote_code``
    (``--trust-remote-code``) go to the adapters."""
    src = name if isinstance(name, ModelSource) else locate(name, checkpoint_root)
    encodec = encodec_weights or os.environ.get(ENCODEC_ENV) or None
    if src.kind in ("hear", "hf", "py"):
        return _load_adapter(src, device, options, weights, trust_remote_code)
    if options or weights or trust_remote_code:
        raise UsageError("--model-options, --weights and --trust-remote-code apply to hear:, hf: and py: models")
    if src.kind == "mel":
        enc = Encoder("mel", "mel", MelBaseline().to(device).eval(),
                      "log-mel patches (16 kHz, 96 mels, hop 256, patch 96x4)")
    elif src.kind == "random":
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(RANDOM_SEED)
            model = get_model(config_file=src.config, load_weights=False, device=device,
                              encodec_weights_path=encodec)
        enc = Encoder(src.name, "random", model, f"{src.config} (random weights, seed {RANDOM_SEED})")
    elif src.kind == "hub":
        model = get_model(model_id=src.hf_id, device=device, encodec_weights_path=encodec)
        enc = Encoder(src.name, "omar-rq", model, src.hf_id)
    else:
        model = get_model(config_file=src.config, device=device, encodec_weights_path=encodec)
        enc = Encoder(src.name, "omar-rq", model, str(Path(src.config).resolve()))
    enc.fingerprint = fingerprint_module(enc.model, extra=enc.kind)
    return enc


def _load_adapter(src: ModelSource, device: str, options, weights, trust_remote_code) -> Encoder:
    from .adapters import AdapterError

    try:
        if src.kind == "hear":
            from .adapters.hear import HearEncoder

            model = HearEncoder(src.target, weights=weights, options=options, device=device)
        elif src.kind == "hf":
            if weights:
                raise UsageError("--weights does not apply to hf: models (point hf: at the model folder)")
            from .adapters.hf import HFEncoder

            model = HFEncoder(src.target, device=device, trust_remote_code=trust_remote_code, options=options)
        else:
            from .adapters.python import load_python_encoder

            model = load_python_encoder(src.target, weights=weights, options=options, device=device)
    except (AdapterError, UsageError):
        raise
    except Exception as e:  # noqa: BLE001 - the user's module failed while loading: say which and why
        raise AdapterError(f"{src.kind}:{src.target}: failed to load ({type(e).__name__}: {e})") from e
    h = hashlib.blake2b(digest_size=20)
    for part in model.fingerprint_parts():
        h.update(str(part).encode() + b"\0")
    return Encoder(src.name, src.kind, model, model.describe(), fingerprint=h.hexdigest(),
                   options=dict(options or {}) | ({"weights": str(weights)} if weights else {}))


__all__ = ["Encoder", "MelBaseline", "ModelSource", "locate", "load_encoder", "record_name", "fingerprint_module", "UnknownModel", "CheckpointNotFound"]
