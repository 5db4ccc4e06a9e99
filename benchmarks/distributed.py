"""Several processes, GPUs or nodes for ``run`` (``--devices N [--num-nodes M] [--strategy ddp]``), through Lightning
Fabric.

Fabric launches one process per device (on CPU: processes joined by gloo). Every rank runs the same command:

1. rank 0 locates (and, for ``synth-*`` tasks, renders) the data first; the others wait for it, then load it;
2. extraction is sharded: rank ``r`` of ``w`` extracts examples ``r, r + w, r + 2w, …`` of the task's index, each
   writing its entries atomically into the shared content-addressed cache (an entry is one file, renamed into place,
   so two ranks never see half of one and an interrupted run resumes from what any rank wrote);
3. the ranks meet (an ``all_gather`` of their extraction counts and times), and every rank but 0 stops;
4. rank 0 consolidates the index, trains the probes and writes the records, exactly as a one-process run does
   (its extraction finds every entry cached). The probe stage stays on one rank so that the metrics equal a
   one-device run's exactly: the batched engine matches a lone fit only to float tolerance, so sharding layers or
   folds would not.

The record's timings sum the ranks' ``files_extracted`` and take the slowest rank's extraction time.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

__all__ = ["Group", "start"]


@dataclass
class Group:
    """The processes of one run: this one's ``rank`` of ``world``, on ``device``."""

    fabric: object
    rank: int
    world: int
    device: str

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def shard(self, items: list) -> list:
        """This rank's share of ``items``: every ``world``-th, from ``rank``."""
        return list(items)[self.rank::self.world]

    def barrier(self) -> None:
        self.fabric.barrier()

    def gather_extraction(self, n_computed: int, seconds: float, busy: float) -> tuple[int, float, float]:
        """Every rank's counts, summed (files) or the maximum (seconds): ``(files, seconds, busy seconds)``."""
        import torch

        t = torch.tensor([float(n_computed), float(seconds), float(busy)], dtype=torch.float64)
        g = self.fabric.all_gather(t).reshape(-1, 3).cpu()
        return int(g[:, 0].sum()), float(g[:, 1].max()), float(g[:, 2].max())

    def first_on_main(self, fn: Callable):
        """``fn()`` on rank 0 first, then on the others (e.g. rendering synthesised data once)."""
        if self.is_main:
            out = fn()
            self.barrier()
        else:
            self.barrier()
            out = fn()
        return out


_LAUNCHED: dict[tuple, Group] = {}


def start(devices: int = 1, num_nodes: int = 1, strategy: str | None = None, device: str = "cpu") -> Group | None:
    """Launch the processes (None for a one-process run). ``device`` is the run's ``--device``: ``cpu`` joins CPU
    processes by gloo, ``cuda`` gives each rank its GPU. A process launches once: later calls with the same settings
    (``reproduce``'s cells) reuse the group."""
    from .errors import UsageError

    devices, num_nodes = int(devices or 1), int(num_nodes or 1)
    if devices < 1 or num_nodes < 1:
        raise UsageError(f"--devices and --num-nodes must be at least 1, got {devices} and {num_nodes}")
    if devices * num_nodes == 1:
        return None
    strategy = strategy or "ddp"
    if strategy not in ("ddp", "ddp_spawn", "auto"):
        raise UsageError(f"--strategy {strategy!r}: run supports ddp (the default with --devices > 1)")
    from lightning.fabric import Fabric

    accelerator = "cpu" if device == "cpu" else "cuda"
    key = (devices, num_nodes, strategy, accelerator)
    if key in _LAUNCHED:
        return _LAUNCHED[key]
    if _LAUNCHED:
        raise UsageError("a process group with other --devices / --num-nodes / --device settings is already running "
                         "in this process")
    fabric = Fabric(accelerator=accelerator, devices=devices, num_nodes=num_nodes,
                    strategy="ddp" if strategy == "auto" else strategy)
    fabric.launch()
    dev = str(fabric.device) if accelerator == "cuda" else "cpu"
    _LAUNCHED[key] = Group(fabric, fabric.global_rank, fabric.world_size, dev)
    return _LAUNCHED[key]
