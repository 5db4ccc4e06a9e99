"""Leaderboard tables: reference numbers always shown; measured cells filled by the documented rule; md / LaTeX / CSV
parse back to the records' numbers."""
import csv
import io
import math
import random
import re

import pytest

from benchmarks.leaderboard import EM_DASH, NOT_RUN, TABLES, build_table
from benchmarks.tables import render, render_all, write_tables
from benchmarks.records import load_records, write_record
from benchmarks.registry import Registry

PUBLISHED = ["baseline", "multiview", "freesound", "released", "marble"]


@pytest.fixture(scope="module")
def reg():
    return Registry.load()


STATS_SUBCOLUMNS = (" CI", " s/h audio", " probe s", " peak MB", " device")


# ---- parsers (independent of the renderer's internals) ---------------------------------------------------------------
def _cell(text: str) -> dict:
    """One rendered cell, md or LaTeX, as {"kind": ..., "value": ..., "std": ...}."""
    t = text.strip().replace(r"$\pm$", "±").replace("$", "").replace(r"\textit{not run}", NOT_RUN)
    t = t.replace(r"\star", "★").replace(r"\approx", "≈")
    mark = t[-1] if t.endswith(("★", "≈")) else ""
    t = t.removesuffix(mark).strip()
    if t == "":
        return {"kind": "blank"}
    if t in (EM_DASH, "---"):
        return {"kind": "missing"}
    if t == NOT_RUN:
        return {"kind": "not run"}
    if t == "NaN":
        return {"kind": "nan", "value": math.nan}
    if "±" in t:
        a, b = t.split("±")
        return {"kind": "number", "value": float(a), "std": float(b)}
    return {"kind": "number", "value": float(t), "std": None}


def _collect(tables: dict) -> dict:
    """{table: {model: {"MTAT ref": "...", ...}}} -> {(table, model, column): {"ref"|"ours"|"Δ"|"L": cell}}."""
    out = {}
    for tname, rows in tables.items():
        for model, cells in rows.items():
            for header, text in cells.items():
                if header.endswith(STATS_SUBCOLUMNS):   # intervals and costs: tests/test_stats.py
                    continue
                column, sub = header.rsplit(" ", 1)
                column = column.removesuffix(" ↓")  # the mark of a lower-is-better metric
                out.setdefault((tname, model, column), {})[sub] = _cell(text)
    return out


def parse_md(text: str) -> dict:
    tables, name, header = {}, None, None
    for line in text.splitlines():
        m = re.match(r"### .*\(`([^`]+)`\)$", line)
        if m:
            name, header = m.group(1), None
            tables[name] = {}
        elif line.startswith("|") and name:
            cells = [c.strip() for c in line.strip()[1:-1].split("|")]
            if header is None:
                header = cells
            elif not set("".join(cells)) <= set(":-"):
                tables[name][cells[0]] = dict(zip(header[1:], cells[1:]))
    return _collect(tables)


def parse_latex(text: str) -> dict:
    tables = {}
    for block in text.split(r"\begin{table}")[1:]:
        name = re.search(r"\\label\{tab:([^}]+)\}", block).group(1)
        lines = block.splitlines()
        groups = [(int(k), label) for k, label in re.findall(r"\\multicolumn\{(\d+)\}\{c\}\{([^}]*)\}", block)]
        sub_line = next(x for x in lines if x.startswith("Model &"))
        subs = [s.strip().replace(r"$\Delta$", "Δ") for s in sub_line.rstrip("\\ ").split("&")[1:]]
        headers, i = [], 0
        for k, label in groups:
            label = label.replace(r" $\downarrow$", "")  # the mark of a lower-is-better metric
            headers += [f"{label.replace(chr(92) + '_', '_')} {s}" for s in subs[i:i + k]]
            i += k
        body = lines[lines.index(r"\midrule") + 1:lines.index(r"\bottomrule")]
        tables[name] = {}
        for row in body:
            cells = [c.strip() for c in row.rstrip().removesuffix(r"\\").split("&")]
            tables[name][cells[0].replace("\\_", "_")] = dict(zip(headers, cells[1:]))
    return _collect(tables)


def parse_csv(text: str) -> dict:
    return {(r["table"], r["model"], r["column"]): r for r in csv.DictReader(io.StringIO(text))}


