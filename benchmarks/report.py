"""``omar-bench report --out DIR``: the results as one static HTML page, viewable without a server or a network.

``DIR/index.html`` holds, from the records (merged by :func:`benchmarks.records.latest_per_key`, cells chosen by
the tables' rule, :mod:`benchmarks.leaderboard`):

- the tables (every fixed table with results, then "all results"), sortable by a click on a column header (a small
  inline script; without it the page still reads as plain tables), with the bootstrap intervals, the
  best / not-significantly-worse marks (:mod:`benchmarks.stats`), the costs, and the published references with
  their deltas;
- layer curves per task and model with their interval bands, as inline SVG drawn by :mod:`benchmarks.plots`;
- each task's protocol card: data, split, metric conventions, probe grid, schedule;
- provenance: versions, fingerprints, dates, hosts, and a link to every record.

Every record shown (and its sidecar) is copied under ``DIR/records/`` with the path it has under the results
folder, so every link is relative and resolves offline. The page is written atomically (temp file + rename), after
the records it links to. Plain HTML and inline CSS, with a print style sheet.
"""
from __future__ import annotations

import html
import json
import math
import os
import shutil
import warnings
from collections import defaultdict
from pathlib import Path
from typing import Iterable

from benchmarks.leaderboard import EM_DASH, Table, build_tables, record_ref
from benchmarks.tables import COST_SUBCOLUMNS, cell_texts, stats_rule, subcolumns
from benchmarks.records import best_by_validation, latest_per_key
from benchmarks.registry import Registry, default_registry
from omar_rq.files import atomic_write

INDEX = "index.html"

CSS = """
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 0 auto; max-width: 1200px;
       padding: 1rem; color: #111; background: #fff; }
h1 { font-size: 1.5rem; margin: .2rem 0 .5rem; } h2 { font-size: 1.2rem; margin-top: 2rem;
     border-bottom: 1px solid #ccc; } h3 { font-size: 1.02rem; margin: 1.2rem 0 .3rem; }
p.note { color: #444; font-size: .88rem; margin: .3rem 0; }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; font-size: .85rem; margin: .4rem 0 1rem; }
th, td { border: 1px solid #ccc; padding: .2rem .45rem; text-align: right; white-space: nowrap; }
th { background: #f2f2f2; } th.sortable { cursor: pointer; } th.sortable::after { content: " \\2195"; color: #888; }
th[aria-sort="ascending"]::after { content: " \\2191"; } th[aria-sort="descending"]::after { content: " \\2193"; }
td.model, th.model { text-align: left; } td.best { font-weight: bold; background: #e8f3e8; }
td.tie { background: #f3f8f3; } .card { border: 1px solid #ccc; border-radius: 4px; padding: .5rem .8rem;
     margin: .6rem 0; } .card dl { display: grid; grid-template-columns: max-content 1fr; gap: .15rem .8rem;
     margin: 0; font-size: .88rem; } .card dt { font-weight: 600; } .card dd { margin: 0; overflow-wrap: anywhere; }
figure { margin: .5rem 0 1rem; } figure svg { max-width: 100%; height: auto; }
code { font-size: .85em; }
@media (max-width: 600px) { body { font-size: 14px; padding: .5rem; } .card dl { grid-template-columns: 1fr; } }
@media print { body { max-width: none; font-size: 10pt; } a { color: inherit; text-decoration: none; }
  th.sortable::after { content: ""; } .scroll { overflow: visible; } table { font-size: 7.5pt; }
  figure, .card, table { break-inside: avoid; } h2 { break-after: avoid; } }
"""

# Sorting: a click on a header of a table.sortable orders its body rows by that column (numbers by value, from the
# cells' data-v; "—" and blanks last), toggling ascending / descending.
SCRIPT = """
document.querySelectorAll('table.sortable').forEach(function (table) {
  table.querySelectorAll('thead th.sortable').forEach(function (th) {
    th.addEventListener('click', function () {
      var col = +th.dataset.col, asc = th.getAttribute('aria-sort') !== 'ascending';
      table.querySelectorAll('thead th').forEach(function (o) { o.removeAttribute('aria-sort'); });
      th.setAttribute('aria-sort', asc ? 'ascending' : 'descending');
      var body = table.tBodies[0], rows = Array.prototype.slice.call(body.rows);
      function key(row) { var c = row.cells[col]; var v = c ? c.dataset.v : undefined;
        if (v === undefined || v === '') return null; var n = Number(v); return isNaN(n) ? v : n; }
      rows.sort(function (a, b) { var x = key(a), y = key(b);
        if (x === null) return y === null ? 0 : 1; if (y === null) return -1;
        var r = (typeof x === 'number' && typeof y === 'number') ? x - y : String(x).localeCompare(String(y));
        return asc ? r : -r; });
      rows.forEach(function (r) { body.appendChild(r); });
    });
  });
});
"""


