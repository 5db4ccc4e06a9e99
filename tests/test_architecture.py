"""The house rules that the code's structure must keep: inference never imports training, and the import graph of
``omar_rq``, ``probes`` and ``benchmarks`` has no cycle (imports inside functions count too: a lazy import that
closes a circle is still a circle)."""
from __future__ import annotations

import ast
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from helpers import ROOT

PACKAGES = ("omar_rq", "probes", "benchmarks")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for pkg in PACKAGES for p in sorted((ROOT / pkg).rglob("*.py"))}


def _resolve(current: str, is_package: bool, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    base = current.split(".") if is_package else current.split(".")[:-1]
    base = base[: len(base) - (node.level - 1)] if node.level > 1 else base
    return ".".join(base + ([node.module] if node.module else []))


def import_graph() -> dict[str, set[str]]:
    """Module → the project modules it imports (``from pkg import name`` counts as importing ``pkg.name`` when that
    is a module, else ``pkg``)."""
    mods = _modules()
    graph: dict[str, set[str]] = {m: set() for m in mods}
    for mod, path in mods.items():
        tree = ast.parse(path.read_text(), str(path))
        is_package = path.name == "__init__.py"
        for node in ast.walk(tree):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = _resolve(mod, is_package, node)
                targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in mods else base for a in node.names]
            for t in targets:
                while t and t not in mods:  # `import a.b.c` of a name inside a module
                    t = t.rpartition(".")[0]
                if t and t != mod:
                    graph[mod].add(t)
    return graph


def find_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan), each sorted."""
    index, low, stack, on_stack, out = {}, {}, [], set(), []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    sys.setrecursionlimit(max(10000, sys.getrecursionlimit()))
    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_the_cycle_finder_finds_a_planted_cycle():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert find_cycles(graph) == [["a", "b", "c"]]
    assert find_cycles({"a": {"b"}, "b": set()}) == []


def test_the_import_graph_sees_lazy_imports():
    graph = import_graph()
    # the pretrain command imports the pretraining entry point inside a function
    assert "omar_rq.train.trainer" in graph["benchmarks.commands"]
    assert "omar_rq.checkpoint" in graph["omar_rq.model"]


def test_no_import_cycles():
    cycles = find_cycles(import_graph())
    assert not cycles, "import cycles: " + "; ".join(" <-> ".join(c) for c in cycles)


def test_inference_imports_neither_lightning_nor_training(tmp_path):
    """``import omar_rq; get_model(...)`` on a released-format folder, then embeddings, in a fresh interpreter."""
    code = textwrap.dedent(f"""
        import sys, torch
        sys.path.insert(0, {str(ROOT)!r})
        import omar_rq
        from omar_rq.config import parse_model_config
        from omar_rq.model import OmarRQ
        folder = __import__("pathlib").Path({str(tmp_path)!r})
        text = open({str(ROOT / "cfg" / "models" / "tiny.gin")!r}).read()
        (folder / "config.gin").write_text(text + '\\nbuild_module.ckpt_path = "model.ckpt"\\n')
        model = omar_rq.get_model(config_file=folder / "config.gin", load_weights=False)
        torch.save(model.encoder_state_dict(), folder / "model.ckpt")
        model = omar_rq.get_model(config_file=folder)
        emb = model.extract_embeddings(torch.randn(1, model.sr), layers=[-1])
        assert emb.ndim == 4 and emb.shape[0] == 1, emb.shape
        heavy = sorted(m for m in sys.modules if m.split(".")[0] in ("lightning", "pytorch_lightning")
                       or m.startswith("omar_rq.train"))
        print("LOADED:" + ",".join(heavy))
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    loaded = out.stdout.strip().splitlines()[-1]
    assert loaded == "LOADED:", f"inference imported training modules: {loaded}"


def test_released_gin_names_parse_and_the_training_class_builds_through_them():
    from omar_rq.config import parsed_config, wrapper

    with parsed_config(ROOT / "cfg" / "pretrain" / "tiny.gin"):
        proxy = wrapper("modules.maskingmodel.MaskingModel")
        assert proxy is not None
    from omar_rq.train import build_pretraining_module
    from omar_rq.train.maskingmodel import MaskingModel

    module, info = build_pretraining_module(ROOT / "cfg" / "pretrain" / "tiny.gin")
    assert isinstance(module, MaskingModel) and info.input_view == "nets.melspectrogram.MelSpectrogram"


def test_every_user_error_is_one_line_with_status_2_and_other_errors_are_not_swallowed(monkeypatch, capsys):
    """The CLI catches the one base class, :class:`omar_rq.errors.UserError`, whatever layer raised it."""
    from benchmarks import cli
    from benchmarks.commands import COMMANDS
    from omar_rq.audio import AudioLoadError
    from omar_rq.errors import UserError

    def fail(args):
        raise AudioLoadError("x.wav", "truncated: the file holds 1.0 s of the 2.0 s its header declares")

    monkeypatch.setitem(COMMANDS, "models", fail)
    assert cli.main(["models"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("omar-bench models: error: ") and "x.wav" in err[0]
    assert issubclass(AudioLoadError, UserError)

    def bug(args):
        raise ZeroDivisionError("a bug, not a user error")

    monkeypatch.setitem(COMMANDS, "models", bug)
    with pytest.raises(ZeroDivisionError):
        cli.main(["models"])