# ---- acceptance 1: no results ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("fmt, parser", [("md", parse_md), ("latex", parse_latex)])
def test_empty_results_show_every_reference(reg, fmt, parser):
    text = render_all([], reg, fmt)
    cells = parser(text)
    assert {k[0] for k in cells} == set(PUBLISHED)  # the offline table is left out while it has no rows
    for name in PUBLISHED:
        models = [m for (t, m, _c) in cells if t == name]
        assert sorted(set(models)) == sorted(reg.table_members(name))
        for model in reg.table_members(name):
            assert (model if fmt == "md" else model.replace("_", "\\_")) in text
    refs = reg.reference_scores()
    assert len(refs) == 3 * 2 + 12 * 3 + 2 * 2 + 5 * 6 + 21 * 2 + 2  # every cell of the published tables (marble: 21 columns x 2 models + 2 audit numbers)
    for s in refs:
        c = cells[(s.table, s.model, s.column)]
        if s.value is None:
            assert c["ref"]["kind"] == "blank"
        elif math.isnan(s.value):
            assert c["ref"]["kind"] == "nan"
        else:
            assert c["ref"]["kind"] == "number" and c["ref"]["value"] == pytest.approx(s.value, abs=5e-4)
            assert f"{s.value:.3f}" in text
        assert c["ours"]["kind"] == "missing"  # every task of every published table runs now
        assert c.get("Δ", {"kind": "blank"})["kind"] == "blank"


def test_empty_results_csv(reg):
    rows = parse_csv(render_all([], reg, "csv"))
    # one row per (member, column) of each published table; every reference is one of them
    assert len(rows) == sum(len(reg.table_members(t)) * len(TABLES[t].columns) for t in PUBLISHED)
    for s in reg.reference_scores():
        r = rows[(s.table, s.model, s.column)]
        assert (r["task"], r["metric"]) == (s.task, s.metric)
        if s.value is None:
            assert r["reference"] == "" and r["reference_status"] == "not reported"
        elif math.isnan(s.value):
            assert r["reference"] == "NaN" and r["reference_status"] == "nan"
        else:
            assert float(r["reference"]) == s.value and r["reference_status"] == "reported"
        assert r["measured"] == "" and r["n_records"] == "0"
        assert r["status"] == "missing"


def test_table_definitions(reg):
    assert list(TABLES) == ["baseline", "multiview", "freesound", "released", "marble", "offline", "all"]
    for name in ("baseline", "multiview", "freesound"):
        assert TABLES[name].layer == 6
    assert TABLES["released"].layer is None and TABLES["offline"].layer is None
    # every published column is a table column with the same (task, metric)
    for s in reg.reference_scores():
        col = next(c for c in TABLES[s.table].columns if c.label == s.column)
        assert (col.task, col.metric) == (s.task, s.metric)
    assert all(c.run for c in TABLES["released"].columns)
    assert [c.lower_is_better for c in TABLES["released"].columns] == [False, True, False, False, False, False]


# ---- acceptance 2: records fill the right cells ----------------------------------------------------------------------
def rec(model, task, layer, test, val, metric, probe="grid", seed=0, std=None, created=None):
    r = {
        "model": model,
        "model_info": {"kind": "omar-rq", "source": "test", "fingerprint": "0" * 64, "sr": 16000, "eps": 15.625,
                       "depth": 12},
        "task": task, "layer": layer, "probe": probe, "seed": seed,
        "hyperparameters": {"lr": 1e-3, "hidden": 512, "dropout": 0.0, "best_epoch": 3},
        "sweep": [{"lr": 1e-3, "hidden": 512, "dropout": 0.0, "val_score": val}],
        "validation": {"metric": metric, "value": val},
        "metrics": {metric: test, "other": 0.123},
        "metrics_std": {metric: std} if std is not None else {},
        "dataset": {"name": task, "split": "test-split", "n_examples": {"train": 10, "valid": 5, "test": 5},
                    "skipped_files": [], "n_skipped": 0},
        "protocol": {"pooling": "mean"}, "versions": {"omar_bench": "0.1.0"}, "timings": {"total_s": 1.0},
    }
    if created:
        r["created"] = created
    return r


