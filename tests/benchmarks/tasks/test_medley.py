"""medley-solos and synth-medley-solos end to end through the CLI: the synthesised set (well above chance with mel),
and a generated tree in the real layout with its pitfalls (metadata in annotation/ with CRLF and space-padded
values, the audio in another folder, a corrupt clip skipped and listed)."""
from __future__ import annotations

import shutil

from helpers import run_json
from benchmarks.records import load_records
from benchmarks.datasets.medley_solos import METADATA
from benchmarks.synth import medley as synth_medley

def test_synth_medley_solos_well_above_chance(tmp_path, capsys):
    out = run_json(capsys, tmp_path, "--task", "synth-medley-solos")
    assert out["metrics"]["accuracy"] >= 0.5, out["metrics"]       # 8 instruments: chance 0.125
    rec = load_records(tmp_path / "r")[0]
    assert rec["dataset"]["split"] == "official" and rec["protocol"]["probe_kind"] == "multiclass"


def test_medley_solos_on_the_real_layout_with_its_pitfalls(tmp_path, capsys):
    src = tmp_path / "src"
    synth_medley.render(src, {})
    root = tmp_path / "medley"
    shutil.copytree(src / "audio", root / "Medley-solos-DB")
    (root / "annotation").mkdir()
    lines = (src / METADATA).read_text().splitlines()
    padded = [", ".join(f" {v.strip()} " for v in line.split(",")) for line in lines]
    (root / "annotation" / METADATA).write_bytes(("\r\n".join(padded) + "\r\n").encode())
    bad = sorted((root / "Medley-solos-DB").glob("*training*.wav"))[0]
    bad.write_bytes(b"RIFF\x00\x00")
    out = run_json(capsys, tmp_path, "--task", "medley-solos", "--data-dir", str(root))
    assert out["metrics"]["accuracy"] >= 0.5, out["metrics"]
    rec = load_records(tmp_path / "r")[0]
    assert [s["id"] for s in rec["dataset"]["skipped_files"]] == [bad.stem.rsplit("_", 1)[1]]
    assert rec["dataset"]["info"]["metadata"] == f"annotation/{METADATA}"
