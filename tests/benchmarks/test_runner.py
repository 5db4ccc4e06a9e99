"""`omar-bench run` end to end on tiny datasets in each real layout, the embedding cache, resuming an
interrupted extraction, bad audio files, and the CLI's errors."""
from __future__ import annotations

import json
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from benchmarks.cache import EmbeddingCache
from benchmarks.cli import main as cli
from benchmarks.encoders import load_encoder
from benchmarks.extract import extract
from benchmarks.records import load_records
from benchmarks.tasks import get_task
from layouts import click_track, write_beats, write_mtat, write_nsynth

from helpers import ROOT

MODELS = ["mel", "random-tiny"]  # the floor and a tiny OMAR-RQ architecture with random weights


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("data")
    beats = write_beats(root / "beats", n_tracks=10, seconds=12.0)
    (beats / "splits.tsv").write_text("".join(f"track{i:02d}\t{'test' if i < 3 else 'valid' if i < 5 else 'train'}\n"
                                              for i in range(10)))
    return {"nsynth": write_nsynth(root / "nsynth"), "mtat": write_mtat(root / "mtat"), "beats": beats}


def run_json(capsys, *args) -> dict:
    assert cli(["run", *args, "--json", "--quiet"]) == 0
    return json.loads(capsys.readouterr().out.strip().splitlines()[-1])


# chance: 12 pitches -> 0.083; 4 families -> 0.25; random tag scores -> ROC-AUC 0.5; beats: see the threshold
CASES = [("nsynth-pitch", "nsynth", "accuracy", 0.5), ("nsynth-instrument", "nsynth", "accuracy", 0.6),
         ("mtat", "mtat", "roc_auc_macro", 0.8), ("beats", "beats", "f_measure", 0.5)]
#: Scores each task reports besides its primary one (pitch: also within 88 keys and up to the octave; tagging: the
#: area under the precision-recall curve; beats: the pooled F-measure, continuity scores and the
#: same for plain peak picking).
REPORTED = {"nsynth-pitch": {"accuracy", "accuracy_88", "chroma_accuracy", "chroma_accuracy_88"},
            "nsynth-instrument": {"accuracy"}, "mtat": {"roc_auc_macro", "pr_auc_macro"},
            "beats": {"f_measure", "f_measure_pooled", "cmlt", "amlt", "peak_f_measure", "peak_f_measure_pooled"}}


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("task, layout, metric, floor", CASES, ids=[c[0] for c in CASES])
def test_run_end_to_end_scores_above_chance_and_second_run_hits_cache(tmp_path, capsys, data, model, task, layout,
                                                                       metric, floor):
    common = ["--model", model, "--task", task, "--data-dir", str(data[layout]), "--cache-dir", str(tmp_path / "c"),
              "--results-dir", str(tmp_path / "r"), "--max-epochs", "30"]
    first = run_json(capsys, *common)
    assert first["metrics"][metric] > floor, first["metrics"]
    assert REPORTED[task] <= set(first["metrics"]), (task, sorted(first["metrics"]))
    records = load_records(tmp_path / "r")
    assert len(records) == 1 and records[0]["timings"]["files_extracted"] > 0
    assert records[0]["metrics"][metric] == first["metrics"][metric]      # the record holds what was printed
    second = run_json(capsys, *common)
    rec2 = [r for r in load_records(tmp_path / "r") if r["_path"] != records[0]["_path"]][0]
    assert rec2["timings"]["files_extracted"] == 0  # everything came from the cache
    assert rec2["timings"]["files_from_cache"] == records[0]["timings"]["files_extracted"]
    assert second["metrics"] == first["metrics"]  # same embeddings, same seed -> same scores


def test_record_fields(tmp_path, capsys, data):
    out = run_json(capsys, "--model", "random-tiny", "--task", "nsynth-instrument", "--data-dir",
                   str(data["nsynth"]), "--layers", "0,3", "--probe", "linear", "--cache-dir", str(tmp_path / "c"),
                   "--results-dir", str(tmp_path / "r"), "--max-epochs", "10")
    recs = sorted(load_records(tmp_path / "r"), key=lambda r: r["layer"])
    assert [r["layer"] for r in recs] == [0, 3] and set(out["layers"]) == {"0", "3"}
    rec = recs[0]
    for key in ("model", "task", "layer", "probe", "hyperparameters", "metrics", "dataset", "seed", "versions",
                "timings", "validation", "sweep", "protocol", "model_info"):
        assert key in rec, key
    assert rec["model"] == "random-tiny" and rec["probe"] == "linear"
    assert all(p["hidden"] == 0 for p in rec["sweep"]) and len(rec["sweep"]) == 6
    assert rec["dataset"]["fingerprint"] and rec["dataset"]["split_fingerprint"] and rec["dataset"]["split"]
    assert rec["model_info"]["fingerprint"] and rec["versions"]["torch"]
    assert rec["timings"]["device"] == "cpu" and rec["timings"]["extraction_precision"] == "float32"


