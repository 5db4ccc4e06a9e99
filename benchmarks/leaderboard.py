"""Comparison tables: published reference numbers beside our measured ones, as Markdown, LaTeX or CSV.

Table definitions are data (`TABLES` below): which models are rows, which (task, metric) pairs are columns, and whether
a cell uses a fixed layer or the best layer. Rows of the published tables come from the registry
(`results/reference/models.csv` / `released.csv`); the offline table's rows are whatever models have records on it.

Cell rule (why: one number per cell, reproducible, never tuned on test):
1. records are merged with `records.latest_per_key` (re-runs of a key: the latest wins, never averaged);
2. candidates = records of the row's model on the column's task that report the column's metric, restricted to the
   table's fixed layer when it has one;
3. the candidate with the best *validation* value wins (`records.best_by_validation`; across layers for best-layer
   tables, and across probes / seeds in every table); test scores never choose. A candidate set without any
   validation value falls back to the most recent record.
4. measured = that record's test metric; `± std` when the record carries `metrics_std` for it (folds / seeds of one
   run); difference = measured − reference (sign as is, also for lower-is-better metrics).

Intervals and marks (:mod:`benchmarks.stats`, whose ``RULE`` each table states): ``CI`` is the 95 % bootstrap
interval of the measured value over test tracks, from the record's per-track sidecar (``—`` for records without
one, e.g. older records); ``★`` marks a column's best cell and ``≈`` each cell not significantly worse than it
(paired bootstrap, Holm-corrected over the column). The "all results" table also carries each cell's costs from
the record's timings: extraction device-seconds per hour of audio, probe seconds, peak memory and the device.

Display (written by :mod:`benchmarks.tables`): measured missing → `—`; reference reported as NaN → `NaN`; reference not reported → blank; a task our harness
never runs → `not run`. Markdown and LaTeX print 3 decimals; CSV keeps full precision (Python `repr`, exact round trip)
with one row per (model, column).
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Sequence

from benchmarks.errors import UnknownName
from benchmarks.records import RECORDS_SUBDIR, best_by_validation, latest_per_key, most_recent
from benchmarks.registry import Registry, default_registry
from benchmarks.shown_metric import shown_metric

EM_DASH = "—"
NOT_RUN = "not run"
DECIMALS = 3
FORMATS = ("md", "latex", "csv")
_SUFFIX = {"md": ".md", "latex": ".tex", "csv": ".csv"}


@dataclass(frozen=True)
class Column:
    """A table column: a label and a task; the metric is the task's primary metric (``metric_key`` only names it for
    a task this version does not know, whose measured cells then read "not run")."""

    label: str
    task: str
    metric_key: str | None = None
    from_records: bool = False          # a column of the "all results" table: its records say what it measures
    lower: bool = False                 # direction stated by those records (tasks this version does not know)

    @property
    def spec(self):
        from benchmarks.tasks import find_task

        return find_task(self.task)

    @property
    def metric(self) -> str:
        """The column's metric: the one it names, else its task's primary metric."""
        if self.metric_key:
            return self.metric_key
        return self.spec.primary.key if self.spec is not None else ""

    @property
    def lower_is_better(self) -> bool:
        if self.spec is not None and self.metric == self.spec.primary.key:
            return bool(self.spec.primary.lower_is_better)
        return self.lower

    @property
    def run(self) -> bool:
        return self.spec is not None or self.from_records

    @property
    def title(self) -> str:
        """The label as tables print it: ``↓`` marks a metric where lower is better."""
        return f"{self.label} ↓" if self.lower_is_better else self.label


@dataclass(frozen=True)
class TableDef:
    name: str
    title: str
    fixed_columns: tuple[Column, ...]  # empty with rows="records" and no `derive`: one column per task that has
    #                                    records ("all results")
    layer: int | None  # fixed layer (0-based block index), or None = best layer by validation
    rows: str  # "registry": the registry's members of `name`; "records": models with records on these columns
    reference_table: str | None  # table name in reference_scores.csv, None = no published numbers
    derive: Callable[[], tuple[Column, ...]] | None = None  # columns derived from the task registry
    note: str = ""  # printed under the table (e.g. where its references come from and their caveat)

    @property
    def columns(self) -> tuple[Column, ...]:
        return self.derive() if self.derive is not None else self.fixed_columns

    @property
    def layer_policy(self) -> str:
        return f"fixed:{self.layer}" if self.layer is not None else "best-by-validation"


def marble_columns() -> tuple[Column, ...]:
    """The MARBLE-protocol table's columns: every (task, metric) of its reference numbers (``marble.csv``)."""
    from benchmarks.registry import reference_column

    return tuple(Column(reference_column(task, metric), task, metric)
                 for task, metric in default_registry().table_columns("marble"))


