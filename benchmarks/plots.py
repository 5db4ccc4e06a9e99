"""Figures from result records: layer curves and best-layer bar charts, one figure per task, PNG + PDF.

Uses `matplotlib.figure.Figure` with the Agg canvas directly, never `pyplot`: no display is needed, and no global
backend state is changed for the rest of the process (tests, notebooks importing us).

Which record a point shows follows the tables' rule (`benchmarks.leaderboard`): re-runs merged with
`latest_per_key`, then among probes / seeds (and, for bars, layers) the best *validation* value wins; the plotted value
is the test metric. The metric of a task is the task's primary metric (:mod:`benchmarks.tasks`); axes of a metric where
lower is better say so.
"""
from __future__ import annotations

import math
from collections import defaultdict
from pathlib import Path
from typing import Iterable

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from benchmarks.records import best_by_validation, latest_per_key, slug
from benchmarks.registry import Registry, default_registry
from benchmarks.shown_metric import shown_metric

DPI = 120
_PDF_META = {"CreationDate": None, "Producer": None}  # reproducible PDFs (no timestamp)


def primary_metric(task: str, records: Iterable[dict] = ()) -> str | None:
    """The metric shown for ``task`` (:func:`benchmarks.shown_metric.shown_metric`)."""
    return shown_metric(task, records)[0]


def _lower(task: str, records: Iterable[dict] = ()) -> bool:
    """Whether lower values of the metric shown for ``task`` are better."""
    return shown_metric(task, records)[1]


def _finite(v) -> float | None:
    return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) else None


def _by_task_model(records: Iterable[dict], registry: Registry) -> dict[str, dict[str, list[dict]]]:
    out: dict[str, dict[str, list[dict]]] = defaultdict(lambda: defaultdict(list))
    for r in latest_per_key(records):
        model = registry.canonical(str(r["model"])) or str(r["model"])
        out[r["task"]][model].append(r)
    return out


def _save(fig: Figure, out_dir: Path, stem: str) -> list[Path]:
    FigureCanvasAgg(fig)
    out_dir.mkdir(parents=True, exist_ok=True)
    png, pdf = out_dir / f"{stem}.png", out_dir / f"{stem}.pdf"
    fig.savefig(png, dpi=DPI, bbox_inches="tight")
    fig.savefig(pdf, bbox_inches="tight", metadata=_PDF_META)
    return [png, pdf]


def _legend(ax, n: int) -> None:
    if n > 8:  # many models: keep them off the data
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize="small", frameon=False)
    else:
        ax.legend(fontsize="small")


def plot_layers(records: Iterable[dict], out_dir, registry: Registry | None = None) -> list[Path]:
    """`layers-<task>.png/.pdf`: test score vs layer per model (validation dashed when it is the same metric)."""
    registry = registry or default_registry()
    out_dir = Path(out_dir)
    written: list[Path] = []
    for task, models in sorted(_by_task_model(records, registry).items()):
        metric = primary_metric(task, [r for rs in models.values() for r in rs])
        fig = Figure(figsize=(7, 4.2))
        ax = fig.add_subplot()
        drawn = 0
        for i, (model, recs) in enumerate(sorted(models.items())):
            per_layer = defaultdict(list)
            for r in recs:
                if _finite((r.get("metrics") or {}).get(metric)) is not None:
                    per_layer[r["layer"]].append(r)
            pts = []
            for layer in sorted(per_layer):
                chosen = best_by_validation(per_layer[layer]) or per_layer[layer][0]
                v = chosen.get("validation") or {}
                val = _finite(v.get("value")) if v.get("metric") == metric else None
                std = _finite((chosen.get("metrics_std") or {}).get(metric))
                pts.append((layer, chosen["metrics"][metric], std, val))
            if not pts:
                continue
            color = f"C{i % 10}"
            xs = [p[0] for p in pts]
            ax.errorbar(xs, [p[1] for p in pts], yerr=[p[2] or 0.0 for p in pts], color=color, marker="o",
                        markersize=4, capsize=2, label=model)
            vals = [(p[0], p[3]) for p in pts if p[3] is not None]
            if vals:
                ax.plot([x for x, _ in vals], [y for _, y in vals], color=color, linestyle="--", alpha=0.6,
                        linewidth=1)
            drawn += 1
        if not drawn:
            continue
        ax.set_xlabel("layer (0-based block index)")
        ax.set_ylabel(f"{metric} (test{', lower is better' if _lower(task, [r for rs in models.values() for r in rs]) else ''})")
        ax.set_title(f"{task}: {metric} per layer (solid = test, dashed = validation)")
        ax.xaxis.get_major_locator().set_params(integer=True)
        ax.grid(alpha=0.3)
        _legend(ax, drawn)
        written += _save(fig, out_dir, f"layers-{slug(task)}")
    return sorted(written)


