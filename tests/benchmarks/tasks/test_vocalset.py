"""vocalset-singer, vocalset-technique and their synth- twins end to end through the CLI: the synthesised set (well
above chance with mel), and a generated tree in the real layout with VocalSet's pitfalls (the archive's
VocalSet/FULL/ folder, a misnamed file, a misspelt technique folder, a name without the singer prefix and with a
space, a duplicate file, a corrupt file skipped and listed)."""
from __future__ import annotations

import shutil

from helpers import run_json
from benchmarks.records import load_records
from benchmarks.synth import vocalset as synth_vocalset

def test_synth_vocalset_tasks_well_above_chance(tmp_path, capsys):
    singer = run_json(capsys, tmp_path, "--task", "synth-vocalset-singer")["metrics"]
    technique = run_json(capsys, tmp_path, "--task", "synth-vocalset-technique")["metrics"]
    assert singer["accuracy"] >= 0.4, singer            # 20 singers: chance 0.05
    assert technique["accuracy"] >= 0.3, technique      # 10 techniques: chance 0.1 (measured 0.42)
    rec = {r["task"]: r for r in load_records(tmp_path / "r")}["synth-vocalset-technique"]
    assert rec["dataset"]["split"] == "marble-technique" and rec["protocol"]["frontend"]["chunk_seconds"] == 3.0


def test_vocalset_on_the_real_layout_with_its_pitfalls(tmp_path, capsys):
    src = tmp_path / "src"
    synth_vocalset.render(src, {"clip_seconds": 7.0})     # three slices per file: two of 3 s, one of 1 s
    root = tmp_path / "vocalset"
    shutil.copytree(src / "FULL", root / "VocalSet" / "FULL")
    bad = sorted((root / "VocalSet" / "FULL" / "male4").rglob("*.wav"))[0]
    bad.write_bytes(bad.read_bytes()[:2000])               # a WAV whose data stops early
    out = run_json(capsys, tmp_path, "--task", "vocalset-singer", "--data-dir", str(root))
    assert out["metrics"]["accuracy"] >= 0.4, out["metrics"]
    rec = load_records(tmp_path / "r")[0]
    info = rec["dataset"]["info"]
    assert info["full_dir"] == "VocalSet/FULL"
    assert len(info["misnamed"]) >= 2 and info["technique_folder_aliases"] == {"vibrado": "vibrato"}
    assert len(info["duplicates"]) == 1 and rec["protocol"]["n_duplicates"] == 1
    assert [s["id"] for s in rec["dataset"]["skipped_files"]] == [bad.relative_to(root / "VocalSet" / "FULL")
                                                                  .as_posix()]
