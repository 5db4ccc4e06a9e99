"""The probe grid of the common protocol (``shared/spec/protocols.md``) and the training loop's defaults."""
from __future__ import annotations

import itertools

__all__ = ["GRID", "DEFAULTS", "grid_for", "grid_points"]

GRID: dict[str, list] = {"lr": [1e-4, 3e-4, 1e-3], "hidden": [0, 512], "dropout": [0.0, 0.2]}

#: Defaults of the training loop (recorded in every result's ``hyperparameters``).
DEFAULTS = {"max_epochs": 100, "patience": 10, "batch_size": 256, "weight_decay": 1e-2}


def grid_for(probe: str = "grid", grid: dict | None = None) -> dict:
    """The grid for ``--probe``: ``"grid"`` → ``grid`` (default :data:`GRID`) as is; ``"mlp"`` → hidden [512];
    ``"linear"`` → hidden [0]; other keys unchanged."""
    g = {k: list(v) for k, v in (grid or GRID).items()}
    if probe == "mlp":
        g["hidden"] = [h for h in g["hidden"] if h > 0] or [512]
    elif probe == "linear":
        g["hidden"] = [0]
    elif probe != "grid":
        raise ValueError(f"probe must be 'grid', 'mlp' or 'linear', got {probe!r}")
    return g


def grid_points(grid: dict | None = None) -> list[dict]:
    """All points of ``grid`` in grid order (``itertools.product`` over the keys in the dict's order)."""
    grid = grid or GRID
    keys = list(grid)
    return [dict(zip(keys, values)) for values in itertools.product(*(grid[k] for k in keys))]