def _e(text) -> str:
    return html.escape(str(text), quote=True)


def _sort_value(sub: str, cell) -> str:
    """The value a sub-column sorts by (numbers where there is one)."""
    if cell.measured is None:
        return ""
    if sub == "ours":
        return repr(cell.measured)
    if sub == "ref":
        return "" if cell.reference is None or math.isnan(cell.reference) else repr(cell.reference)
    if sub == "Δ":
        return "" if cell.diff is None else repr(cell.diff)
    if sub == "CI":
        iv = cell.interval
        return "" if iv is None or not math.isfinite(iv.high - iv.low) else repr(iv.high - iv.low)
    if sub == "L":
        return str(cell.layer)
    costs = cell.costs
    v = {"s/h audio": costs["extract_s_per_audio_h"], "probe s": costs["probe_s"], "peak MB": costs["peak_mb"],
         "device": costs["device"]}.get(sub)
    return "" if v is None else (repr(v) if isinstance(v, (int, float)) else str(v))


def _table_html(t: Table, links: dict[str, str]) -> str:
    d = t.definition
    head1 = ['<th class="model" rowspan="2">model</th>']
    head2 = []
    col = 1
    for c in d.columns:
        subs = subcolumns(t, c)
        title = f"{c.title}<br><small>{_e(c.task)}: {_e(c.metric)}</small>"
        head1.append(f'<th colspan="{len(subs)}">{title}</th>')
        for s in subs:
            head2.append(f'<th class="sortable" data-col="{col}" title="sort by {_e(c.label)} {_e(s)}">{_e(s)}</th>')
            col += 1
    body = []
    for m in t.rows:
        tds = [f'<td class="model" data-v="{_e(m)}">{_e(m)}</td>']
        for c in d.columns:
            cell = t.cell(m, c.label)
            texts = cell_texts(t, cell)
            for s, text in zip(subcolumns(t, c), texts):
                cls = ""
                if s == "ours" and cell.mark:
                    cls = ' class="best"' if cell.mark == "★" else ' class="tie"'
                inner = _e(text)
                if s == "ours" and cell.record is not None and links.get(cell.record.get("_path", "")):
                    inner = f'<a class="record" href="{_e(links[cell.record["_path"]])}">{inner}</a>'
                tds.append(f'<td{cls} data-v="{_e(_sort_value(s, cell))}">{inner}</td>')
        body.append("<tr>" + "".join(tds) + "</tr>")
    layer = (f"layer {d.layer} (fixed)" if d.layer is not None else "best layer per cell, chosen on validation")
    note = (f'<p class="note">{_e(layer)}. ours = measured (links to its record)'
            + (", ref = published, Δ = ours − ref" if t.has_reference else "")
            + (f", costs = {', '.join(COST_SUBCOLUMNS)} from the record's timings" if t.name == "all" else "")
            + ".</p>")
    return (f'<h3 id="table-{_e(d.name)}">{_e(d.title)} (<code>{_e(d.name)}</code>)</h3>{note}'
            f'<div class="scroll"><table class="sortable" id="t-{_e(d.name)}"><thead><tr>{"".join(head1)}</tr>'
            f'<tr>{"".join(head2)}</tr></thead><tbody>{"".join(body)}</tbody></table></div>')


