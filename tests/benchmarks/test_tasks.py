"""What the task registry derives: task kinds and validation metrics agree, task-declared options (and their CLI
flags), the synthesised sets and their configuration (module DEFAULTS, cfg/synth.toml overrides), the offline
table's columns."""
from __future__ import annotations

import sys
import types
from pathlib import Path

import pytest

import benchmarks.tasks as tasks_pkg
from benchmarks.errors import UsageError
from benchmarks.extract import Frontend
from benchmarks.tasks import all_tasks, get_task
from benchmarks.tasks.base import ClipTask, Metric, Prepared, Task
from probes.kinds import ProbeKind, get_kind


# ------------------------------------------------------------------------------------------------------------------
# tasks and kinds
# ------------------------------------------------------------------------------------------------------------------
def test_every_task_names_a_kind_and_default_metrics_agree():
    for name, task in all_tasks().items():
        assert isinstance(task.kind, ProbeKind) and get_kind(task.kind.name) is task.kind, name
        if type(task).val_metric is Task.val_metric:   # validated by the kind's default metric
            assert task.validation.key == task.kind.validation, name
            assert task.validation.lower_is_better == task.kind.validation_lower_is_better, name
    assert get_task("difficulty").kind.name == "ordinal"
    assert get_task("mtat").kind.name == "multilabel" and get_task("beats").kind.name == "framewise"


def test_a_kind_name_resolves_on_construction():
    t = ClipTask(name="t", description="", layout="", data_subdir="t", frontend=Frontend("clip", 4.0),
                 kind="regression", primary=Metric("r2"), validation=Metric("r2"))
    assert t.kind is get_kind("regression")
    assert t.protocol(Prepared(t, None))["probe_kind"] == "regression"   # the record states the kind's name
    with pytest.raises(ValueError, match="unknown probe kind 'regresion'"):
        ClipTask(name="t", description="", layout="", data_subdir="t", frontend=Frontend("clip", 4.0),
                 kind="regresion", primary=Metric("r2"), validation=Metric("r2"))


# ------------------------------------------------------------------------------------------------------------------
# options belong to tasks
# ------------------------------------------------------------------------------------------------------------------
def test_task_options_are_declared_and_checked():
    ns, mtat, beats = get_task("nsynth-pitch"), get_task("mtat"), get_task("beats")
    assert [o.flag for o in ns.load_options] == ["--train-subset"]
    assert [o.flag for o in mtat.load_options] == ["--split", "--split-dir"]
    assert beats.load_options == ()
    assert ns.parse_options({"train_subset": "60", "split": None}) == {"train_subset": 60}
    with pytest.raises(UsageError, match=r"task mtat does not take --train-subset \(it takes --split, --split-dir\)"):
        mtat.parse_options({"train_subset": 60})
    with pytest.raises(UsageError, match="task beats does not take --split .it takes no options"):
        beats.parse_options({"split": "clean"})
    with pytest.raises(UsageError, match="--split 'nope'"):
        mtat.parse_options({"split": "nope"})
    with pytest.raises(UsageError, match="--train-subset 'many': expected int"):
        ns.parse_options({"train_subset": "many"})


def test_cli_parses_a_tasks_own_flags(capsys):
    from benchmarks.cli import main, task_options

    assert task_options("nsynth-pitch", ["--train-subset", "60"]) == {"train_subset": 60}
    assert task_options("mtat", ["--split=original"]) == {"split": "original"}
    assert task_options("beats", []) == {}
    with pytest.raises(SystemExit) as e:
        task_options("beats", ["--train-subset", "60"])
    assert e.value.code == 2
    assert "unrecognized arguments: --train-subset 60 (task beats takes no options of its own)" in \
        capsys.readouterr().err
    with pytest.raises(SystemExit):                 # only `run` takes a task's flags
        main(["tasks", "--train-subset", "3"])
    assert main(["tasks", "--data-root", "/nonexistent"]) == 0
    out = capsys.readouterr().out
    assert "option --train-subset" in out and "option --split {clean,original}" in out


# ------------------------------------------------------------------------------------------------------------------
# synthesised sets, their configuration and the offline table: derived from the registry
# ------------------------------------------------------------------------------------------------------------------
def test_synth_config_is_the_modules_defaults_overridden_by_the_toml(tmp_path):
    import importlib

    from benchmarks.synth import SYNTH_SETS, load_config

    cfg = load_config()
    assert tuple(cfg) == SYNTH_SETS
    for name in SYNTH_SETS:
        mod = importlib.import_module(f"benchmarks.synth.{name}")
        assert callable(mod.n_items) and callable(mod.render), name
        assert cfg[name] == mod.DEFAULTS, name        # cfg/synth.toml ships without overrides
    over = tmp_path / "o.toml"
    over.write_text("[mtat]\nn_clips = 5\n")
    again = load_config(over)
    assert again["mtat"]["n_clips"] == 5 and again["mtat"]["seed"] == cfg["mtat"]["seed"]
    assert again["nsynth"] == cfg["nsynth"]


def test_adding_a_synth_set_is_a_module_plus_a_task(tmp_path, monkeypatch):
    """A set that no list names: its module (DEFAULTS, n_items, render) and a task naming it are enough for the
    synth sets, their configuration, rendering and the offline table."""
    from benchmarks import synth
    from benchmarks.leaderboard import TABLES

    mod = types.ModuleType("benchmarks.synth.zz_fake")
    mod.DEFAULTS = {"seed": 1, "n_files": 2}
    mod.n_items = lambda cfg: cfg["n_files"]

    def render(out, cfg, tick=lambda n=1: None):
        for i in range(cfg["n_files"]):
            (Path(out) / f"f{i}.txt").write_text(str(cfg["seed"]))
            tick(1)

    mod.render = render
    monkeypatch.setitem(sys.modules, "benchmarks.synth.zz_fake", mod)
    fake = ClipTask(name="synth-zz", description="", layout="", data_subdir="zz", frontend=Frontend("clip", 4.0),
                    kind="regression", primary=Metric("r2", "R²"), validation=Metric("r2"), synth_set="zz_fake")
    registry = {**all_tasks(), fake.name: fake}
    monkeypatch.setattr(tasks_pkg, "all_tasks", lambda: registry)

    assert synth.SYNTH_SETS[-1] == "zz_fake"
    assert synth.load_config()["zz_fake"] == {"seed": 1, "n_files": 2}
    out = synth.synthesize(tmp_path, sets=["zz_fake"], config={"zz_fake": {"n_files": 3}}, progress=False)
    assert sorted(p.name for p in out["zz_fake"].iterdir()) == [".complete", "f0.txt", "f1.txt", "f2.txt"]
    columns = [c.task for c in TABLES["offline"].columns]
    assert columns[-1] == "synth-zz" and TABLES["offline"].columns[-1].metric == "r2"
    assert columns == [n for n, t in registry.items() if t.synth_set]


# ------------------------------------------------------------------------------------------------------------------
# GTZAN discovery (shared by the beat reader and the genre reader)
# ------------------------------------------------------------------------------------------------------------------
