"""The tasks ``omar-bench run --task`` knows: every module of this package that defines ``TASKS`` (a list of
:class:`benchmarks.tasks.base.Task`). Adding a task on an existing probe kind (:mod:`probes.kinds`) is one file here
plus its reader (:mod:`benchmarks.datasets`); a synthesised twin adds its module in :mod:`benchmarks.synth` and a task
naming it. The synthesised sets, their configuration and the offline table's columns are derived from this
registry."""
from __future__ import annotations

import importlib
import pkgutil
from functools import lru_cache

from .base import ClipTask, EmptySplit, Fold, FrameTask, Metric, Prepared, Task, TooFewTracks
from omar_rq.errors import UserError


@lru_cache(maxsize=1)
def all_tasks() -> dict[str, Task]:
    """Every task by name, in module order (``base`` first is skipped: it defines no tasks)."""
    out: dict[str, Task] = {}
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: _ORDER.get(m.name, 99)):
        module = importlib.import_module(f"{__name__}.{info.name}")
        for task in getattr(module, "TASKS", ()):
            if task.name in out:
                raise ValueError(f"two tasks are named {task.name!r}")
            out[task.name] = task
    return out


#: Listing order of the task modules (others follow alphabetically).
_ORDER = {"mtat": 0, "nsynth": 1, "beats": 2}


class UnknownTask(UserError, KeyError):
    def __str__(self) -> str:
        return str(self.args[0])


def get_task(name: str) -> Task:
    """The task named ``name`` (tasks are frozen: the same object serves every run)."""
    tasks = all_tasks()
    if name not in tasks:
        from benchmarks.errors import did_you_mean

        raise UnknownTask(f"unknown task {name!r}{did_you_mean(name, tasks)}; valid tasks: {', '.join(tasks)}")
    return tasks[name]


def task_names() -> tuple[str, ...]:
    return tuple(all_tasks())


def synth_tasks() -> tuple[str, ...]:
    return tuple(n for n, t in all_tasks().items() if t.synth_set)


def find_task(name: str) -> Task | None:
    """The task named ``name``, or None (records of tasks this version does not know)."""
    return all_tasks().get(name)


__all__ = ["Task", "ClipTask", "FrameTask", "Fold", "Prepared", "Metric", "get_task", "find_task", "task_names",
           "synth_tasks", "all_tasks", "UnknownTask", "TooFewTracks", "EmptySplit"]
