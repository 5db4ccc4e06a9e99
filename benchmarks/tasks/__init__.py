"""The tasks ``omar-bench run --task`` knows. Each is a small module: layout, split, labels, probe, metrics."""
from __future__ import annotations

from .base import ClipTask, Fold, Task
from .beats import BeatTask
from .mtat import MTATTask
from .nsynth import NSynthTask


def _tasks() -> dict[str, Task]:
    tasks = [
        MTATTask("mtat"),
        MTATTask("mtat-original", split="original"),
        NSynthTask("pitch", "nsynth-pitch"),
        NSynthTask("instrument_family", "nsynth-instrument"),
        BeatTask("beats"),
        BeatTask("beats-gtzan", layout="gtzan", data_subdir="gtzan"),
        BeatTask("beats-ballroom", layout="ballroom", data_subdir="ballroom"),
        MTATTask("synth-mtat", synth_set="mtat"),
        NSynthTask("pitch", "synth-nsynth-pitch", synth_set="nsynth"),
        NSynthTask("instrument_family", "synth-nsynth-instrument", synth_set="nsynth"),
        BeatTask("synth-beats", synth_set="beats"),
    ]
    return {t.name: t for t in tasks}


TASK_NAMES = tuple(_tasks())
SYNTH_TASKS = tuple(n for n, t in _tasks().items() if t.synth_set)


class UnknownTask(KeyError):
    def __str__(self) -> str:
        return str(self.args[0])


def get_task(name: str) -> Task:
    """A fresh task object (tasks record options on themselves during a run)."""
    tasks = _tasks()
    if name not in tasks:
        raise UnknownTask(f"unknown task {name!r}; valid tasks: {', '.join(tasks)}")
    return tasks[name]


__all__ = ["Task", "ClipTask", "Fold", "BeatTask", "MTATTask", "NSynthTask", "get_task", "TASK_NAMES",
           "SYNTH_TASKS", "UnknownTask"]