def test_interrupted_extraction_resumes_and_gives_identical_results(tmp_path, data):
    """A hard kill (SIGKILL) halfway through extraction: the re-run computes only the missing files, and every
    embedding equals an uninterrupted extraction's."""
    script = textwrap.dedent(f"""
        import os, signal, sys
        sys.path.insert(0, {str(ROOT)!r})
        from benchmarks.cache import EmbeddingCache
        from benchmarks.encoders import load_encoder
        from benchmarks.extract import extract
        from benchmarks.tasks import get_task
        task = get_task("nsynth-pitch")
        index = task.load({str(data["nsynth"])!r}).index
        done = []
        def kill(ex_id):
            done.append(ex_id)
            if len(done) == 50:
                os.kill(os.getpid(), signal.SIGKILL)
        extract(load_encoder("random-tiny"), index.examples, [1, 3], task.frontend,
                EmbeddingCache({str(tmp_path / "killed")!r}), batch_seconds=40, progress=False,
                on_entry_written=kill)
    """)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    task = get_task("nsynth-pitch")
    index = task.load(data["nsynth"]).index
    enc = load_encoder("random-tiny")
    resumed = extract(enc, index.examples, [1, 3], task.frontend, EmbeddingCache(tmp_path / "killed"),
                      progress=False)
    assert resumed.n_reused >= 50 and resumed.n_computed == len(index.examples) - resumed.n_reused
    assert resumed.n_computed > 0
    fresh = extract(enc, index.examples, [1, 3], task.frontend, EmbeddingCache(tmp_path / "fresh"), progress=False)
    for ex in index.examples:
        for layer in (1, 3):
            np.testing.assert_array_equal(resumed.read(ex.id, layer), fresh.read(ex.id, layer))
    leftovers = [p for p in (tmp_path / "killed").rglob("*") if p.name.startswith(".tmp-")]
    assert len(leftovers) <= 1  # at most the one file being written when killed, never read as an entry


def test_more_layers_are_added_to_existing_entries(tmp_path, data):
    task = get_task("nsynth-instrument")
    index = task.load(data["nsynth"]).index
    enc = load_encoder("random-tiny")
    cache = EmbeddingCache(tmp_path)
    a = extract(enc, index.examples[:10], [3], task.frontend, cache, progress=False)
    b = extract(enc, index.examples[:10], [1, 3], task.frontend, cache, progress=False)
    assert a.n_computed == 10 and b.n_computed == 10  # layer 1 added once per file
    c = extract(enc, index.examples[:10], [1], task.frontend, cache, progress=False)
    assert c.n_computed == 0 and c.n_reused == 10
    np.testing.assert_array_equal(a.read(index.examples[0].id, 3), b.read(index.examples[0].id, 3))


