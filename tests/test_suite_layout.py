"""The test suite's own layout: the folders mirroring the packages never shadow them, each test file there is named
after a module that exists, test files never import one another (shared helpers live in helpers.py, layouts.py or
conftest.py), and no file under tests/ refers to the tracker's numbers instead of saying what it tests."""
from __future__ import annotations

import ast
import importlib
import re
from pathlib import Path

import pytest

from helpers import ROOT

TESTS = ROOT / "tests"
PACKAGES = ("omar_rq", "probes", "benchmarks")
TRACKER_NUMBER = re.compile(r"(?i)\bissue\s*#?\d+")


def _test_files() -> list[Path]:
    return sorted(TESTS.rglob("test_*.py"))


@pytest.mark.parametrize("package", PACKAGES)
def test_the_mirror_folders_never_shadow_the_packages(package):
    module = importlib.import_module(package)
    assert Path(module.__file__).resolve() == ROOT / package / "__init__.py", module.__file__
    assert not list((TESTS / package).rglob("__init__.py")), "an __init__.py would make the mirror a package"


def test_each_mirrored_test_file_names_a_module_of_its_package():
    orphans = []
    for f in _test_files():
        rel = f.relative_to(TESTS)
        if rel.parts[0] not in PACKAGES:
            continue
        stem = rel.parent / rel.name.removeprefix("test_").removesuffix(".py")
        if not ((ROOT / stem).with_suffix(".py").is_file() or (ROOT / stem / "__init__.py").is_file()):
            orphans.append(str(rel))
    assert not orphans, f"test files named after no module: {orphans}"


def imported_test_files(path: Path) -> list[str]:
    """The ``test_*`` modules that ``path`` imports (at any depth of its code)."""
    names = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
            names.append(node.module)
    return [n for n in names if n.split(".")[-1].startswith("test_") or n.startswith("test_")]


def test_no_test_file_imports_another():
    offenders = {str(f.relative_to(TESTS)): imported_test_files(f) for f in _test_files()}
    assert not {k: v for k, v in offenders.items() if v}


def test_the_import_scan_sees_an_import_of_a_test_file(tmp_path):
    planted = tmp_path / "test_x.py"
    planted.write_text("import os\n\ndef test_a():\n    from test_probes import clusters\n")
    assert imported_test_files(planted) == ["test_probes"]


def test_no_file_under_tests_names_a_tracker_number():
    found = []
    for f in sorted(p for p in TESTS.rglob("*") if p.is_file() and "__pycache__" not in p.parts):
        text = f.read_text(encoding="utf-8", errors="replace")
        found += [f"{f.relative_to(TESTS)}:{text.count(chr(10), 0, m.start()) + 1}: {m.group(0)}"
                  for m in TRACKER_NUMBER.finditer(text)]
    assert not found, found


WORD = "Is" + "sue"     # spelt in two pieces so that this file does not match its own pattern


@pytest.mark.parametrize("text, hit", [(WORD + " 6: masks", True), ("see " + WORD.lower() + " #12", True),
                                       (WORD.upper() + "20", True), (WORD.lower() + "s of the day", False),
                                       ("t" + WORD.lower() + " 3", False), (WORD + " tracker", False)])
def test_the_tracker_number_pattern(text, hit):
    assert bool(TRACKER_NUMBER.search(text)) is hit