def plot_bars(records: Iterable[dict], out_dir, registry: Registry | None = None) -> list[Path]:
    """`bars-<task>.png/.pdf`: best layer per model (by validation) as bars, layer printed on each bar, published
    reference values marked with a black line where the registry has one for (model, task, metric)."""
    registry = registry or default_registry()
    out_dir = Path(out_dir)
    written: list[Path] = []
    for task, models in sorted(_by_task_model(records, registry).items()):
        metric = primary_metric(task, [r for rs in models.values() for r in rs])
        bars = []
        for model, recs in sorted(models.items()):
            cands = [r for r in recs if _finite((r.get("metrics") or {}).get(metric)) is not None]
            chosen = best_by_validation(cands) or (cands[0] if cands else None)
            if chosen is None:
                continue
            refs = [s.value for s in registry.references_for(model, task, metric) if not math.isnan(s.value)]
            bars.append((model, chosen["metrics"][metric], _finite((chosen.get("metrics_std") or {}).get(metric)),
                         chosen["layer"], refs[0] if refs else None))
        if not bars:
            continue
        fig = Figure(figsize=(max(4.0, 0.8 * len(bars) + 2), 4.2))
        ax = fig.add_subplot()
        xs = list(range(len(bars)))
        ax.bar(xs, [b[1] for b in bars], yerr=[b[2] or 0.0 for b in bars], color="C0", alpha=0.8, capsize=3,
               label="measured (best layer)")
        for x, b in zip(xs, bars):  # layer label inside the bar's foot: never collides with error bars or markers
            ax.annotate(f"L{b[3]}", (x, 0), textcoords="offset points", xytext=(0, 4), ha="center",
                        fontsize="small", color="white", fontweight="bold")
        ref_pts = [(x, b[4]) for x, b in zip(xs, bars) if b[4] is not None]
        if ref_pts:
            ax.scatter([x for x, _ in ref_pts], [y for _, y in ref_pts], marker="_", s=900, linewidths=2.5,
                       color="black", zorder=3, label="published")
        rotate = len(bars) > 4 or max(len(b[0]) for b in bars) > 12
        ax.set_xticks(xs, [b[0] for b in bars], rotation=30 if rotate else 0, ha="right" if rotate else "center")
        ax.set_ylabel(f"{metric} (test{', lower is better' if _lower(task, [r for rs in models.values() for r in rs]) else ''})")
        ax.set_title(f"{task}: {metric}, best layer per model (chosen on validation)")
        ax.grid(axis="y", alpha=0.3)
        ax.legend(fontsize="small", loc="upper center", bbox_to_anchor=(0.5, -0.3 if rotate else -0.1), ncol=2,
                  frameon=False)
        written += _save(fig, out_dir, f"bars-{slug(task)}")
    return sorted(written)


def layer_curve_svg(task: str, metric: str, series: dict[str, list[tuple]], lower_is_better: bool = False) -> str:
    """One task's layer curves as an inline SVG document (text): per model, the test value per layer (line) and its
    95 % bootstrap interval as a band where known. ``series``: ``{model: [(layer, value, low, high), …]}`` with
    ``low`` / ``high`` None (or NaN) where the record has no interval. Fonts are kept as text (smaller, and the
    report stays readable when printed)."""
    import io

    from matplotlib import rcParams

    fig = Figure(figsize=(6.4, 3.4))
    ax = fig.add_subplot()
    drawn = 0
    for i, (model, pts) in enumerate(sorted(series.items())):
        pts = sorted(p for p in pts if _finite(p[1]) is not None)
        if not pts:
            continue
        color = f"C{i % 10}"
        xs, ys = [p[0] for p in pts], [p[1] for p in pts]
        ax.plot(xs, ys, color=color, marker="o", markersize=3.5, linewidth=1.4, label=model)
        band = [(p[0], p[2], p[3]) for p in pts if _finite(p[2]) is not None and _finite(p[3]) is not None]
        if band:
            if len(band) == 1:   # one layer: the interval as an error bar
                # drawn from its ends: a percentile interval need not contain the test-set value (a corpus
                # metric's resamples can all lie on one side of it)
                x, lo, hi = band[0]
                ax.vlines(x, lo, hi, color=color, alpha=0.6)
                ax.hlines([lo, hi], x - 0.08, x + 0.08, color=color, alpha=0.6)
            else:
                ax.fill_between([b[0] for b in band], [b[1] for b in band], [b[2] for b in band], color=color,
                                alpha=0.18, linewidth=0)
        drawn += 1
    ax.set_xlabel("layer (0-based block index)")
    ax.set_ylabel(f"{metric} (test{', lower is better' if lower_is_better else ''})")
    ax.set_title(f"{task}: {metric} per layer (band = 95 % bootstrap interval)", fontsize="medium")
    layers = sorted({p[0] for pts in series.values() for p in pts})
    if layers:
        ax.set_xticks(layers if len(layers) <= 13 else layers[::max(1, len(layers) // 12)])
        ax.set_xlim(layers[0] - 0.5, layers[-1] + 0.5)
    ax.grid(alpha=0.3)
    if drawn:
        _legend(ax, drawn)
    FigureCanvasAgg(fig)
    buf = io.StringIO()
    old = rcParams["svg.fonttype"], rcParams["svg.hashsalt"]
    rcParams["svg.fonttype"], rcParams["svg.hashsalt"] = "none", "omar-bench"   # text as text; stable ids
    try:
        fig.savefig(buf, format="svg", bbox_inches="tight", metadata={"Date": None})
    finally:
        rcParams["svg.fonttype"], rcParams["svg.hashsalt"] = old
    text = buf.getvalue()
    return text[text.index("<svg"):]   # inline: no XML prolog or doctype
