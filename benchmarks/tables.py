"""Comparison tables as text: Markdown, LaTeX and CSV renderings of the :class:`benchmarks.leaderboard.Table`\s
built from the records, and writing them to files (atomically). What a table holds, and how a cell is chosen, is
:mod:`benchmarks.leaderboard`'s; this module only writes it down."""
from __future__ import annotations

import csv
import io
import math
import os
from pathlib import Path
from typing import Iterable, Sequence

from benchmarks.leaderboard import (CSV_FIELDS, DECIMALS, EM_DASH, FORMATS, NOT_RUN, _SUFFIX, Cell, Column, Table,
                                    build_tables)
from benchmarks.registry import Registry
from omar_rq.files import atomic_write

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


def subcolumns(t: Table, col: Column) -> list[str]:
    """Sub-columns of one column. A task we never run has nothing to compare, so it keeps only ref and ours."""
    if not col.run:
        return ["ref", "ours"] if t.has_reference else ["ours"]
    subs = ["ref", "ours", "Δ"] if t.has_reference else ["ours"]
    subs += ["CI"] + (["L"] if t.definition.layer is None else [])
    return subs + (list(COST_SUBCOLUMNS) if t.name == "all" else [])


def cell_texts(t: Table, c: Cell) -> list[str]:
    texts = {"ref": _ref_text(c), "ours": _ours_text(c), "Δ": _diff_text(c), "L": _layer_text(c), "CI": _ci_text(c),
             **_cost_texts(c)}
    return [texts[s] for s in subcolumns(t, c.column)]


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
    header = ["model"] + [f"{c.title} {s}" for c in d.columns for s in subcolumns(t, c)]
    body = [[m.replace("|", "\\|")] + [x for c in d.columns for x in cell_texts(t, t.cell(m, c.label))]
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
    widths = [len(subcolumns(t, c)) for c in d.columns]
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
    out.append("Model & " + " & ".join(tex_subs.get(s, s) for c in d.columns for s in subcolumns(t, c)) + r" \\")
    out.append(r"\midrule")
    for m in t.rows:
        texts = [_tex_cell(x) for c in d.columns for x in cell_texts(t, t.cell(m, c.label))]
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
