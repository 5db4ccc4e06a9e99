"""gtzan-genre and synth-gtzan-genre end to end through the CLI: the synthesised set (well above chance with mel),
and a generated tree in the real layouts with GTZAN's pitfalls (Kaggle folder, unpadded names, CRLF lists under
split/, the corrupt jazz.00054 skipped and listed), on the fault-filtered split and on --split cv10."""
from __future__ import annotations

import json
import shutil

from benchmarks.cli import main as cli
from benchmarks.records import load_records
from benchmarks.synth import gtzan as synth_gtzan

FAST = ["--model", "mel", "--probe", "linear", "--max-epochs", "20", "--json", "--quiet"]


def run_json(capsys, tmp_path, *args) -> dict:
    rc = cli(["run", *FAST, "--cache-dir", str(tmp_path / "c"), "--results-dir", str(tmp_path / "r"), *args])
    captured = capsys.readouterr()
    assert rc == 0, captured.err[-3000:]
    return json.loads(captured.out.strip().splitlines()[-1])


def test_synth_gtzan_genre_well_above_chance(tmp_path, capsys):
    out = run_json(capsys, tmp_path, "--task", "synth-gtzan-genre")
    assert out["metrics"]["accuracy"] >= 0.6, out["metrics"]       # 10 genres: chance 0.1
    rec = load_records(tmp_path / "r")[0]
    assert rec["protocol"]["split"].startswith("fault-filtered") and rec["protocol"]["probe_kind"] == "multiclass"
    assert [s["id"] for s in rec["dataset"]["skipped_files"]] == ["jazz.00054"]


def _kaggle_tree(tmp_path):
    """The synthesised set rearranged as the Kaggle copy: Data/genres_original/, some names unpadded, the lists
    with CRLF endings and a blank line under split/."""
    src = tmp_path / "src"
    synth_gtzan.render(src, {"clip_seconds": 3.0, "train_per_genre": 3, "valid_per_genre": 1, "test_per_genre": 2,
                             "unlisted_per_genre": 1})
    root = tmp_path / "gtzan"
    shutil.copytree(src / "genres", root / "Data" / "genres_original")
    for p in sorted((root / "Data" / "genres_original" / "rock").glob("rock.*.wav"))[:2]:
        p.rename(p.with_name(f"rock.{int(p.name.split('.')[1])}.wav"))          # rock.7.wav
    (root / "split").mkdir()
    for name in ("train_filtered.txt", "valid_filtered.txt", "test_filtered.txt"):
        lines = (src / name).read_text().splitlines()
        (root / "split" / name).write_bytes(("\r\n".join(lines[:2] + [""] + lines[2:]) + "\r\n").encode())
    return root


def test_gtzan_genre_on_the_kaggle_layout_filtered_and_cv10(tmp_path, capsys):
    root = _kaggle_tree(tmp_path)
    out = run_json(capsys, tmp_path, "--task", "gtzan-genre", "--data-dir", str(root))
    assert out["metrics"]["accuracy"] >= 0.5, out["metrics"]
    rec = load_records(tmp_path / "r")[0]
    assert rec["protocol"]["split"].startswith("fault-filtered") and rec["protocol"]["folds"] == 1
    assert rec["dataset"]["n_examples"] == {"train": 29, "valid": 10, "test": 20}   # jazz.00054 skipped
    assert [s["id"] for s in rec["dataset"]["skipped_files"]] == ["jazz.00054"]
    info = rec["dataset"]["info"]
    assert info["known_corrupt"] == ["jazz.00054"] and info["n_unlisted"] == 10
    assert info["audio_dir"] == "Data/genres_original"

    shutil.rmtree(tmp_path / "r")
    out = run_json(capsys, tmp_path, "--task", "gtzan-genre", "--data-dir", str(root), "--split", "cv10",
                   "--seed", "3")
    rec = load_records(tmp_path / "r")[0]
    assert rec["protocol"]["split"].startswith("10-fold") and rec["protocol"]["folds"] == 10
    cv = rec["protocol"]["cross_validation"]
    assert cv["k"] == 10 and cv["seed"] == 3 and cv["stratified_by"] == "genre"
    assert len(rec["dataset"]["info"]["cv_folds"]) == 70                 # every clip of the tree, unlisted too
    assert out["metrics"]["accuracy"] >= 0.5, out["metrics"]