MARBLE_NOTE = ("References: third-party MARBLE-protocol numbers for OMAR-RQ (a per-layer \"layer atlas\", "
               "angeloskanatas/music-fms-layer-eval, arXiv 2608.14819; MARBLE's constrained track, an MLP with one "
               "512-unit layer, seed 1234). Caution: their layer was chosen as the best on the TEST set, so they are "
               "optimistic; ours choose the layer on validation. References to compare with, not targets to tune to.")


def synth_columns() -> tuple[Column, ...]:
    """The offline table's columns: every task with a synthesised set, in the task registry's order."""
    from benchmarks.tasks import all_tasks

    return tuple(Column(name, name) for name, task in all_tasks().items() if task.synth_set)


MTAT = Column("MTAT", "mtat")
NSYNTH = Column("Nsynth", "nsynth-pitch")
BEATS = Column("Beattracking", "beats")
DEV_LAYER = 6  # protocols.md: the development tables used block 6

TABLES: dict[str, TableDef] = {t.name: t for t in (
    TableDef("baseline", "Baseline Discogs23", (MTAT, BEATS), DEV_LAYER, "registry", "baseline"),
    TableDef("multiview", "Multi-view Discogs23", (MTAT, NSYNTH, BEATS), DEV_LAYER, "registry", "multiview"),
    TableDef("freesound", "FreeSound", (MTAT, NSYNTH), DEV_LAYER, "registry", "freesound"),
    TableDef("released", "Released models", (
        Column("Tagging", "mtat"),
        Column("Difficulty", "difficulty", "mse_macro"),
        Column("Pitch", "nsynth-pitch"),
        Column("Chord", "chords", "majmin"),
        Column("Beat", "beats"),
        Column("Structure", "structure", "accuracy"),
    ), None, "registry", "released"),
    TableDef("marble", "MARBLE protocol (third-party references)", (), None, "registry", "marble",
             derive=marble_columns, note=MARBLE_NOTE),
    TableDef("offline", "Offline synthesised suite", (), None, "records", None, derive=synth_columns),
    TableDef("all", "All results", (), None, "records", None),
)}


@dataclass(frozen=True)
class Cell:
    model: str
    column: Column
    reference: float | None  # None = not reported; NaN = reported as NaN
    reference_source: str
    measured: float | None
    measured_std: float | None
    layer: int | None
    n_records: int
    record: dict | None
    interval: object | None = None      # benchmarks.stats.Interval of the measured metric, when a sidecar has it
    mark: str = ""                      # stats.BEST / stats.NOT_WORSE / ""

    @property
    def costs(self) -> dict:
        """The record's costs: ``extract_s_per_audio_h`` (extraction seconds per hour of audio extracted; None when
        everything came from the cache), ``probe_s``, ``peak_mb`` (device memory on CUDA, else process RSS) and
        ``device`` (its name)."""
        t = (self.record or {}).get("timings") or {}
        audio = t.get("audio_s_extracted")
        per_h = (t["extract_s"] / (audio / 3600.0) if isinstance(audio, (int, float)) and audio > 0
                 and isinstance(t.get("extract_s"), (int, float)) else None)
        return {"extract_s_per_audio_h": per_h, "probe_s": t.get("probe_s"),
                "peak_mb": t.get("peak_device_mb", t.get("peak_rss_mb")),
                "device": t.get("device_name") or t.get("device")}

    @property
    def status(self) -> str:
        if not self.column.run:
            return NOT_RUN
        return "measured" if self.measured is not None else "missing"

    @property
    def reference_status(self) -> str:
        if self.reference is None:
            return "not reported"
        return "nan" if math.isnan(self.reference) else "reported"

    @property
    def diff(self) -> float | None:
        if self.measured is None or self.reference is None:
            return None
        d = self.measured - self.reference
        return d if math.isfinite(d) else None


