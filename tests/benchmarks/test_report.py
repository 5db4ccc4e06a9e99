"""Reports end to end on real runs: sidecars beside the records, intervals in the tables ("—" for old records),
`omar-bench compare`, and the HTML report opened in headless Chromium (console errors, sorting by a click, record
links, screenshots at desktop and phone width)."""
from __future__ import annotations

import json
import os
import re
import shutil
import struct
import warnings
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest

from benchmarks import sidecar, stats
from benchmarks.cli import main as cli
from benchmarks.leaderboard import build_table
from benchmarks.records import load_records
from benchmarks.tasks import get_task
from layouts import write_mtat, write_nsynth



def _run(data: Path, results: Path, cache: Path, model: str, task: str, *extra: str) -> None:
    assert cli(["run", "--model", model, "--task", task, "--data-dir", str(data), "--cache-dir", str(cache),
                "--results-dir", str(results), "--max-epochs", "6", "--probe", "linear", "--quiet", *extra]) == 0


@pytest.fixture(scope="module")
def results(tmp_path_factory) -> Path:
    """mel and random-tiny on NSynth pitch, mel on MTAT (a corpus metric), plus an old record without sidecar."""
    root = tmp_path_factory.mktemp("report")
    nsynth, mtat = write_nsynth(root / "nsynth", pitches=range(48, 54)), write_mtat(root / "mtat")
    res, cache = root / "results", root / "cache"
    _run(nsynth, res, cache, "mel", "nsynth-pitch")
    _run(nsynth, res, cache, "random-tiny", "nsynth-pitch", "--layers", "0,1")
    _run(mtat, res, cache, "mel", "mtat")
    old = json.loads(next((res / "records" / "mel" / "mtat").glob("*.json")).read_text())
    del old["tracks"]
    old.update(model="old-model", created="2026-01-01T00:00:00+00:00")
    (res / "records" / "old-model" / "mtat").mkdir(parents=True)
    (res / "records" / "old-model" / "mtat" / "L0-grid-s0-old.json").write_text(json.dumps(old))
    return res


def test_sidecar_reproduces_every_recorded_metric(results):
    recs = [r for r in load_records(results) if r.get("tracks")]
    assert len(recs) == 4
    for rec in recs:
        assert (Path(rec["_path"]).parent / rec["tracks"]["file"]).is_file()
        ivs = stats.intervals(get_task(rec["task"]), sidecar.load(rec), n_resamples=50)
        numeric = {k for k, v in rec["metrics"].items() if not k.startswith("n_")}
        assert numeric <= set(ivs), (rec["task"], numeric - set(ivs))
        for k in numeric:
            assert ivs[k].value == pytest.approx(rec["metrics"][k], abs=1e-9), (rec["task"], k)
            assert ivs[k].low <= ivs[k].value + 1e-12 and ivs[k].value <= ivs[k].high + 1e-12
        t = rec["timings"]
        assert t["audio_s_extracted"] > 0 and t["peak_rss_mb"] > 0 and t["device_name"]


def test_tables_show_intervals_marks_costs_and_dash_for_old_records(results):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        table = build_table("all", load_records(results))
    old, mel = table.cell("old-model", "mtat"), table.cell("mel", "mtat")
    assert old.measured == pytest.approx(mel.measured) and old.interval is None and mel.interval is not None
    pitch = [table.cell(m, "nsynth-pitch") for m in ("mel", "random-tiny")]
    best = max(pitch, key=lambda c: c.measured)
    assert best.mark == stats.BEST and all(c.mark in (stats.BEST, stats.NOT_WORSE, "") for c in pitch)
    rows = {r["model"]: r for r in table.long_rows() if r["column"] == "mtat"}
    assert rows["old-model"]["ci_low"] is None and rows["mel"]["ci_low"] <= rows["mel"]["measured"]
    assert rows["mel"]["extract_s_per_audio_h"] > 0 and rows["mel"]["device"]
    from benchmarks.tables import render_md

    text = render_md(table)
    old_line = next(line for line in text.splitlines() if line.startswith("| old-model"))
    cells = [c.strip() for c in old_line.strip("|").split("|")]
    assert cells[1] == f"{old.measured:.3f}" + (f" {old.mark}" if old.mark else "") and cells[2] == "—"
    assert "1000 resamples" in text and "Holm" in text


