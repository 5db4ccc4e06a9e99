"""Test-time post-processing beside training: a frame-level task's decoding of its chosen probes' test outputs
(madmom's DBN for beats, segment decoding for chords and structure) runs in worker processes while the next fold
trains.

The main process predicts (the probe is on its device) and hands the activations to a worker, which runs the
task's :meth:`benchmarks.tasks.base.FrameTask.decode`; the runner collects every result after the last fold, in
submission order, so records do not depend on the number of workers. Tasks without a ``decode`` step (clip-level
tasks, whose scoring is a few array operations) are evaluated at once, as are all tasks with 0 workers.
"""
from __future__ import annotations

import multiprocessing as mp
import os
from concurrent.futures import Future, ProcessPoolExecutor

__all__ = ["PostProcessor", "default_postprocess_workers"]


def default_postprocess_workers(device: str) -> int:
    """Workers when none are asked for: none when probes train on the CPU (training uses every core, and decoding
    beside it would only take them away), up to 4 beside an accelerator (leaving one core to drive it)."""
    if str(device).startswith("cpu"):
        return 0
    return max(0, min(4, (os.cpu_count() or 2) - 1))


class PostProcessor:
    """Evaluates test outputs, at once (``workers`` = 0) or in ``workers`` spawned processes (no forked torch
    state). Use as a context manager; :meth:`submit` returns a :class:`concurrent.futures.Future` of the metrics
    dict that the task's ``evaluate`` would return."""

    def __init__(self, workers: int = 0):
        if workers < 0:
            raise ValueError(f"workers must be >= 0, got {workers}")
        self.workers = int(workers)
        self._pool: ProcessPoolExecutor | None = None

    def __enter__(self) -> "PostProcessor":
        return self

    def __exit__(self, exc_type, *_) -> None:
        self.close(cancel=exc_type is not None)

    def close(self, cancel: bool = False) -> None:
        """Stop the workers: after their work (default), or dropping what is queued (``cancel``, after an error)."""
        if self._pool is not None:
            self._pool.shutdown(wait=not cancel, cancel_futures=cancel)
            self._pool = None

    def submit(self, task, prep, fitted, data, examples, eps: float) -> Future:
        decode = getattr(task, "decode", None)
        if self.workers == 0 or decode is None:
            done: Future = Future()
            done.set_result(task.evaluate(prep, fitted, data, examples, eps))
            return done
        if self._pool is None:
            self._pool = ProcessPoolExecutor(self.workers, mp_context=mp.get_context("spawn"))
        return self._pool.submit(decode, prep, fitted.predict(data), data.y, list(examples), eps)
