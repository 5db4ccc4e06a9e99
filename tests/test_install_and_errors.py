"""A self-contained wheel, untrusted configs refused, a self-healing cache, one-line user errors, the "all
results" table, and the tiny pretraining config finding its synthesised audio by itself."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from benchmarks.cli import main as cli
from benchmarks.records import write_record
from layouts import write_beats, write_nsynth

from helpers import ROOT

TINY_SYNTH = """
[nsynth]
max_instruments_per_family = 3
notes_per_instrument = 2
[beats]
n_chorales = 3
n_grooves = 3
clip_seconds = 8.0
[mtat]
n_clips = 16
n_untagged = 1
"""


# ------------------------------------------------------------------------------------------------------------------
# packaging: the wheel carries cfg/ and results/reference/ and works from another folder
# ------------------------------------------------------------------------------------------------------------------
def test_wheel_carries_its_data_and_runs_outside_the_checkout(tmp_path):
    wheels = tmp_path / "wheels"
    subprocess.run([sys.executable, "-m", "pip", "wheel", str(ROOT), "--no-deps", "--no-build-isolation",
                    "--no-index", "-q", "-w", str(wheels)], check=True, capture_output=True, text=True)
    wheel = next(wheels.glob("omar_bench-*.whl"))
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    py, exe = venv / "bin" / "python", venv / "bin" / "omar-bench"
    subprocess.run([str(py), "-m", "pip", "install", "--no-deps", "--no-index", "-q", str(wheel)], check=True)
    # the dependencies come from this environment's site-packages, but not the checkout (an editable install's
    # path hook is a .pth file there, which a path added this way does not run)
    site = Path(subprocess.run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               capture_output=True, text=True, check=True).stdout.strip())
    (site / "deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    work = tmp_path / "elsewhere"
    work.mkdir()
    (work / "synth.toml").write_text(TINY_SYNTH)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "OMAR_BENCH_RESULTS")}
    env.update(OMAR_BENCH_CACHE=str(tmp_path / "cache"), OMAR_BENCH_SYNTH_CONFIG=str(work / "synth.toml"))

    def run(*args):
        return subprocess.run([str(exe), *args], cwd=work, env=env, capture_output=True, text=True)

    where = subprocess.run([str(py), "-c", "import benchmarks.resources as r, benchmarks; "
                                           "print(benchmarks.__file__); print(r.cfg_dir())"],
                           cwd=work, env=env, capture_output=True, text=True, check=True).stdout.split()
    assert all(Path(p).resolve().is_relative_to(venv.resolve()) for p in where), where
    models = run("models")
    assert models.returncode == 0, models.stderr
    assert "multifeature-25hz-fsq" in models.stdout and "tiny" in models.stdout
    table = run("table")
    assert table.returncode == 0, table.stderr
    assert "Released models" in table.stdout and "0.482" in table.stdout
    res = run("run", "--model", "mel", "--task", "synth-nsynth-instrument", "--probe", "linear", "--max-epochs",
              "3", "--quiet", "--json")
    assert res.returncode == 0, res.stderr
    assert "accuracy" in json.loads(res.stdout.strip().splitlines()[-1])["metrics"]
    assert list((work / "results" / "records").rglob("*.json"))


# ------------------------------------------------------------------------------------------------------------------
# untrusted configs
# ------------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("line", ["import omar_bench_test_payload", "from __gin__ import dynamic_registration",
                                  "  import omar_bench_test_payload  # looks harmless"])
def test_config_imports_are_refused_before_gin_runs_them(tmp_path, monkeypatch, line):
    from omar_rq import get_model
    from omar_rq.config import ConfigError

    marker = tmp_path / "payload-ran"
    (tmp_path / "omar_bench_test_payload.py").write_text(f"open({str(marker)!r}, 'w').write('x')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    cfg = tmp_path / "model" / "config.gin"
    cfg.parent.mkdir()
    cfg.write_text("# a downloaded model folder\n" + line + "\n" + (ROOT / "cfg/models/tiny.gin").read_text())
    with pytest.raises(ConfigError) as e:
        get_model(config_file=cfg, load_weights=False)
    assert str(cfg) in str(e.value) and "line 2" in str(e.value) and line.strip() in str(e.value)
    assert not marker.exists()
    sys.modules.pop("omar_bench_test_payload", None)


def test_an_included_config_is_checked_too(tmp_path):
    from omar_rq import get_model
    from omar_rq.config import ConfigError

    (tmp_path / "evil.gin").write_text("\n\nimport json\n")
    cfg = tmp_path / "config.gin"
    cfg.write_text("include 'evil.gin'\n" + (ROOT / "cfg/models/tiny.gin").read_text())
    with pytest.raises(ConfigError, match=r"evil\.gin, line 3"):
        get_model(config_file=cfg, load_weights=False)


def test_cli_refuses_an_importing_model_config_in_one_line(tmp_path, capsys):
    model = tmp_path / "m"
    model.mkdir()
    (model / "config.gin").write_text("import os\n" + (ROOT / "cfg/models/tiny.gin").read_text())
    rc = cli(["run", "--model", str(model / "config.gin"), "--task", "synth-nsynth-pitch", "--quiet",
              "--cache-dir", str(tmp_path / "c"), "--results-dir", str(tmp_path / "r")])
    err = capsys.readouterr().err
    assert rc == 2 and "Traceback" not in err and "line 1" in err and "import os" in err
    assert len(err.strip().splitlines()) == 1


# ------------------------------------------------------------------------------------------------------------------
# a damaged cache entry is reported, deleted and recomputed
# ------------------------------------------------------------------------------------------------------------------
def test_damaged_cache_entry_is_recomputed_with_the_same_metrics(tmp_path, capsys):
    data = write_nsynth(tmp_path / "nsynth", pitches=range(48, 52))
    common = ["run", "--model", "mel", "--task", "nsynth-instrument", "--data-dir", str(data), "--probe", "linear",
              "--max-epochs", "5", "--cache-dir", str(tmp_path / "c"), "--results-dir", str(tmp_path / "r"),
              "--json", "--quiet"]
    assert cli(common) == 0
    first = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    entries = sorted((tmp_path / "c" / "embeddings").rglob("*.npz"))
    victim = entries[3]
    raw = bytearray(victim.read_bytes())
    raw[len(raw) // 3] ^= 0xFF                         # inside an array: the zip directory stays intact
    victim.write_bytes(bytes(raw))
    import shutil
    shutil.rmtree(tmp_path / "c" / "arrays")           # as on a machine the cache was copied to
    assert cli(common) == 0
    captured = capsys.readouterr()
    second = json.loads(captured.out.strip().splitlines()[-1])
    assert second["metrics"] == first["metrics"]
    assert "damaged cache entry" in captured.err and victim.name in captured.err
    from benchmarks.cache import read_layers
    read_layers(victim, [0])  # recomputed: readable again


# ------------------------------------------------------------------------------------------------------------------
# every user error: one line, exit status 2, no traceback
# ------------------------------------------------------------------------------------------------------------------
def _beats(tmp_path, n):
    return write_beats(tmp_path / f"beats{n}", n_tracks=n, seconds=6.0)


@pytest.mark.parametrize("case", ["one-track", "empty-split", "bad-flag", "bad-layers", "no-cuda", "bad-table",
                                  "bad-synth-set", "split-dir-original", "bad-task", "bad-train-subset"])
def test_known_user_errors_are_one_line_with_status_2(tmp_path, capsys, monkeypatch, case):
    c = ["--cache-dir", str(tmp_path / "c"), "--results-dir", str(tmp_path / "r")]
    if case == "one-track":
        args = ["run", "--model", "mel", "--task", "beats", "--data-dir", str(_beats(tmp_path, 1)), *c]
        words = ["too few"]
    elif case == "empty-split":
        root = _beats(tmp_path, 4)
        (root / "splits.tsv").write_text("".join(f"track{i:02d}\ttrain\n" for i in range(4)))
        args = ["run", "--model", "mel", "--task", "beats", "--data-dir", str(root), *c]
        words = ["no usable examples", "valid"]
    elif case == "bad-flag":
        args, words = ["run", "--model", "mel", "--task", "beats", "--frobnicate", "3"], ["--frobnicate"]
    elif case == "bad-layers":
        args = ["run", "--model", "mel", "--task", "synth-nsynth-pitch", "--layers", "3", *c]
        words = ["layer 3 is out of range"]
    elif case == "no-cuda":
        import torch
        if torch.cuda.is_available():
            pytest.skip("a CUDA device is available here")
        args, words = ["run", "--model", "mel", "--task", "synth-nsynth-pitch", "--device", "cuda", *c], ["CUDA"]
    elif case == "bad-table":
        args, words = ["table", "--tables", "nope", "--results-dir", str(tmp_path)], ["unknown table 'nope'"]
    elif case == "bad-synth-set":
        args, words = ["data", "synth", "--sets", "nope", "--out", str(tmp_path)], ["unknown synth set"]
    elif case == "split-dir-original":
        args = ["run", "--model", "mel", "--task", "mtat", "--data-dir", str(tmp_path), "--split", "original",
                "--split-dir", str(tmp_path), *c]
        words = ["--split-dir"]
    elif case == "bad-task":
        args, words = ["run", "--model", "mel", "--task", "nope", *c], ["unknown task"]
    else:
        root = write_nsynth(tmp_path / "ns", pitches=range(48, 50))
        args = ["run", "--model", "mel", "--task", "nsynth-pitch", "--data-dir", str(root), "--train-subset", "-3",
                *c]
        words = ["--train-subset"]
    monkeypatch.setenv("OMAR_BENCH_SYNTH_CONFIG", str(_tiny_synth(tmp_path)))
    try:  # in-process: an uncaught exception (a traceback) fails the test
        rc = cli(args + (["--quiet"] if args[0] == "run" else []))
    except SystemExit as e:  # argparse
        rc = e.code
    err = capsys.readouterr().err
    assert rc == 2, (rc, err[-2000:])
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    for w in words:
        assert w in lines[0], (w, lines[0])


def _tiny_synth(tmp_path: Path) -> Path:
    p = tmp_path / "synth.toml"
    p.write_text(TINY_SYNTH)
    return p


# ------------------------------------------------------------------------------------------------------------------
# the "all results" table
# ------------------------------------------------------------------------------------------------------------------
def _rec(model, task, layer, val, metric_value, metric="accuracy", std=None, lower=False):
    return {"model": model, "task": task, "layer": layer, "probe": "grid", "seed": 0,
            "metrics": {metric: metric_value}, "metrics_std": {metric: std} if std is not None else {},
            "validation": {"metric": metric, "value": val, "lower_is_better": lower},
            "primary_metric": {"name": metric, "lower_is_better": lower}}


def test_all_results_table_has_every_model_and_task_with_records(tmp_path, capsys):
    results = tmp_path / "results"
    for r in [_rec("mel", "nsynth-pitch", 0, 0.5, 0.61, std=0.02),
              _rec("my-model", "nsynth-pitch", 3, 0.7, 0.70), _rec("my-model", "nsynth-pitch", 5, 0.8, 0.65),
              _rec("random-base", "mtat", 2, 0.3, 0.41, metric="pr_auc_macro"),
              _rec("my-model", "my-own-task", 1, 2.0, 1.9, metric="mse_macro", lower=True),
              _rec("my-model", "my-own-task", 4, 1.5, 1.7, metric="mse_macro", lower=True)]:
        write_record(results, r)
    for fmt in ("md", "latex", "csv"):
        assert cli(["table", "--tables", "all", "--format", fmt, "--results-dir", str(results)]) == 0
        out = capsys.readouterr().out
        assert "my-model" in out and "random-base" in out and "my-own-task" in out
    import csv
    import io

    cell = {(r["model"], r["task"]): r for r in csv.DictReader(io.StringIO(out)) if r.get("model")}
    get = lambda row, k: row[k]  # noqa: E731
    assert float(get(cell[("my-model", "nsynth-pitch")], "measured")) == 0.65   # best validation, not best test
    assert get(cell[("my-model", "nsynth-pitch")], "layer") == "5"
    assert float(get(cell[("my-model", "my-own-task")], "measured")) == 1.7    # lower validation MSE wins
    assert get(cell[("my-model", "my-own-task")], "layer") == "4"
    assert get(cell[("my-model", "my-own-task")], "lower_is_better") == "True"
    assert float(get(cell[("mel", "nsynth-pitch")], "measured_std")) == 0.02
    assert cli(["table", "--tables", "all", "--results-dir", str(results)]) == 0
    md = capsys.readouterr().out
    assert "0.610 ± 0.020" in md and "my-own-task ↓" in md
    assert cli(["table", "--results-dir", str(results), "--plots", str(tmp_path / "plots")]) == 0
    assert "All results" in capsys.readouterr().out
    assert (tmp_path / "plots" / "bars-my-own-task.png").is_file()


# ------------------------------------------------------------------------------------------------------------------
# pretraining: the tiny config finds the synthesised audio by itself
# ------------------------------------------------------------------------------------------------------------------
def test_tiny_pretraining_config_uses_the_synthesised_audio(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("OMAR_BENCH_SYNTH_CONFIG", str(_tiny_synth(tmp_path)))
    out = tmp_path / "run"
    rc = cli(["pretrain", "--config", "cfg/pretrain/tiny.gin", "--max-steps", "2", "--output", str(out),
              "--cache-dir", str(tmp_path / "cache"), "--val-fraction", "0", "--checkpoint-every", "1"])
    err = capsys.readouterr().err
    assert rc == 0, err
    assert "synthesised offline audio" in err
    assert (out / "model.ckpt").is_file() and (tmp_path / "cache" / "synth" / "nsynth").is_dir()
    train_list = (tmp_path / "cache" / "models" / "pretrain-train.txt").read_text().split()
    assert train_list and not any("nsynth-test" in f for f in train_list)


def test_the_library_entry_point_says_how_to_get_the_synthesised_audio(tmp_path, capsys):
    from omar_rq.train.trainer import main

    assert main(["--config", str(ROOT / "cfg/pretrain/tiny.gin"), "--output", str(tmp_path / "x")]) == 2
    assert "omar-bench pretrain" in capsys.readouterr().err