# (table, model, column) -> (measured, std, layer, n_records)
EXPECTED = {
    ("multiview", "s8", "MTAT"): (0.4587654, None, 6, 1),       # the re-run (latest) at the fixed layer
    ("multiview", "s8", "Beattracking"): (0.7612, 0.0213, 6, 1),
    ("multiview", "l3", "MTAT"): (0.41, None, 6, 1),            # reference NaN: no difference
    ("baseline", "b3", "MTAT"): (0.40, None, 6, 1),             # reference not reported: no difference
    ("baseline", "b1", "Beattracking"): (0.845, None, 6, 2),    # two seeds: best validation (seed 1)
    ("freesound", "f0", "Nsynth"): (0.81, None, 6, 2),          # two probes: best validation (linear)
    ("released", "base", "Tagging"): (0.47, None, 7, 12),       # best layer by validation, not by test
    ("released", "multifeature-25hz-fsq", "Pitch"): (0.9312, 0.004, 4, 1),
    ("marble", "base", "mtat pr_auc_macro"): (0.47, None, 7, 12),            # the same records, MARBLE's columns
    ("marble", "multifeature-25hz-fsq", "nsynth-pitch accuracy"): (0.9312, 0.004, 4, 1),
    ("offline", "mel", "synth-mtat"): (0.3, None, 0, 1),
    ("offline", "random-s8", "synth-nsynth-instrument"): (0.2, None, 2, 1),
    ("offline", "tiny", "synth-beats"): (0.66, None, 1, 3),
}


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    d = tmp_path_factory.mktemp("results")
    recs = [
        rec("s8", "mtat", 6, 0.4521234, 0.43, "pr_auc_macro", created="2020-01-01T00:00:00+00:00"),
        rec("s8", "mtat", 6, 0.4587654, 0.42, "pr_auc_macro"),  # later re-run wins although its validation is lower
        rec("s8", "mtat", 5, 0.47, 0.44, "pr_auc_macro"),       # not layer 6: ignored by the fixed-layer table
        rec("s8", "beats", 6, 0.7612, 0.75, "f_measure", std=0.0213),
        rec("l3", "mtat", 6, 0.41, 0.40, "pr_auc_macro"),
        rec("b3", "mtat", 6, 0.40, 0.39, "pr_auc_macro"),
        rec("b1", "beats", 6, 0.85, 0.84, "f_measure", seed=0),
        rec("b1", "beats", 6, 0.845, 0.86, "f_measure", seed=1),
        rec("f0", "nsynth-pitch", 6, 0.83, 0.80, "accuracy", probe="grid"),
        rec("f0", "nsynth-pitch", 6, 0.81, 0.82, "accuracy", probe="linear"),
        rec("multifeature-25hz-fsq", "nsynth-pitch", 4, 0.9312, 0.92, "accuracy", std=0.004),
        rec("base", "chords", 5, 0.7, 0.7, "accuracy"),         # not the chord column's metric (majmin): no cell
        rec("mel", "synth-mtat", 0, 0.3, 0.31, "pr_auc_macro"),
        rec("random-s8", "synth-nsynth-instrument", 2, 0.2, 0.21, "accuracy"),
        rec("mel", "mtat", 0, 0.3, 0.3, "pr_auc_macro"),        # not in any published table: no row anywhere
    ]
    for layer in range(12):  # validation peaks at layer 7, test at layer 9
        recs.append(rec("mtg-upf/omar-rq-base", "mtat", layer, {7: 0.47, 9: 0.49}.get(layer, 0.40),
                        0.45 - abs(layer - 7) * 0.01, "pr_auc_macro"))
    for layer, (test, val) in enumerate([(0.5, 0.5), (0.66, 0.6), (0.7, 0.55)]):
        recs.append(rec("tiny", "synth-beats", layer, test, val, "f_measure"))
    for r in recs:
        write_record(d, r)
    return d


def _ref(reg, key):
    t, m, c = key
    s = reg.reference(TABLES[t].reference_table, m, c) if TABLES[t].reference_table else None
    return s.value if s else None