def test_bad_audio_files_are_skipped_and_listed(tmp_path, capsys):
    """A truncated mp3, an empty wav and noise named .mp3 in a dataset: the run completes and the record names them."""
    root = write_beats(tmp_path / "beats", n_tracks=12, seconds=10.0)
    rng = np.random.default_rng(1)
    x, beats = click_track(120.0, 10.0, 16000, rng)
    sf.write(root / "audio" / "trunc.mp3", x, 16000, format="MP3")
    raw = (root / "audio" / "trunc.mp3").read_bytes()
    (root / "audio" / "trunc.mp3").write_bytes(raw[: len(raw) // 3])
    sf.write(root / "audio" / "empty.wav", np.zeros(0, dtype=np.float32), 16000)
    (root / "audio" / "noise.mp3").write_bytes(rng.bytes(30000))
    for name in ("trunc", "empty", "noise"):
        (root / "annotations" / f"{name}.beats").write_text("".join(f"{b:.3f}\t1\n" for b in beats))
    out = run_json(capsys, "--model", "mel", "--task", "beats", "--data-dir", str(root), "--cache-dir",
                   str(tmp_path / "c"), "--results-dir", str(tmp_path / "r"), "--max-epochs", "5", "--probe",
                   "linear")
    skipped = {Path(s["path"]).name: s["reason"] for s in out["skipped_files"]}
    assert set(skipped) == {"trunc.mp3", "empty.wav", "noise.mp3"}
    assert "truncated" in skipped["trunc.mp3"] and "no audio" in skipped["empty.wav"]
    assert "not a decodable audio file" in skipped["noise.mp3"]
    rec = load_records(tmp_path / "r")[0]
    assert rec["dataset"]["n_skipped"] == 3
    assert {Path(s["path"]).name for s in rec["dataset"]["skipped_files"]} == set(skipped)


def test_too_many_bad_files_fails_with_the_reasons(tmp_path, capsys, data):
    root = write_beats(tmp_path / "beats", n_tracks=4, seconds=6.0)
    for i in range(3):
        (root / "audio" / f"track{i:02d}.wav").write_bytes(b"garbage")
    rc = cli(["run", "--model", "mel", "--task", "beats", "--data-dir", str(root), "--cache-dir",
              str(tmp_path / "c"), "--results-dir", str(tmp_path / "r"), "--quiet"])
    err = capsys.readouterr().err
    assert rc == 2 and "3 of 4 files" in err and "--max-bad-fraction" in err and "track00.wav" in err


@pytest.mark.parametrize("args, words", [
    (["--model", "nope", "--task", "mtat", "--data-dir", "."], ["unknown model 'nope'", "mel", "random-", "s8"]),
    (["--model", "mel", "--task", "nope"], ["unknown task 'nope'", "nsynth-pitch", "synth-beats"]),
    (["--model", "mel", "--task", "chrods"], ["unknown task 'chrods' (did you mean 'chords'?)"]),
    (["--model", "bsae", "--task", "mtat"], ["unknown model 'bsae' (did you mean 'base'?)"]),
    (["--model", "mel", "--task", "nsynth-pitch", "--data-dir", "/nonexistent/nsynth"],
     ["/nonexistent/nsynth", "does not exist"]),
    (["--model", "s8", "--task", "nsynth-pitch", "--data-dir", "."], ["--checkpoint-root", "OMAR_BENCH_CHECKPOINTS",
                                                                      "bm23z5le"]),
])
def test_user_errors_are_one_clear_line(tmp_path, capsys, monkeypatch, args, words):
    monkeypatch.delenv("OMAR_BENCH_CHECKPOINTS", raising=False)
    rc = cli(["run", *args, "--cache-dir", str(tmp_path / "c"), "--results-dir", str(tmp_path / "r"), "--quiet"])
    err = capsys.readouterr().err
    assert rc == 2 and "Traceback" not in err
    for w in words:
        assert w in err, (w, err)


def test_missing_data_dir_says_how_to_set_it(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("OMAR_BENCH_DATA", raising=False)
    rc = cli(["run", "--model", "mel", "--task", "mtat", "--cache-dir", str(tmp_path), "--quiet"])
    err = capsys.readouterr().err
    assert rc == 2 and "--data-dir" in err and "OMAR_BENCH_DATA" in err and "annotations_final.csv" in err


def test_wrong_layout_says_what_was_expected(tmp_path, capsys, data):
    rc = cli(["run", "--model", "mel", "--task", "nsynth-pitch", "--data-dir", str(data["mtat"]), "--quiet",
              "--cache-dir", str(tmp_path)])
    err = capsys.readouterr().err
    assert rc == 2 and "examples.json" in err


def test_tasks_and_models_listings(tmp_path, capsys, data, monkeypatch):
    monkeypatch.setenv("OMAR_BENCH_DATA", str(data["nsynth"].parent))
    assert cli(["tasks", "--cache-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "nsynth-pitch" in out and f"found ({data['nsynth']})" in out and "synth-beats" in out
    assert "beats-gtzan" in out and "not found" in out
    root = tmp_path / "ckpts" / "bm23z5le" / "checkpoints"
    root.mkdir(parents=True)
    (root / "config_masking_conformer_multiview_enc_to_encmelcqt_small.gin").write_text("# x\n")
    (root / "last.ckpt").write_bytes(b"x")
    assert cli(["models", "--checkpoint-root", str(tmp_path / "ckpts")]) == 0
    out = capsys.readouterr().out
    line = next(l for l in out.splitlines() if l.startswith("s8 "))
    assert " yes " in line and "bm23z5le" in line
    assert next(l for l in out.splitlines() if l.startswith("s7 ")).split()[3] == "no"
    assert "random-<arch>" in out and "tiny" in out


def test_help_teaches(capsys):
    with pytest.raises(SystemExit):
        cli(["run", "--help"])
    out = capsys.readouterr().out
    for w in ("--layers", "all", "--probe", "--checkpoint-root", "OMAR_BENCH_DATA", "examples:"):
        assert w in out


def test_seeds_give_mean_and_std_and_train_subset_is_recorded(tmp_path, capsys, data):
    out = run_json(capsys, "--model", "mel", "--task", "nsynth-pitch", "--data-dir", str(data["nsynth"]),
                   "--seeds", "2", "--train-subset", "60", "--probe", "linear", "--max-epochs", "10",
                   "--cache-dir", str(tmp_path / "c"), "--results-dir", str(tmp_path / "r"))
    rec = load_records(tmp_path / "r")[0]
    assert [r["seed"] for r in rec["runs"]] == [0, 1] and "accuracy" in out["metrics_std"]
    runs = [r["metrics"]["accuracy"] for r in rec["runs"]]
    assert out["metrics"]["accuracy"] == pytest.approx(np.mean(runs))
    assert rec["dataset"]["n_examples"]["train"] == 60
    assert rec["dataset"]["info"]["train_subset"]["n"] == 60


def test_frame_schedule_option_sets_the_step_schedule_and_the_record_states_it(tmp_path, capsys):
    beats = write_beats(tmp_path / "beats", n_tracks=10, seconds=12.0)
    (beats / "splits.tsv").write_text("".join(f"track{i:02d}\t{'test' if i < 3 else 'valid' if i < 5 else 'train'}\n"
                                              for i in range(10)))
    code = cli(["run", "--model", "mel", "--task", "beats", "--data-dir", str(beats), "--cache-dir",
                str(tmp_path / "c"), "--results-dir", str(tmp_path / "r"), "--probe", "linear", "--quiet",
                "--frame-schedule", "2,4,6"])
    assert code == 0
    rec = load_records(tmp_path / "r")[0]
    hp = rec["hyperparameters"]
    assert hp["steps_per_round"] == 2 and hp["max_steps"] == 6            # 5 tracks of 12 s: 4 steps an epoch
    assert all(p["best_epoch"] <= 2 for p in rec["sweep"])                 # at most 6 / 2 = 3 validations
    assert "2 optimizer steps" in rec["protocol"]["schedule"]["validate_every"]
    assert cli(["run", "--model", "mel", "--task", "beats", "--data-dir", str(beats), "--frame-schedule", "2,x"]) == 2
    assert "--frame-schedule '2,x': expected three positive step counts" in capsys.readouterr().err


def test_folds_in_one_fit_and_separate_folds_give_the_same_record(tmp_path, capsys):
    """An 8-fold beat run with its folds as more probes of one fit (the default) and with --separate-folds: the
    record says which, and every fold's metrics agree (each probe trains exactly as alone; float rounding aside)."""
    root = write_beats(tmp_path / "beats", n_tracks=8, seconds=6.0)
    recs = {}
    for name, extra in (("joint", []), ("separate", ["--separate-folds"])):
        rc = cli(["run", "--model", "mel", "--task", "beats", "--data-dir", str(root), "--cache-dir",
                  str(tmp_path / "c"), "--results-dir", str(tmp_path / name), "--probe", "linear", "--max-epochs", "3",
                  "--quiet", *extra])
        assert rc == 0, capsys.readouterr().err[-2000:]
        (recs[name],) = load_records(tmp_path / name)
    assert recs["joint"]["protocol"]["fold_fits"] == "joint"
    assert recs["separate"]["protocol"]["fold_fits"] == "separate"
    assert len(recs["joint"]["runs"]) == 8
    for a, b in zip(recs["joint"]["runs"], recs["separate"]["runs"]):
        assert a["fold"] == b["fold"] and a["chosen"]["best_epoch"] == b["chosen"]["best_epoch"]
        assert a["val_score"] == pytest.approx(b["val_score"], abs=1e-6)
        assert a["metrics"] == pytest.approx(b["metrics"], abs=1e-6)
