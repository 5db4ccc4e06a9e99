"""`omar-bench reproduce` fills the offline table (mel + a small OMAR-RQ model) and a second call does no
work; `omar-bench table` shows measured cells and writes the plots."""
from __future__ import annotations


import pytest

from benchmarks.cli import main as cli
from benchmarks.records import load_records
from benchmarks.registry import default_registry
from benchmarks.reproduce import table_cells
from benchmarks.tasks import synth_tasks
from helpers import FIXTURES

TINY_SYNTH = """
[nsynth]
max_instruments_per_family = 3
notes_per_instrument = 2
[beats]
n_chorales = 3
n_grooves = 3
clip_seconds = 10.0
[mtat]
n_clips = 24
n_untagged = 1
[chords]
n_tracks = 10
clip_seconds = 8.0
[structure]
n_songs = 8
[difficulty]
pieces_per_grade = 3
clip_seconds = 4.0
[key]
train_per_key = 1
test_per_key = 1
clip_seconds = 3.0
[gtzan]
clip_seconds = 2.0
train_per_genre = 2
valid_per_genre = 1
test_per_genre = 1
unlisted_per_genre = 0
[emomusic]
clip_seconds = 3.0
n_development = 20
n_evaluation = 6
[jamendo]
n_clips = 40
clip_samples = 32000
[vocalset]
clip_seconds = 1.0
[medley]
clips_per_song = 1
[medley.songs_per_subset]
training = 2
validation = 1
test = 1
"""


@pytest.fixture
def tiny_suite(tmp_path, monkeypatch):
    cfg = tmp_path / "synth.toml"
    cfg.write_text(TINY_SYNTH)
    monkeypatch.setenv("OMAR_BENCH_SYNTH_CONFIG", str(cfg))
    return ["--cache-dir", str(tmp_path / "cache"), "--results-dir", str(tmp_path / "results")]


def test_reproduce_offline_fills_the_table_and_resumes(tmp_path, capsys, tiny_suite):
    args = ["reproduce", "--table", "offline", "--models", "mel,random-tiny", "--probe", "linear", "--quiet",
            "--max-epochs", "20",
            "--plots", str(tmp_path / "plots"), *tiny_suite]
    assert cli(args) == 0
    captured = capsys.readouterr()
    n_cells = 2 * len(synth_tasks())     # every synth task of the registry, for two models
    assert f"{n_cells} cells run, 0 already recorded, 0 failed" in captured.err
    rows = {line.split("|")[1].strip(): line for line in captured.out.splitlines() if line.startswith("| ")}
    for model in ("mel", "random-tiny"):
        cells = [c.strip() for c in rows[model].split("|")[2:-1]]
        assert cells and "—" not in cells, rows[model]  # every synth task measured
    n_records = len(load_records(tmp_path / "results"))
    assert n_records == n_cells
    pngs = sorted((tmp_path / "plots").glob("*.png"))
    assert pngs and all(p.stat().st_size > 1000 for p in pngs)

    assert cli(args) == 0  # second call: nothing to do
    err = capsys.readouterr().err
    assert f"0 cells run, {n_cells} already recorded, 0 failed" in err
    assert len(load_records(tmp_path / "results")) == n_records


def test_reproduce_reports_cells_it_cannot_run_and_goes_on(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("OMAR_BENCH_CHECKPOINTS", raising=False)
    monkeypatch.delenv("OMAR_BENCH_DATA", raising=False)
    rc = cli(["reproduce", "--table", "freesound", "--quiet", "--results-dir", str(tmp_path / "r"),
              "--cache-dir", str(tmp_path / "c")])
    captured = capsys.readouterr()
    assert rc == 1 and "0 cells run, 0 already recorded, 4 failed" in captured.err
    assert "OMAR_BENCH_CHECKPOINTS" in captured.err
    assert "| f0 " in captured.out and "0.440" in captured.out  # the table is still printed with its references


def test_table_cells_follow_each_tables_layer_policy(monkeypatch):
    monkeypatch.delenv("OMAR_BENCH_CHECKPOINTS", raising=False)
    assert {c.layers[0] for c in table_cells("multiview", models=["random-base", "random-tiny"])} == {6, 3}
    unreachable = table_cells("multiview", models=["s8"])  # no checkpoint root: the cells fail, saying how to set it
    assert all(c.status == "failed" and "--checkpoint-root" in c.detail for c in unreachable)
    assert table_cells("released", models=["base"])[0].layers == list(range(24))
    assert table_cells("offline", models=["mel", "random-tiny"])[1].layers == [0]
    assert table_cells("offline", models=["random-tiny"])[0].layers == [3]
    assert table_cells("offline", models=["random-tiny"], layers="all")[0].layers == [0, 1, 2, 3]


def test_reproduce_released_fills_all_six_columns(tmp_path, capsys, monkeypatch, tiny_suite):
    """The released-models table end to end: `base` from a Hugging Face cache (the small released-format fixture in
    the hub layout) and small sets in the six tasks' real layouts (the synthesised ones, under each task's folder)."""
    from benchmarks.synth import synthesize

    fixture = FIXTURES / "base"
    if not fixture.is_dir():
        pytest.skip(f"../shared is absent ({fixture} not found): the released-format fixture is needed")
    snap = tmp_path / "hub" / "models--mtg-upf--omar-rq-base" / "snapshots" / "0123abcd"
    snap.mkdir(parents=True)
    for name in ("config.gin", "model.ckpt"):
        (snap / name).symlink_to(fixture / name)
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    synth = synthesize(tmp_path / "synth", sets=("mtat", "nsynth", "beats", "chords", "structure", "difficulty"),
                       progress=False)
    root = tmp_path / "data"
    root.mkdir()
    for folder, name in {"mtat": "mtat", "nsynth": "nsynth", "beats": "beats", "chords": "chords",
                         "harmonix": "structure", "pianosyllabus": "difficulty"}.items():
        (root / folder).symlink_to(synth[name])
    args = ["reproduce", "--table", "released", "--models", "base", "--probe", "linear", "--quiet",
            "--max-epochs", "10", "--data-root", str(root), *tiny_suite]
    assert cli(args) == 0
    captured = capsys.readouterr()
    rows = {line.split("|")[1].strip(): line for line in captured.out.splitlines() if line.startswith("| ")}
    cells = [c.strip() for c in rows["base"].split("|")[2:-1]]
    measured = [c for c in cells if c and c[0].isdigit()]
    assert "not run" not in rows["base"] and len(measured) >= 6, rows["base"]
    records = load_records(tmp_path / "results")
    assert {r["task"] for r in records} == {"mtat", "difficulty", "nsynth-pitch", "chords", "beats", "structure"}
    assert cli(args) == 0 and "0 cells run" in capsys.readouterr().err  # resumable: nothing left to do


# ``omar-bench reproduce --table marble``: every cell of the MARBLE-protocol table is listed, the cells with data
# run (here `mel` on a GTZAN-layout set), the others fail with their reason, and the table prints the third-party
# references beside our cells with the caveat that their layer was chosen on the test set.
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