@dataclass(frozen=True)
class Table:
    definition: TableDef
    rows: tuple[str, ...]
    cells: dict  # (model, column label) -> Cell

    @property
    def name(self) -> str:
        return self.definition.name

    @property
    def has_reference(self) -> bool:
        return self.definition.reference_table is not None

    def cell(self, model: str, label: str) -> Cell:
        return self.cells[(model, label)]

    def long_rows(self) -> list[dict]:
        """One dict per (model, column), full precision: the CSV rows."""
        out = []
        for m in self.rows:
            for col in self.definition.columns:
                c = self.cells[(m, col.label)]
                rec = c.record or {}
                out.append({
                    "table": self.name, "model": m, "column": col.label, "task": col.task, "metric": col.metric,
                    "lower_is_better": col.lower_is_better,
                    "layer_policy": self.definition.layer_policy,
                    "reference": c.reference, "reference_status": c.reference_status,
                    "measured": c.measured, "measured_std": c.measured_std, "diff": c.diff, "layer": c.layer,
                    "n_records": c.n_records, "status": c.status, "probe": rec.get("probe"),
                    "seed": rec.get("seed"), "record": record_ref(rec.get("_path")),
                    "reference_source": c.reference_source,
                    "ci_low": c.interval.low if c.interval else None,
                    "ci_high": c.interval.high if c.interval else None,
                    "seed_std": c.interval.seed_std if c.interval else None, "mark": c.mark,
                    **c.costs,
                })
        return out

    def frame(self):
        """The long rows as a pandas DataFrame (imported lazily: rendering does not need pandas)."""
        import pandas as pd

        return pd.DataFrame(self.long_rows(), columns=CSV_FIELDS)


def record_ref(path: str | None) -> str | None:
    """A record's path from its `records/` folder on (`records/base/mtat/L7-….json`): stable across machines."""
    if not path:
        return None
    parts = Path(path).parts
    if RECORDS_SUBDIR in parts:
        i = len(parts) - 1 - parts[::-1].index(RECORDS_SUBDIR)
        return "/".join(parts[i:])
    return Path(path).name


CSV_FIELDS = ["table", "model", "column", "task", "metric", "lower_is_better", "layer_policy", "reference",
              "reference_status", "measured", "measured_std", "diff", "layer", "n_records", "status", "probe", "seed",
              "record", "reference_source", "ci_low", "ci_high", "seed_std", "mark", "extract_s_per_audio_h",
              "probe_s", "peak_mb", "device"]


# ---- building -----------------------------------------------------------------------------------------------------
def _finite_metric(rec: dict, metric: str) -> float | None:
    v = (rec.get("metrics") or {}).get(metric)
    return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) else None


def _row_id(rec: dict, registry: Registry) -> str:
    return registry.canonical(str(rec["model"])) or str(rec["model"])


def _rows(defn: TableDef, merged: list[dict], registry: Registry) -> list[str]:
    if defn.rows == "registry":
        return registry.table_members(defn.name)
    tasks = {c.task for c in defn.columns}
    return sorted({_row_id(r, registry) for r in merged if r["task"] in tasks})


def record_columns(records: Sequence[dict]) -> tuple[Column, ...]:
    """One column per task that has records (the "all results" table): known tasks in the registry's order, then
    the others by name, each with its primary metric (for an unknown task, the one its records name)."""
    from benchmarks.tasks import task_names

    order = {n: i for i, n in enumerate(task_names())}
    cols = []
    for task in sorted({r["task"] for r in records}, key=lambda t: (order.get(t, len(order)), t)):
        recs = [r for r in records if r["task"] == task]
        metric, lower = shown_metric(task, recs)
        cols.append(Column(task, task, metric, from_records=True, lower=lower))
    return tuple(cols)


def _choose(cands: list[dict]) -> dict | None:
    return best_by_validation(cands) or most_recent(cands)