def _layer_curves(tables: list[Table], merged: list[dict], registry: Registry) -> list[str]:
    """Inline SVG layer curves: per task, per model, the chosen record per layer with its interval."""
    from benchmarks import sidecar, stats
    from benchmarks.plots import layer_curve_svg, primary_metric
    from benchmarks.tasks import find_task

    by_task: dict[str, dict[str, list[dict]]] = defaultdict(lambda: defaultdict(list))
    for r in merged:
        by_task[r["task"]][registry.canonical(str(r["model"])) or str(r["model"])].append(r)
    out = []
    for task_name, models in sorted(by_task.items()):
        task = find_task(task_name)
        metric = primary_metric(task_name, [r for rs in models.values() for r in rs])
        series = {}
        for model, recs in models.items():
            per_layer = defaultdict(list)
            for r in recs:
                if isinstance((r.get("metrics") or {}).get(metric), (int, float)):
                    per_layer[r["layer"]].append(r)
            pts = []
            for layer, rs in sorted(per_layer.items()):
                rec = best_by_validation(rs) or rs[0]
                lo = hi = None
                if task is not None:
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore", sidecar.SidecarWarning)   # the tables already warned
                        tr = sidecar.load(rec)
                    iv = stats.intervals(task, tr, metrics=[metric]).get(metric) if tr is not None else None
                    if iv is not None:
                        lo, hi = iv.low, iv.high
                pts.append((layer, float(rec["metrics"][metric]), lo, hi))
            series[model] = pts
        if not any(len(p) > 0 for p in series.values()):
            continue
        lower = bool(task.primary.lower_is_better) if task is not None and task.primary.key == metric else False
        svg = layer_curve_svg(task_name, metric, series, lower)
        out.append(f'<figure id="layers-{_e(task_name)}">{svg}<figcaption class="note">{_e(task_name)}: test '
                   f'{_e(metric)} per layer; one curve per model, band = 95 % bootstrap interval (none for records '
                   f'without a sidecar).</figcaption></figure>')
    return out


def _dl(items: list[tuple[str, object]]) -> str:
    rows = []
    for k, v in items:
        if v is None or v == "" or v == {}:
            continue
        text = v if isinstance(v, str) else json.dumps(v, sort_keys=True, default=str)
        rows.append(f"<dt>{_e(k)}</dt><dd>{_e(text)}</dd>")
    return "<dl>" + "".join(rows) + "</dl>"


def _protocol_cards(merged: list[dict]) -> list[str]:
    from benchmarks.tasks import find_task

    out = []
    for task_name in sorted({r["task"] for r in merged}):
        task = find_task(task_name)
        recs = [r for r in merged if r["task"] == task_name]
        rec = max(recs, key=lambda r: str(r.get("created", "")))
        proto, ds = rec.get("protocol") or {}, rec.get("dataset") or {}
        items = [("task", (task.description if task else "(a task this version does not know)")),
                 ("data", f"{ds.get('name', '?')} at {ds.get('root', '?')}; examples {ds.get('n_examples', {})}; "
                          f"{ds.get('n_skipped', 0)} skipped"),
                 ("layout", task.layout if task else None),
                 ("split", ds.get("split") if not proto.get("cross_validation") else
                  f"cross-validation {proto['cross_validation']}"),
                 ("folds", proto.get("folds")),
                 ("metric", f"primary {(rec.get('primary_metric') or {}).get('name')}"
                            + (" (lower is better)" if (rec.get("primary_metric") or {}).get("lower_is_better")
                               else "") + f"; validation {(rec.get('validation') or {}).get('metric')}"),
                 ("frontend", proto.get("frontend")), ("probe kind", proto.get("probe_kind")),
                 ("probe grid", proto.get("grid")), ("seeds", proto.get("seeds")),
                 ("schedule", proto.get("schedule") or "per-epoch validation, patience 10, at most 100 epochs"),
                 ("post-processing", proto.get("post_processing")),
                 ("other options", {k: v for k, v in proto.items() if k not in (
                     "frontend", "probe_kind", "grid", "seeds", "schedule", "post_processing", "folds",
                     "cross_validation", "validation_metric", "primary_metric")}),
                 ("intervals", stats_rule())]
        out.append(f'<div class="card" id="protocol-{_e(task_name)}"><h3>{_e(task_name)}</h3>{_dl(items)}</div>')
    return out


