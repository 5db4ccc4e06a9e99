"""Which metric a table column, a plot or the report shows for a task, and its direction — decided in one place.

A task this version knows says it (its primary metric). For a task it does not know (records from a newer version
or another harness), the records say it: the ``primary_metric`` they name, else their validation metric, else the
first metric they hold, by name."""
from __future__ import annotations

from typing import Iterable

__all__ = ["shown_metric"]


def shown_metric(task: str, records: Iterable[dict] = ()) -> tuple[str | None, bool]:
    """``(metric, lower_is_better)`` shown for ``task`` (module docstring); ``(None, False)`` when nothing says."""
    from benchmarks.tasks import find_task

    spec = find_task(task)
    if spec is not None:
        return spec.primary.key, bool(spec.primary.lower_is_better)
    recs = list(records)
    for r in recs:
        named = r.get("primary_metric") or {}
        if named.get("name") and named["name"] in (r.get("metrics") or {}):
            return named["name"], bool(named.get("lower_is_better", False))
    for r in recs:
        val = r.get("validation") or {}
        if val.get("metric") and val["metric"] in (r.get("metrics") or {}):
            return val["metric"], bool(val.get("lower_is_better", False))
    keys = sorted({k for r in recs for k in (r.get("metrics") or {})})
    return (keys[0], False) if keys else (None, False)