@pytest.mark.parametrize("fmt, parser", [("md", parse_md), ("latex", parse_latex)])
def test_records_fill_cells_md_latex(reg, results, fmt, parser):
    records = load_records(results)
    random.Random(0).shuffle(records)  # input order must not matter
    text = render_all(records, reg, fmt)
    assert text == render_all(sorted(records, key=lambda r: r["_path"]), reg, fmt)
    cells = parser(text)
    assert {k[0] for k in cells} == set(PUBLISHED) | {"offline", "all"}
    cells = {k: v for k, v in cells.items() if k[0] != "all"}  # the "all results" table has its own test
    assert sorted({m for (t, m, _c) in cells if t == "offline"}) == ["mel", "random-s8", "tiny"]
    for key, (value, std, layer, _n) in EXPECTED.items():
        c = cells[key]
        assert c["ours"]["kind"] == "number", key
        assert abs(c["ours"]["value"] - value) <= 5e-4 + 1e-12, key
        assert c["ours"]["std"] == (None if std is None else pytest.approx(std, abs=5e-4)), key
        ref = _ref(reg, key)
        if ref is not None and not math.isnan(ref):
            assert abs(c["Δ"]["value"] - (value - ref)) <= 5e-4 + 1e-9, key
        elif "Δ" in c:
            assert c["Δ"]["kind"] == "blank", key
        if TABLES[key[0]].layer is None:
            assert c["L"]["value"] == layer, key
    measured = {k for k, c in cells.items() if c["ours"]["kind"] == "number"}
    assert measured == set(EXPECTED)  # nothing else filled (mel/mtat, s8 layer 5, base/chords stay out)
    assert cells[("released", "base", "Chord")]["ours"]["kind"] == "missing"


def test_records_fill_cells_csv_exactly(reg, results):
    rows = parse_csv(render_all(load_records(results), reg, "csv"))
    for key, (value, std, layer, n) in EXPECTED.items():
        r = rows[key]
        assert float(r["measured"]) == value and r["status"] == "measured"
        assert (float(r["measured_std"]) if r["measured_std"] else None) == std
        assert int(r["layer"]) == layer and int(r["n_records"]) == n
        ref = _ref(reg, key)
        if ref is not None and not math.isnan(ref):
            assert float(r["diff"]) == value - ref
        else:
            assert r["diff"] == ""
        assert r["record"].startswith("records/") and r["record"].endswith(".json")
    assert rows[("released", "base", "Tagging")]["record"].startswith("records/mtg-upf__omar-rq-base/mtat/L7-")
    assert rows[("released", "base", "Chord")]["status"] == "missing"
    assert rows[("multiview", "s8", "Nsynth")]["status"] == "missing"


def test_build_table_api(reg, results):
    t = build_table("multiview", load_records(results), reg)
    assert t.rows == tuple(reg.table_members("multiview"))
    c = t.cell("s8", "MTAT")
    assert c.layer == 6 and c.diff == pytest.approx(0.4587654 - 0.446) and c.reference_status == "reported"
    assert t.cell("l3", "MTAT").reference_status == "nan" and t.cell("l3", "MTAT").diff is None
    df = t.frame()
    assert len(df) == 12 * 3 and list(df["model"].unique()) == reg.table_members("multiview")
    md = render(t, "md")
    assert md.startswith("### Multi-view Discogs23 (`multiview`)")
    assert "0.459" in md and "+0.013" in md  # 0.4587654 and 0.4587654 - 0.446


def test_write_tables(reg, results, tmp_path):
    records = load_records(results)
    paths = write_tables(tmp_path / "tables", records, reg)
    assert [p.name for p in paths] == ["tables.md", "tables.tex", "tables.csv"]
    assert paths[0].read_text() == render_all(records, reg, "md")
    assert paths[1].read_text().count(r"\begin{table}") == 7
    one = write_tables(tmp_path / "x" / "only.csv", records, reg, tables=["released"])
    assert one == [tmp_path / "x" / "only.csv"]
    assert {r["table"] for r in csv.DictReader(one[0].open())} == {"released"}


def test_errors_and_explicit_empty_table(reg):
    with pytest.raises(KeyError, match="unknown table 'nope'"):
        build_table("nope", [], reg)
    with pytest.raises(ValueError, match="unknown table format"):
        render_all([], reg, "html")
    text = render_all([], reg, "md", tables=["offline"])
    assert "Offline synthesised suite" in text and "no records" in text