def test_compare_prints_difference_interval_and_p_value(results, capsys):
    assert cli(["compare", "mel", "random-tiny", "--task", "nsynth-pitch", "--results-dir", str(results)]) == 0
    out = capsys.readouterr().out
    m = re.search(r"A − B = ([+-][\d.]+)\s+95% CI \[([+-][\d.]+), ([+-][\d.]+)\]\s+p = ([\d.]+)", out)
    assert m, out
    diff, lo, hi, p = map(float, m.groups())
    assert lo <= diff <= hi and 0 < p <= 1
    a = float(re.search(r"A = mel \(layer 0\): ([\d.]+)", out).group(1))
    b = float(re.search(r"B = random-tiny \(layer \d\): ([\d.]+)", out).group(1))
    assert diff == pytest.approx(a - b, abs=2e-4)


@pytest.mark.parametrize("args, message", [
    (["mel", "old-model", "--task", "mtat"], "no per-track sidecar"),
    (["mel", "random-tiny", "--task", "mtat"], "no record of random-tiny on mtat"),
])
def test_compare_errors_are_one_line_exit_2(results, capsys, args, message):
    assert cli(["compare", *args, "--results-dir", str(results)]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1 and "Traceback" not in err


def test_compare_refuses_records_on_different_test_tracks(results, tmp_path, capsys):
    res = tmp_path / "r"
    shutil.copytree(results, res)
    folder = res / "records" / "random-tiny" / "nsynth-pitch"
    for path in folder.glob("*.json"):      # another test set: the same arrays under other track ids
        rec = json.loads(path.read_text())
        rec["_path"] = str(path)
        tr = sidecar.load(rec)
        arrays = sidecar.pack([(f, s, [f"other-{t}" for t in ids], run)
                               for f, s, ids, run in zip(tr.folds, tr.seeds, tr.ids, tr.runs)])
        rec["tracks"] = sidecar.write(folder, arrays)
        del rec["_path"]
        path.write_text(json.dumps(rec))
    assert cli(["compare", "mel", "random-tiny", "--task", "nsynth-pitch", "--results-dir", str(res)]) == 2
    err = capsys.readouterr().err.strip()
    assert "do not share test tracks" in err and len(err.splitlines()) == 1


def test_damaged_sidecar_gives_dash_and_a_warning_not_a_crash(results, tmp_path):
    res = tmp_path / "r"
    shutil.copytree(results, res)
    for npz in (res / "records" / "mel" / "mtat").glob("tracks-*.npz"):
        npz.write_bytes(npz.read_bytes()[:-20])
    with pytest.warns(sidecar.SidecarWarning, match="does not match"):
        table = build_table("all", load_records(res))
    assert table.cell("mel", "mtat").interval is None and table.cell("mel", "mtat").measured is not None


# ---- the HTML report in a real browser ------------------------------------------------------------------------------
def _png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    return struct.unpack(">II", data[16:24])


@pytest.fixture(scope="module")
def site(results, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("site")
    assert cli(["report", "--out", str(out), "--results-dir", str(results)]) == 0
    return out / "index.html"


def test_report_is_one_offline_page_with_everything(site):
    text = site.read_text()
    assert not re.search(r"(src|href)=\"(https?:)?//", text)         # no network at view time
    for what in ("id=\"t-all\"", "<svg", "id=\"protocol-nsynth-pitch\"", "id=\"t-provenance\"", "@media print",
                 "1000 resamples", "s/h audio"):
        assert what in text, what
    assert "layers-nsynth-pitch" in text and text.count("<svg") >= 2


@pytest.fixture(scope="module")
def browser():
    from cdp import Browser, find_chromium

    exe = find_chromium()
    if exe is None:
        pytest.skip("no Chromium found (install Debian's `chromium`; .ci/run does in CI): the browser test needs it")
    pytest.importorskip("websocket", reason="websocket-client (the dev extra) drives Chromium's DevTools protocol")
    b = Browser(exe)
    yield b
    b.close()


def test_report_in_headless_chromium(site, browser, tmp_path):
    browser.open(site.as_uri())
    assert browser.evaluate("document.title") == "omar-bench report"
    assert browser.console_errors == []
    # sorting: a real click on the "ours" header of nsynth-pitch in the all-results table orders its rows
    col = browser.evaluate("""(() => { const ths = [...document.querySelectorAll('#t-all thead tr:nth-child(2) th')];
        const groups = [...document.querySelectorAll('#t-all thead tr:first-child th')].slice(1);
        let i = 1; for (const g of groups) { const n = +g.colSpan;
          if (g.textContent.includes('nsynth-pitch')) return i; i += n; } return -1; })()""")
    assert col > 0

    def column() -> list:
        return browser.evaluate(f"[...document.querySelectorAll('#t-all tbody tr')].map(r => "
                                f"[r.cells[0].textContent, r.cells[{col}].dataset.v])")

    before = column()
    browser.click(f"#t-all th[data-col='{col}']")
    asc = column()
    values = [float(v) for _, v in asc if v]
    assert values == sorted(values) and [m for m, v in asc if not v] == [m for m, v in asc][len(values):]
    browser.click(f"#t-all th[data-col='{col}']")
    desc = column()
    assert [float(v) for _, v in desc if v] == sorted(values, reverse=True)
    assert sorted(map(tuple, before)) == sorted(map(tuple, desc))      # the same rows, reordered
    assert browser.evaluate(f"document.querySelector(\"#t-all th[data-col='{col}']\").getAttribute('aria-sort')") \
        == "descending"
    # every record link resolves to a file beside the page
    hrefs = browser.evaluate("[...document.querySelectorAll('a.record')].map(a => a.href)")
    assert len(hrefs) >= 5
    for href in hrefs:
        path = Path(unquote(urlparse(href).path))
        assert path.is_file(), href
        assert json.loads(path.read_text())["task"]
    # screenshots at desktop and phone width
    desktop = browser.screenshot(tmp_path / "desktop.png", 1280)
    phone = browser.screenshot(tmp_path / "phone.png", 390, 844, mobile=True)
    assert _png_size(desktop)[0] == 1280 and _png_size(phone)[0] == 390
    assert desktop.stat().st_size > 10_000 and phone.stat().st_size > 5_000
    # printing: the print style sheet gives a PDF with the tables and figures
    import base64

    pdf = base64.b64decode(browser.call("Page.printToPDF", printBackground=False)["data"])
    assert pdf[:5] == b"%PDF-" and len(pdf) > 20_000
    assert browser.console_errors == []


def test_a_given_report_in_headless_chromium(browser, tmp_path):
    """The same browser checks on a report made elsewhere, e.g. by ``make demo``:
    ``OMAR_BENCH_REPORT=results/report pytest tests/benchmarks/test_report.py -k given``."""
    given = os.environ.get("OMAR_BENCH_REPORT")
    if not given:
        pytest.skip("set OMAR_BENCH_REPORT=<report folder> to check a report made elsewhere (make demo: results/report)")
    test_report_in_headless_chromium(Path(given) / "index.html", browser, tmp_path)


def test_report_out_must_be_a_folder(results, tmp_path, capsys):
    (tmp_path / "file").write_text("x")
    assert cli(["report", "--out", str(tmp_path / "file"), "--results-dir", str(results)]) == 2
    err = capsys.readouterr().err.strip()
    assert "is not a folder" in err and len(err.splitlines()) == 1
