"""The process's memory, as Linux reports it (``/proc/self/status``): resident size now, its peak, and resetting
the peak so that a run (or a benchmark case) measures only its own work; plus torch's peak device memory on CUDA.

Elsewhere, the peak falls back to ``getrusage``'s maximum resident size (which cannot be reset) and the current
size to None."""
from __future__ import annotations

import resource
import sys

__all__ = ["rss_mb", "peak_rss_mb", "reset_peak", "reset_peak_memory", "peak_memory_mb"]


def _status_mb(field: str) -> float | None:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) / 1024.0
    except (OSError, ValueError):
        return None
    return None


def rss_mb() -> float | None:
    """Resident memory now (MB, ``VmRSS``), or None where it cannot be read."""
    return _status_mb("VmRSS")


def peak_rss_mb() -> float:
    """Peak resident memory (MB) since the last :func:`reset_peak` (``VmHWM``), else the process's maximum
    (``getrusage``)."""
    peak = _status_mb("VmHWM")
    if peak is not None:
        return peak
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / (1024.0 if sys.platform != "darwin" else 1024.0 ** 2)


def reset_peak() -> bool:
    """Reset the peak-RSS counter (``/proc/self/clear_refs`` ← "5", Linux ≥ 4.0); False where it cannot be."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def reset_peak_memory(device: str) -> None:
    """Start counting a run's peak memory: the peak-RSS counter and, on CUDA, torch's peak device memory."""
    reset_peak()
    if device != "cpu":
        import torch

        if torch.cuda.is_available():
            torch.cuda.reset_peak_memory_stats()


def peak_memory_mb(device: str) -> dict:
    """``{"peak_rss_mb": …}`` since :func:`reset_peak_memory`, and ``"peak_device_mb"`` (torch's peak allocated
    device memory) on CUDA."""
    out = {"peak_rss_mb": round(peak_rss_mb(), 1)}
    if device != "cpu":
        import torch

        if torch.cuda.is_available():
            out["peak_device_mb"] = round(torch.cuda.max_memory_allocated() / 2 ** 20, 1)
    return out
