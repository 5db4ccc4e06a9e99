"""The data files that ship with the package, found with :mod:`importlib.resources` (never through the checkout).

- ``cfg/``: model configs (``models/<id>.gin``), pretraining configs (``pretrain/<id>.gin``) and the sizes and seeds
  of the synthesised sets (``synth.toml``);
- ``results/reference/``: the registry (``models.csv``, ``released.csv``) and every published reference score
  (``reference_scores.csv``), each with its source.

In the repository both folders stay where the design card puts them; the package reaches them through the links
``benchmarks/_resources/cfg`` and ``benchmarks/_resources/reference``, and the wheel carries their files as package
data at the same place, so a checkout, an editable install and an installed wheel resolve the same names.
"""
from __future__ import annotations

from importlib.resources import files
from pathlib import Path

__all__ = ["cfg_dir", "model_configs_dir", "pretrain_configs_dir", "reference_dir", "project_file"]


def _dir(name: str) -> Path:
    path = Path(str(files("benchmarks") / "_resources" / name))
    if not path.is_dir():
        raise FileNotFoundError(f"package data folder missing: {path} (a broken install of omar-bench: reinstall "
                                "it; from a checkout, benchmarks/_resources/ must link to cfg/ and "
                                "results/reference/)")
    return path


def cfg_dir() -> Path:
    """The shipped ``cfg/`` folder."""
    return _dir("cfg")


def model_configs_dir() -> Path:
    """``cfg/models``: one gin config per known architecture (seed tables, released models, ``tiny``)."""
    return cfg_dir() / "models"


def pretrain_configs_dir() -> Path:
    """``cfg/pretrain``: one pretraining config per model."""
    return cfg_dir() / "pretrain"


def reference_dir() -> Path:
    """The shipped ``results/reference/`` folder (registry and reference scores)."""
    return _dir("reference")


def project_file(relative: str) -> Path:
    """A path the registry writes relative to the repository (``cfg/models/b0.gin``, ``results/reference/x.csv``),
    resolved in the package data."""
    rel = Path(relative)
    if rel.parts[:1] == ("cfg",):
        return cfg_dir().joinpath(*rel.parts[1:])
    if rel.parts[:2] == ("results", "reference"):
        return reference_dir().joinpath(*rel.parts[2:])
    raise ValueError(f"{relative!r} is not under cfg/ or results/reference/ (the folders shipped as package data)")
