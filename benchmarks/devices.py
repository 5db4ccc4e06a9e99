"""The device a run asks for (``--device``): checked before any work, and named in the record's costs."""
from __future__ import annotations

import platform
from pathlib import Path

from .errors import UsageError

__all__ = ["check_device", "device_name"]


def check_device(device: str) -> None:
    """Fail early, with the reason, on a ``--device`` that cannot be used here."""
    import torch

    try:
        d = torch.device("cuda" if device == "gpu" else device)
    except RuntimeError:
        raise UsageError(f"--device {device!r} is not a device name (use cpu, cuda or cuda:N)") from None
    if d.type == "cuda":
        if not torch.cuda.is_available():
            raise UsageError(f"--device {device}: no CUDA device is available here (torch {torch.__version__}, "
                             f"{'a CPU-only build' if torch.version.cuda is None else 'CUDA ' + torch.version.cuda})")
        if d.index is not None and d.index >= torch.cuda.device_count():
            raise UsageError(f"--device {device}: only {torch.cuda.device_count()} CUDA device(s) here")
    elif d.type != "cpu":
        raise UsageError(f"--device {device!r}: use cpu, cuda or cuda:N")


def device_name(device: str) -> str:
    """The accelerator's name (CUDA), else the CPU model (``/proc/cpuinfo``, else ``platform.processor()``)."""
    import torch

    if device != "cpu" and torch.cuda.is_available():
        return torch.cuda.get_device_name(torch.device("cuda" if device == "gpu" else device))
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "cpu"