def choose_record(records: Iterable[dict], model: str, task: str, metric: str, layer: int | None = None,
                  registry: Registry | None = None) -> dict | None:
    """The record a table cell of (``model``, ``task``) shows (the cell rule above; ``layer`` = a fixed layer, None =
    best by validation). ``model`` may be the registry's name or the record's own ``model`` field."""
    registry = registry or default_registry()
    want = registry.canonical(model) or model
    cands = [r for r in latest_per_key(records) if r["task"] == task
             and (_row_id(r, registry) == want or str(r["model"]) == model)
             and _finite_metric(r, metric) is not None and (layer is None or r["layer"] == layer)]
    return _choose(cands)


def build_table(name: str, records: Iterable[dict], registry: Registry | None = None) -> Table:
    """The table `name` (a key of `TABLES`) filled from `records` (raw; merged here with `latest_per_key`)."""
    if name not in TABLES:
        raise UnknownName(f"unknown table {name!r}; tables: {', '.join(TABLES)}")
    registry = registry or default_registry()
    defn = TABLES[name]
    merged = latest_per_key(records)
    if not defn.columns:
        defn = dataclasses.replace(defn, fixed_columns=record_columns(merged))
    by_cell: dict[tuple[str, str], list[dict]] = {}
    for r in merged:
        by_cell.setdefault((_row_id(r, registry), r["task"]), []).append(r)
    rows = _rows(defn, merged, registry)
    cells = {}
    for m in rows:
        for col in defn.columns:
            ref = registry.reference(defn.reference_table, m, col.label) if defn.reference_table else None
            cands = [] if not col.run else [
                r for r in by_cell.get((m, col.task), [])
                if _finite_metric(r, col.metric) is not None and (defn.layer is None or r["layer"] == defn.layer)]
            chosen = _choose(cands)
            std = None
            if chosen is not None:
                s = (chosen.get("metrics_std") or {}).get(col.metric)
                std = float(s) if isinstance(s, (int, float)) and math.isfinite(s) else None
            cells[(m, col.label)] = Cell(
                model=m, column=col, reference=ref.value if ref else None, reference_source=ref.source if ref else "",
                measured=_finite_metric(chosen, col.metric) if chosen else None, measured_std=std,
                layer=chosen["layer"] if chosen else None, n_records=len(cands), record=chosen)
    return Table(defn, tuple(rows), _with_statistics(defn, rows, cells))


def _with_statistics(defn: TableDef, rows, cells: dict) -> dict:
    """The cells with their bootstrap interval and significance mark (module docstring), column by column."""
    import warnings

    from benchmarks import sidecar, stats

    loaded: dict[str, object] = {}

    def tracks(rec):
        key = rec.get("_path") or id(rec)
        if key not in loaded:
            with warnings.catch_warnings():
                warnings.simplefilter("always", sidecar.SidecarWarning)
                loaded[key] = sidecar.load(rec)
        return loaded[key]

    out = dict(cells)
    for col in defn.columns:
        task = col.spec
        measured = [m for m in rows if cells[(m, col.label)].measured is not None]
        entries = []
        for m in measured:
            c = cells[(m, col.label)]
            tr = tracks(c.record) if task is not None else None
            iv = stats.intervals(task, tr, metrics=[col.metric]).get(col.metric) if tr is not None else None
            out[(m, col.label)] = dataclasses.replace(c, interval=iv)
            entries.append((c.measured, tr if iv is not None else None))
        for m, mark in zip(measured, stats.column_marks(task, entries, col.lower_is_better, col.metric)):
            out[(m, col.label)] = dataclasses.replace(out[(m, col.label)], mark=mark)
    return out


def build_tables(records: Iterable[dict], registry: Registry | None = None,
                 tables: Sequence[str] | None = None) -> list[Table]:
    """Tables in `TABLES` order (or the order given). Unrequested empty tables (the offline one before any synthetic
    run) are left out; an explicitly requested one is kept even when empty."""
    records = list(records)
    names = list(tables) if tables else list(TABLES)
    built = [build_table(n, records, registry) for n in names]
    return [t for t in built if t.rows or tables]
