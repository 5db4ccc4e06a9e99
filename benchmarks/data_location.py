"""Where a task's data is: the one place ``run``, ``tasks`` and ``reproduce`` resolve it.

In order: an explicit folder (``--data-dir``); a dataset root holding each dataset in its task's folder
(``--data-root``, else ``$OMAR_BENCH_DATA``: ``ROOT/<task.data_subdir>``); for ``synth-*`` tasks, their synthesised
set under the cache (rendered on first use).
"""
from __future__ import annotations

import os
from pathlib import Path
from omar_rq.errors import UserError

DATA_ENV = "OMAR_BENCH_DATA"
SYNTH_CONFIG_ENV = "OMAR_BENCH_SYNTH_CONFIG"   # another sizes/seeds TOML for the synthesised sets (default cfg/synth.toml)

__all__ = ["DATA_ENV", "SYNTH_CONFIG_ENV", "DataNotFound", "data_dir_for", "data_status"]


class DataNotFound(UserError, FileNotFoundError):
    """A task's dataset was not given and cannot be found (the message says how to point at it)."""


def _root(data_root: str | os.PathLike | None) -> Path | None:
    root = data_root or os.environ.get(DATA_ENV) or None
    return Path(root).expanduser() if root else None


def data_dir_for(task, data_dir: str | os.PathLike | None = None, data_root: str | os.PathLike | None = None,
                 cache_dir: str | os.PathLike | None = None, progress: bool = True) -> Path:
    """The folder ``task`` reads (see the module docstring); renders a synthesised set when it is needed."""
    if data_dir:
        return Path(data_dir).expanduser()
    if task.synth_set:
        from .cache import default_cache_dir
        from .synth import synthesize

        cache = Path(cache_dir).expanduser() if cache_dir else default_cache_dir()
        config = os.environ.get(SYNTH_CONFIG_ENV) or None
        return Path(synthesize(cache / "synth", sets=(task.synth_set,), config=config,
                               progress=progress)[task.synth_set])
    root = _root(data_root)
    if root is not None:
        return root / task.data_subdir
    raise DataNotFound(f"task {task.name} needs its dataset: pass --data-dir DIR, or set {DATA_ENV}=ROOT to use "
                       f"ROOT/{task.data_subdir}. Expected layout: {task.layout}. (No dataset at hand? The "
                       "synth-* tasks run on synthesised data: omar-bench tasks lists them.)")


def data_status(task, data_root: str | os.PathLike | None = None,
                cache_dir: str | os.PathLike | None = None) -> tuple[bool, str]:
    """(found, where) for ``omar-bench tasks``, without rendering or reading anything."""
    if task.synth_set:
        from .cache import default_cache_dir

        cache = Path(cache_dir).expanduser() if cache_dir else default_cache_dir()
        where = cache / "synth" / task.synth_set
        return (True, f"found ({where})") if where.is_dir() else (False, "synthesised on first use")
    root = _root(data_root)
    if root is None:
        return False, f"not found (set {DATA_ENV} or --data-dir)"
    where = root / task.data_subdir
    return (True, f"found ({where})") if where.is_dir() else (False, f"not found ({where})")
