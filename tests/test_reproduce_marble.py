"""``omar-bench reproduce --table marble``: every cell of the MARBLE-protocol table is listed, the cells with data
run (here `mel` on a GTZAN-layout set), the others fail with their reason, and the table prints the third-party
references beside the released models' cells with the caveat that their layer was chosen on the test set."""
from __future__ import annotations

from benchmarks.cli import main as cli
from benchmarks.records import load_records
from benchmarks.registry import default_registry
from benchmarks.reproduce import table_cells


def test_marble_cells_come_from_its_reference_numbers():
    pairs = default_registry().table_columns("marble")
    assert ("emomusic", "arousal_r2") in pairs and ("beats-gtzan", "f_measure_pooled") in pairs
    assert len(pairs) == 21                                   # every (task, metric) of spec §12
    cells = table_cells("marble", models=["mel"])
    assert [c.task for c in cells] == list(dict.fromkeys(t for t, _ in pairs))   # each task once
    assert default_registry().table_members("marble") == ["base", "multifeature-25hz", "multifeature-25hz-fsq"]


def test_reproduce_marble_runs_what_has_data_and_prints_references(tmp_path, capsys):
    from benchmarks.synth import gtzan, load_config

    cfg = load_config({"gtzan": {"clip_seconds": 2.0, "train_per_genre": 2, "valid_per_genre": 1,
                                 "test_per_genre": 1, "unlisted_per_genre": 0}})["gtzan"]
    gtzan.render(tmp_path / "data" / "gtzan", cfg, tick=lambda *a: None)
    rc = cli(["reproduce", "--table", "marble", "--models", "mel", "--data-root", str(tmp_path / "data"),
              "--results-dir", str(tmp_path / "r"), "--cache-dir", str(tmp_path / "c"), "--probe", "linear",
              "--max-epochs", "3", "--quiet"])
    out, err = capsys.readouterr()
    assert rc == 1                                            # the cells without data failed
    assert "marble: 1 cells run, 0 already recorded, 12 failed" in err
    assert "failed: mel × emomusic:" in err and "failed: mel × mtg-top50:" in err
    recs = load_records(tmp_path / "r")
    assert [(r["model"], r["task"]) for r in recs] == [("mel", "gtzan-genre")]
    assert 0.0 <= recs[0]["metrics"]["accuracy"] <= 1.0 and recs[0]["protocol"]["split"]
    assert not any(line.startswith("| mel ") for line in out.splitlines())   # rows: the models of the references
    base = next(line for line in out.splitlines() if line.startswith("| base "))
    assert "0.810" in base and "0.660" in base                # GTZAN and EmoMusic references of base
    assert "chosen as the best on the TEST set" in out