def _provenance(merged: list[dict], links: dict[str, str]) -> str:
    head = ["model", "task", "layer", "probe", "seed", "created", "host", "omar-bench", "torch", "model fingerprint",
            "dataset fingerprint", "split fingerprint", "sidecar", "record"]
    rows = []
    for r in merged:
        v, ds, info = r.get("versions") or {}, r.get("dataset") or {}, r.get("model_info") or {}
        link = links.get(r.get("_path", ""))
        cells = [r["model"], r["task"], r["layer"], r["probe"], r["seed"], r.get("created", ""), r.get("host", ""),
                 v.get("omar-bench", v.get("omar_bench", "")), v.get("torch", ""),
                 str(info.get("fingerprint", ""))[:16], str(ds.get("fingerprint", ""))[:16],
                 str(ds.get("split_fingerprint", ""))[:16], "yes" if r.get("tracks") else EM_DASH]
        tds = "".join(f'<td class="model" data-v="{_e(c)}">{_e(c)}</td>' for c in cells)
        tds += (f'<td class="model"><a class="record" href="{_e(link)}">{_e(Path(link).name)}</a></td>'
                if link else "<td></td>")
        rows.append(f"<tr>{tds}</tr>")
    ths = "".join(f'<th class="sortable model" data-col="{i}">{_e(h)}</th>' for i, h in enumerate(head))
    return (f'<div class="scroll"><table class="sortable" id="t-provenance"><thead><tr>{ths}</tr></thead>'
            f'<tbody>{"".join(rows)}</tbody></table></div>')


def _copy_records(merged: list[dict], out: Path) -> dict[str, str]:
    """Copy each record (and its sidecar) under ``out/records/…``; returns ``{record _path: relative link}``."""
    from benchmarks import sidecar

    links = {}
    for r in merged:
        src = r.get("_path")
        if not src or not Path(src).is_file():
            continue
        rel = record_ref(src) or Path(src).name
        dst = out / rel
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, dst)
        side = sidecar.path_of(r)
        if side is not None and side.is_file():
            shutil.copyfile(side, dst.parent / side.name)
        links[src] = rel
    return links


def render(records: Iterable[dict], out: Path, registry: Registry | None = None) -> str:
    """The page's HTML (copies the records it links to into ``out``)."""
    from datetime import datetime, timezone

    registry = registry or default_registry()
    records = list(records)
    merged = latest_per_key(records)
    links = _copy_records(merged, out)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")   # sidecar problems: the CLI's table command reports them
        built = [t for t in build_tables(records, registry) if t.rows]
        tables = [t for t in built if any(c.measured is not None for c in t.cells.values())]
        unmeasured = [t.definition.title for t in built if t not in tables]
        if not any(t.name == "all" for t in tables) and merged:
            tables += build_tables(records, registry, ["all"])
        curves = _layer_curves(tables, merged, registry)
    created = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    toc = "".join(f'<li><a href="#table-{_e(t.name)}">{_e(t.definition.title)}</a></li>' for t in tables)
    parts = [
        "<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        "<title>omar-bench report</title>", f"<style>{CSS}</style></head><body>",
        "<h1>omar-bench report</h1>",
        f'<p class="note">{len(merged)} records (latest per model, task, layer, probe and seed), written {created}. '
        f"Click a column header to sort. {_e(stats_rule())}.</p>",
        f"<nav><ul>{toc}<li><a href=\"#curves\">Layer curves</a></li><li><a href=\"#protocols\">Protocols</a></li>"
        "<li><a href=\"#provenance\">Provenance</a></li></ul></nav>",
        "<h2 id=\"tables\">Tables</h2>", *(_table_html(t, links) for t in tables),
        (f'<p class="note">Not shown, no measured cell yet: {_e(", ".join(unmeasured))} (their published '
         "references are in <code>results/reference/</code>).</p>" if unmeasured else ""),
        "<h2 id=\"curves\">Layer curves</h2>", *(curves or ['<p class="note">No records.</p>']),
        "<h2 id=\"protocols\">Protocols</h2>", *_protocol_cards(merged),
        "<h2 id=\"provenance\">Provenance</h2>", _provenance(merged, links),
        f"<script>{SCRIPT}</script>", "</body></html>",
    ]
    return "\n".join(parts) + "\n"


def write_report(out: str | os.PathLike, records: Iterable[dict], registry: Registry | None = None) -> Path:
    """Write ``out/index.html`` and the records it links to; returns the page's path."""
    from benchmarks.errors import UsageError

    out = Path(out)
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out}: exists and is not a folder (the report is a folder: index.html + records/)")
    out.mkdir(parents=True, exist_ok=True)
    text = render(records, out, registry)
    return atomic_write(out / INDEX, text, mode=0o644)
