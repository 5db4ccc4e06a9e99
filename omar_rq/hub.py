"""Finding released models (``mtg-upf/omar-rq-*``) in the local Hugging Face cache, or downloading them when
``huggingface_hub`` is installed and the network allows.

The cache is read directly (layout ``models--<org>--<name>/snapshots/<rev>/``), so finding a cached model needs
neither the network nor ``huggingface_hub``.
"""
from __future__ import annotations

import os
from pathlib import Path
from .errors import UserError


class ModelNotFound(UserError, FileNotFoundError):
    pass


def hf_cache_dir() -> Path:
    """The hub cache folder huggingface_hub would use: ``$HF_HUB_CACHE``, else (legacy) ``$HUGGINGFACE_HUB_CACHE``,
    else ``$HF_HOME/hub``, else ``$XDG_CACHE_HOME/huggingface/hub``, else ``~/.cache/huggingface/hub``."""
    env = os.environ
    if env.get("HF_HUB_CACHE"):
        d = Path(env["HF_HUB_CACHE"])
    elif env.get("HUGGINGFACE_HUB_CACHE"):
        d = Path(env["HUGGINGFACE_HUB_CACHE"])
    elif env.get("HF_HOME"):
        d = Path(env["HF_HOME"]) / "hub"
    elif env.get("XDG_CACHE_HOME"):
        d = Path(env["XDG_CACHE_HOME"]) / "huggingface" / "hub"
    else:
        d = Path("~/.cache/huggingface/hub")
    return d.expanduser()


def hf_repo_dir(repo_id: str) -> Path:
    return hf_cache_dir() / ("models--" + repo_id.replace("/", "--"))


def is_hf_id(s: str) -> bool:
    """``org/name`` with no path of that name on disk."""
    parts = str(s).split("/")
    return len(parts) == 2 and all(parts) and not Path(s).exists() and not str(s).startswith((".", "~"))


def find_in_hf_cache(repo_id: str, filename: str = "config.gin") -> Path | None:
    """``<cache>/models--<org>--<name>/snapshots/<rev>/<filename>`` if cached, else None. No network.

    Snapshot choice: the revision ``refs/main`` points to when that snapshot has the file, else the most recently
    modified snapshot that has it (ties by name), so a partial older download never shadows a complete newer one.
    """
    repo = hf_repo_dir(repo_id)
    snaps = repo / "snapshots"
    if not snaps.is_dir():
        return None
    ref = repo / "refs" / "main"
    if ref.is_file():
        rev = ref.read_text(encoding="utf-8").strip()
        cand = snaps / rev / filename
        if rev and cand.is_file():
            return cand
    found = [s / filename for s in snaps.iterdir() if (s / filename).is_file()]
    if found:
        return max(found, key=lambda p: (p.parent.stat().st_mtime, p.parent.name))
    return None


def resolve_hf_model(repo_id: str) -> Path:
    """Local folder with ``config.gin`` + ``model.ckpt`` for ``repo_id``: the cache, else a download."""
    found = find_in_hf_cache(repo_id)
    if found is not None:
        return found.parent
    where = hf_repo_dir(repo_id)
    try:
        from huggingface_hub import snapshot_download
    except ImportError:
        raise ModelNotFound(f"{repo_id} is not in the local Hugging Face cache (looked in {where}) and "
                            "huggingface_hub is not installed to download it. Either `pip install huggingface_hub` "
                            "(online), set HF_HUB_CACHE / HF_HOME to a cache that holds it, or download the repo "
                            "elsewhere and pass its folder (config.gin + model.ckpt).") from None
    try:
        return Path(snapshot_download(repo_id, allow_patterns=["*.gin", "*.ckpt", "*.json", "*.safetensors"]))
    except Exception as e:  # noqa: BLE001 - offline, unknown repo, auth… all mean "not available"
        raise ModelNotFound(f"{repo_id} is not in the local Hugging Face cache (looked in {where}) and the download "
                            f"failed ({type(e).__name__}: {e}). Offline? Pass a local folder with config.gin + "
                            "model.ckpt instead.") from None
