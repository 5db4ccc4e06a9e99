"""emomusic and synth-emomusic end to end through the CLI: the synthesised set (R² well above 0 with mel), and a
generated tree in the real layout with EmoMusic's pitfalls (CRLF and space-padded CSVs, min.sec times, unpadded
file names, the CSVs in annotations/, a corrupt clip skipped and listed)."""
from __future__ import annotations


import numpy as np
import pytest

from helpers import run_json
from benchmarks.datasets import load_emomusic
from benchmarks.records import load_records
from benchmarks.synth import emomusic as synth_emo

def test_synth_emomusic_well_above_chance(tmp_path, capsys):
    out = run_json(capsys, tmp_path, "--task", "synth-emomusic")
    m = out["metrics"]
    assert m["r2"] >= 0.3 and m["arousal_r2"] >= 0.3, m        # a constant prediction scores <= 0
    assert m["r2"] == pytest.approx((m["arousal_r2"] + m["valence_r2"]) / 2)
    rec = load_records(tmp_path / "r")[0]
    assert rec["protocol"]["probe_kind"] == "regression" and rec["validation"]["metric"] == "r2"
    assert len(rec["dataset"]["info"]["target_mean"]) == 2


def test_emomusic_on_the_real_layout_with_its_pitfalls(tmp_path, capsys):
    root = tmp_path / "emo"
    synth_emo.render(root, {"clip_seconds": 4.0, "n_development": 40, "n_evaluation": 10})
    (root / "annotations").mkdir()
    for name in ("songs_info.csv", "static_annotations.csv"):
        text = (root / name).read_text()
        (root / name).unlink()
        (root / "annotations" / name).write_bytes(text.replace("\n", "\r\n").encode())
    index = load_emomusic(root)
    victim = index.split("train")[0]
    victim.audio_path.write_bytes(b"ID3\x00not an mp3 at all" * 10)
    out = run_json(capsys, tmp_path, "--task", "emomusic", "--data-dir", str(root))
    assert out["metrics"]["r2"] >= 0.2, out["metrics"]
    rec = load_records(tmp_path / "r")[0]
    assert [s["id"] for s in rec["dataset"]["skipped_files"]] == [victim.id]
    assert rec["dataset"]["n_examples"]["test"] == 10
    train = [e for e in index.split("train")]
    y = np.array([[e.target["arousal"], e.target["valence"]] for e in train])
    assert rec["dataset"]["info"]["target_mean"] == pytest.approx(list(y.mean(axis=0)))   # train-only statistics
    assert "z-scored" in rec["protocol"]["targets"]
