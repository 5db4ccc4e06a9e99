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

Display: measured missing → `—`; reference reported as NaN → `NaN`; reference not reported → blank; a task our harness
never runs → `not run`. Markdown and LaTeX print 3 decimals; CSV keeps full precision (Python `repr`, exact round trip)
with one row per (model, column).
"""
from __future__ import annotations

import csv
import dataclasses
import io
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Sequence

from benchmarks.errors import UnknownName
from benchmarks.records import RECORDS_SUBDIR, best_by_validation, latest_per_key, most_recent
from benchmarks.registry import Registry, default_registry
from benchmarks.shown_metric import shown_metric
from omar_rq.files import atomic_write

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
    rows: str  # "registry": the registry's members of `name`; "records": models with records on these columns;
    #            "registry+records": the members, then any other model with records on these columns
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
    TableDef("marble", "MARBLE protocol (third-party references)", (), None, "registry+records", "marble",
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
                    "seed": rec.get("seed"), "record": _record_ref(rec.get("_path")),
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


def _record_ref(path: str | None) -> str | None:
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
    members = registry.table_members(defn.name) if defn.rows in ("registry", "registry+records") else []
    if defn.rows == "registry":
        return members
    tasks = {c.task for c in defn.columns}
    return members + sorted({_row_id(r, registry) for r in merged if r["task"] in tasks} - set(members))


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


# ---- formatting helpers ---------------------------------------------------------------------------------------------
def _num(v: float) -> str:
    return f"{v:.{DECIMALS}f}"


def _ref_text(c: Cell) -> str:
    if c.reference is None:
        return ""
    return "NaN" if math.isnan(c.reference) else _num(c.reference)


def _ours_text(c: Cell) -> str:
    if c.status == NOT_RUN:
        return NOT_RUN
    if c.measured is None:
        return EM_DASH
    return (_num(c.measured) + (f" ± {_num(c.measured_std)}" if c.measured_std is not None else "")
            + (f" {c.mark}" if c.mark else ""))


def _ci_text(c: Cell) -> str:
    """``[low, high]`` (and the seed spread ``s ± std`` when there are several seeds), or ``—``."""
    iv = c.interval
    if c.measured is None:
        return ""
    if iv is None or not (math.isfinite(iv.low) and math.isfinite(iv.high)):
        return EM_DASH
    return f"[{_num(iv.low)}, {_num(iv.high)}]" + (f" s ± {_num(iv.seed_std)}" if iv.seed_std is not None else "")


COST_SUBCOLUMNS = ("s/h audio", "probe s", "peak MB", "device")


def _cost_texts(c: Cell) -> dict:
    if c.measured is None:
        return dict.fromkeys(COST_SUBCOLUMNS, "")
    k = c.costs
    fmt = lambda v, spec: EM_DASH if not isinstance(v, (int, float)) else format(v, spec)  # noqa: E731
    return {"s/h audio": fmt(k["extract_s_per_audio_h"], ".1f"), "probe s": fmt(k["probe_s"], ".1f"),
            "peak MB": fmt(k["peak_mb"], ".0f"), "device": str(k["device"] or EM_DASH)}


def _diff_text(c: Cell) -> str:
    return "" if c.diff is None else f"{c.diff:+.{DECIMALS}f}"


def _layer_text(c: Cell) -> str:
    return "" if c.layer is None or c.measured is None else str(c.layer)


def _subcolumns(t: Table, col: Column) -> list[str]:
    """Sub-columns of one column. A task we never run has nothing to compare, so it keeps only ref and ours."""
    if not col.run:
        return ["ref", "ours"] if t.has_reference else ["ours"]
    subs = ["ref", "ours", "Δ"] if t.has_reference else ["ours"]
    subs += ["CI"] + (["L"] if t.definition.layer is None else [])
    return subs + (list(COST_SUBCOLUMNS) if t.name == "all" else [])


def _cell_texts(t: Table, c: Cell) -> list[str]:
    texts = {"ref": _ref_text(c), "ours": _ours_text(c), "Δ": _diff_text(c), "L": _layer_text(c), "CI": _ci_text(c),
             **_cost_texts(c)}
    return [texts[s] for s in _subcolumns(t, c.column)]


def stats_rule() -> str:
    """The intervals' and marks' rule, as the tables state it (:data:`benchmarks.stats.RULE`)."""
    from benchmarks.stats import BEST, NOT_WORSE, RULE

    return f"{RULE}; {BEST} = best, {NOT_WORSE} = not significantly worse, — = no per-track sidecar"


def _layer_note(t: Table) -> str:
    d = t.definition
    if d.layer is not None:
        return f"layer {d.layer} (fixed, the development tables' protocol)"
    return "best layer per cell, chosen on the validation score"


def _sources(t: Table) -> list[str]:
    return sorted({c.reference_source for c in t.cells.values() if c.reference_source})


# ---- Markdown ------------------------------------------------------------------------------------------------------
def render_md(t: Table) -> str:
    d = t.definition
    cols = ", ".join(f"{c.label} = `{c.task}` {c.metric}" + (" (lower is better)" if c.lower_is_better else "")
                     for c in d.columns)
    lines = [f"### {d.title} (`{d.name}`)", "", f"{_layer_note(t)}; {cols}."]
    legend = "ours = measured, — = no record yet" + ("" if d.layer is not None else ", L = layer used")
    if t.has_reference:
        legend = ("ref = published (NaN = published as NaN, blank = not published), " + legend
                  + ", Δ = ours − ref")
    lines.append(legend + ".")
    lines.append(f"CI: {stats_rule()}" + ("; costs: extraction seconds per hour of audio extracted, probe seconds, "
                                         "peak memory (MB), device" if t.name == "all" else "") + ".")
    lines.append("")
    if not t.rows:
        lines.append("_(no records)_")
        return "\n".join(lines) + "\n"
    header = ["model"] + [f"{c.title} {s}" for c in d.columns for s in _subcolumns(t, c)]
    body = [[m.replace("|", "\\|")] + [x for c in d.columns for x in _cell_texts(t, t.cell(m, c.label))]
            for m in t.rows]
    widths = [max(len(r[i]) for r in [header] + body) for i in range(len(header))]

    def fmt_row(r: list[str]) -> str:
        return "| " + " | ".join(x.ljust(w) if i == 0 else x.rjust(w) for i, (x, w) in enumerate(zip(r, widths))) + " |"

    lines.append(fmt_row(header))
    lines.append("|" + "|".join(("-" * (w + 1) + ":") if i else (":" + "-" * (w + 1))
                                 for i, w in enumerate(widths)) + "|")
    lines.extend(fmt_row(r) for r in body)
    if _sources(t):
        lines += ["", "Reference: " + "; ".join(_sources(t)) + "."]
    if d.note:
        lines += ["", d.note]
    return "\n".join(lines) + "\n"


# ---- LaTeX ---------------------------------------------------------------------------------------------------------
_TEX_ESCAPES = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
                "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}"}


def tex_escape(text: str) -> str:
    return "".join(_TEX_ESCAPES.get(ch, ch) for ch in text)


def _tex_cell(text: str) -> str:
    if text == EM_DASH:
        return "---"
    if text == NOT_RUN:
        return r"\textit{not run}"
    if " ± " in text:
        a, b = text.split(" ± ")
        return f"{a} $\\pm$ {b}"
    if text.endswith((" ★", " ≈")):
        return _tex_cell(text[:-2]) + (r" $\star$" if text.endswith("★") else r" $\approx$")
    if text[:1] in "+-" and len(text) > 1:
        return f"${text}$"
    return tex_escape(text)


def render_latex(t: Table) -> str:
    d = t.definition
    widths = [len(_subcolumns(t, c)) for c in d.columns]
    spec = "l" + "".join(" " + "r" * k for k in widths)
    starts = [2 + sum(widths[:i]) for i in range(len(widths))]
    caption = f"{tex_escape(d.title)}: {tex_escape(_layer_note(t))}."
    caption += " ours = measured, --- = no record yet" + ("" if d.layer is not None else ", L = layer used")
    if t.has_reference:
        caption += r", ref = published, $\Delta$ = ours $-$ ref"
    caption += "."
    caption += (r" CI = 95\% bootstrap interval over test tracks (1000 resamples), $\star$ = best, $\approx$ = not "
                r"significantly worse (paired bootstrap, Holm over the column).")
    out = [r"\begin{table}[t]", r"\centering", f"\\caption{{{caption}}}", f"\\label{{tab:{d.name}}}"]
    if not t.rows:
        return "\n".join(out + [r"% no records", r"\end{table}"]) + "\n"
    out.append(f"\\begin{{tabular}}{{{spec}}}")
    out.append(r"\toprule")
    down = r" $\downarrow$"
    groups = " & ".join(f"\\multicolumn{{{k}}}{{c}}{{{tex_escape(c.label)}{down if c.lower_is_better else ''}}}"
                        for c, k in zip(d.columns, widths))
    out.append(f" & {groups} \\\\")
    out.append(" ".join(f"\\cmidrule(lr){{{a}-{a + k - 1}}}" for a, k in zip(starts, widths)))
    tex_subs = {"Δ": r"$\Delta$"}
    out.append("Model & " + " & ".join(tex_subs.get(s, s) for c in d.columns for s in _subcolumns(t, c)) + r" \\")
    out.append(r"\midrule")
    for m in t.rows:
        texts = [_tex_cell(x) for c in d.columns for x in _cell_texts(t, t.cell(m, c.label))]
        out.append(tex_escape(m) + " & " + " & ".join(texts) + r" \\")
    out.append(r"\bottomrule")
    out.append(r"\end{tabular}")
    out.append(r"\end{table}")
    return "\n".join(out) + "\n"


# ---- CSV -----------------------------------------------------------------------------------------------------------
def _csv_value(v) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        return "NaN" if math.isnan(v) else repr(v)
    return str(v)


def render_csv(tables: Sequence[Table], header: bool = True) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    if header:
        w.writerow(CSV_FIELDS)
    for t in tables:
        for row in t.long_rows():
            w.writerow([_csv_value(row[f]) for f in CSV_FIELDS])
    return buf.getvalue()


# ---- public rendering ----------------------------------------------------------------------------------------------
def render(table: Table, fmt: str = "md") -> str:
    """One table as `md`, `latex` or `csv`."""
    if fmt == "md":
        return render_md(table)
    if fmt in ("latex", "tex"):
        return render_latex(table)
    if fmt == "csv":
        return render_csv([table])
    raise ValueError(f"unknown table format {fmt!r}; use one of {', '.join(FORMATS)}")


def render_all(records: Iterable[dict], registry: Registry | None = None, fmt: str = "md",
               tables: Sequence[str] | None = None) -> str:
    """All tables (or the named ones) in one document; CSV gets a single header."""
    built = build_tables(records, registry, tables)
    if fmt == "csv":
        return render_csv(built)
    if fmt not in ("md", "latex", "tex"):
        raise ValueError(f"unknown table format {fmt!r}; use one of {', '.join(FORMATS)}")
    return "\n".join(render(t, fmt) for t in built)


def _atomic_write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, text, mode=0o644)


def write_tables(out: str | os.PathLike, records: Iterable[dict], registry: Registry | None = None,
                 formats: Sequence[str] | None = None, tables: Sequence[str] | None = None) -> list[Path]:
    """Write the tables. `out` ending in `.md`/`.tex`/`.csv` is one file of that format; otherwise it is a folder that
    receives `tables.md`, `tables.tex` and `tables.csv` (or the `formats` asked for). Returns the paths written."""
    out = Path(out)
    records = list(records)
    by_suffix = {v: k for k, v in _SUFFIX.items()}
    if out.suffix in by_suffix:
        targets = [(by_suffix[out.suffix], out)]
    else:
        targets = [(f, out / f"tables{_SUFFIX['latex' if f == 'tex' else f]}") for f in (formats or FORMATS)]
    written = []
    for fmt, path in targets:
        _atomic_write(path, render_all(records, registry, fmt, tables))
        written.append(path)
    return written
