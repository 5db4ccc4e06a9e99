"""``get_model``: the seed's entry point — a released folder, a development run, a config file or a HF id → model."""
from __future__ import annotations

import logging
from pathlib import Path

import torch

from .checkpoint import CheckpointError, load_encoder_weights
from .config import ConfigError, parse_model_config
from .hub import ModelNotFound, is_hf_id, resolve_hf_model
from .model import OmarRQ
from .transformer import Transformer

log = logging.getLogger("omar_rq")


def find_config(source: str | Path) -> Path:
    """The ``.gin`` file behind ``source``: a ``.gin`` file; a folder with ``config.gin`` (released format); a run
    folder with ``checkpoints/*.gin`` or a folder with exactly one ``*.gin`` (development); a ``.ckpt`` file with its
    config beside it; or a Hugging Face id (local cache, else download)."""
    p = Path(source).expanduser()
    if p.is_file():
        if p.suffix == ".gin":
            return p
        if p.suffix == ".ckpt":
            return find_config(p.parent)
        raise ConfigError(f"{p}: expected a .gin config, a .ckpt beside its config, or a model folder")
    if p.is_dir():
        if (p / "config.gin").is_file():
            return p / "config.gin"
        for folder in (p / "checkpoints", p):
            gins = sorted(folder.glob("*.gin"))
            if len(gins) == 1:
                return gins[0]
            if len(gins) > 1:
                raise ConfigError(f"{folder} holds several configs ({', '.join(g.name for g in gins)}): pass "
                                  "config_file= the one to use")
        found = ", ".join(sorted(x.name for x in p.iterdir())[:10]) or "(empty)"
        raise ConfigError(f"{p}: no model config found. Expected config.gin + model.ckpt (released format) or "
                          f"checkpoints/<config>.gin + *.ckpt (development run); found: {found}")
    if is_hf_id(str(source)):
        return resolve_hf_model(str(source)) / "config.gin"
    raise ModelNotFound(f"{source}: no such file or folder, and not a Hugging Face id (org/name)")


def find_checkpoint(config_path: Path, ckpt_binding: str | None) -> Path:
    """The checkpoint for ``config_path``: ``build_module.ckpt_path`` resolved beside the config (upstream keeps only
    the file name of an absolute path), else the newest ``*.ckpt`` beside it."""
    folder = config_path.parent
    if ckpt_binding:
        bound = Path(ckpt_binding).expanduser()
        candidates = ([folder / bound] if not bound.is_absolute() else []) + [folder / bound.name]
        if bound.is_absolute():
            candidates.append(bound)
        for c in candidates:
            if c.is_file():
                return c
        raise CheckpointError(f"checkpoint not found: {config_path} binds build_module.ckpt_path = "
                              f"{ckpt_binding!r}; looked for {', '.join(map(str, dict.fromkeys(candidates)))}")
    ckpts = sorted(folder.glob("*.ckpt"), key=lambda c: (c.stat().st_mtime, c.name))
    if not ckpts:
        raise CheckpointError(f"no checkpoint for {config_path}: it does not bind build_module.ckpt_path and there "
                              f"is no *.ckpt in {folder}")
    if len(ckpts) > 1:
        log.warning("%d checkpoints beside %s; using the newest: %s", len(ckpts), config_path.name, ckpts[-1].name)
    return ckpts[-1]


def get_model(model_id: str | None = None, config_file: str | Path | None = None, device: str = "cpu",
              encodec_weights_path: str | Path | None = None, load_weights: bool = True, **model_kwargs) -> OmarRQ:
    """Load an OMAR-RQ encoder for inference (eval mode, on ``device``).

    Exactly one of ``model_id`` (a Hugging Face id such as ``"mtg-upf/omar-rq-base"``, or a local folder) and
    ``config_file`` (a ``config.gin``, a model folder, or a development run folder). ``encodec_weights_path``
    overrides the config's EnCodec weights folder (EnCodec-input models). ``load_weights=False`` gives the
    architecture with random weights. ``model_kwargs`` go to :class:`OmarRQ` (``window_seconds``,
    ``overlap_seconds``, ``window_batch_size``). Returns a module with ``extract_embeddings(audio, layers)``,
    ``sr`` and ``eps``.
    """
    if (model_id is None) == (config_file is None):
        raise ValueError("pass exactly one of model_id= (a Hugging Face id or model folder) and config_file=")
    config_path = find_config(model_id if model_id is not None else config_file)
    parsed = parse_model_config(config_path, encodec_weights_path=encodec_weights_path)
    model = OmarRQ(parsed.view, parsed.net, **model_kwargs)
    model.config_path = config_path
    model.parsed_config = parsed
    if load_weights:
        ckpt = find_checkpoint(config_path, parsed.ckpt_path)
        state = load_encoder_weights(ckpt)
        pos = state.get("net.pos_embed")
        if isinstance(model.net, Transformer) and pos is not None and pos.shape != model.net.pos_embed.shape:
            # the positional table's length is not in the configs; take it from the checkpoint
            model.net.pos_embed = torch.nn.Parameter(torch.zeros_like(pos))
        model.load_encoder_state_dict(state, source=str(ckpt))
        model.checkpoint_path = ckpt
    return model.to(device).eval()
