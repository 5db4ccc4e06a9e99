"""Result records: validated atomic writes, unique file names, tolerant loading, the latest-wins merge rule."""
import json
import shutil
import warnings
from datetime import datetime

import numpy as np
import pytest

from benchmarks.records import (SCHEMA_VERSION, InvalidRecord, RecordWarning, best_by_validation, find_record,
                                latest_per_key, load_records, record_key, slug, write_record)


def make_record(model="s8", task="mtat", layer=6, probe="grid", seed=0, test=0.45, val=0.41, **extra):
    """A record with the fields of notes/CONTRACTS.md."""
    rec = {
        "model": model,
        "model_info": {"kind": "omar-rq", "source": "/ckpt/bm23z5le", "fingerprint": "ab" * 32, "sr": 16000,
                       "eps": 15.625, "depth": 12},
        "task": task, "layer": layer, "probe": probe,
        "hyperparameters": {"lr": 1e-3, "hidden": 512, "dropout": 0.2, "weight_decay": 0.01, "batch_size": 256,
                            "max_epochs": 100, "patience": 10, "best_epoch": 17},
        "sweep": [{"lr": 1e-3, "hidden": 512, "dropout": 0.2, "val_score": val}],
        "validation": {"metric": "pr_auc_macro", "value": val},
        "metrics": {"roc_auc_macro": 0.9, "pr_auc_macro": test},
        "metrics_std": {},
        "dataset": {"name": "mtat", "root": "/data/mtat", "split": "clean", "fingerprint": "f",
                    "split_fingerprint": "s",
                    "n_examples": {"train": 15244, "valid": 1529, "test": 4332}, "skipped_files": [], "n_skipped": 0},
        "protocol": {"chunk_seconds": 30, "overlap": 0.5, "pooling": "mean"},
        "seed": seed,
        "versions": {"omar_bench": "0.1.0"},
        "timings": {"extract_s": 1.0, "probe_s": 2.0, "total_s": 3.0},
    }
    rec.update(extra)
    return rec


def test_write_fills_fields_and_names_file(tmp_path):
    rec = make_record()
    path = write_record(tmp_path, rec)
    assert "created" not in rec and "_path" not in rec  # caller's dict untouched
    rel = path.relative_to(tmp_path)
    assert rel.parts[:3] == ("records", "s8", "mtat")
    assert rel.name.startswith("L6-grid-s0-") and rel.suffix == ".json"
    stored = json.loads(path.read_text())
    assert stored["schema_version"] == SCHEMA_VERSION and stored["host"]
    created = datetime.fromisoformat(stored["created"])
    assert created.utcoffset().total_seconds() == 0
    assert created.strftime("%Y%m%dT%H%M%S%fZ") in rel.name
    assert stored["metrics"] == rec["metrics"] and stored["dataset"] == rec["dataset"]
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temp file left behind


def test_write_accepts_numpy_and_keeps_given_fields(tmp_path):
    rec = make_record(test=np.float64(0.5), layer=np.int64(3), created="2026-01-02T03:04:05+00:00", host="gpu7")
    rec["dataset"]["n_examples"]["train"] = np.int64(10)
    stored = json.loads(write_record(tmp_path, rec).read_text())
    assert stored["metrics"]["pr_auc_macro"] == 0.5 and stored["layer"] == 3
    assert stored["created"] == "2026-01-02T03:04:05+00:00" and stored["host"] == "gpu7"


@pytest.mark.parametrize("change, message", [
    ({"layer": None}, "'layer'"), ({"layer": True}, "'layer'"), ({"layer": -1}, "'layer'"),
    ({"model": ""}, "'model'"), ({"metrics": {}}, "'metrics'"), ({"metrics": {"acc": "high"}}, "'metrics'"),
    ({"validation": {"metric": "acc"}}, "'validation'"), ({"schema_version": 2}, "schema_version"),
    ({"created": "yesterday"}, "'created'"),
])
def test_write_rejects_invalid(tmp_path, change, message):
    with pytest.raises(InvalidRecord, match=message):
        write_record(tmp_path, make_record(**change))
    assert not list(tmp_path.rglob("*.json"))


def test_write_lists_missing_fields(tmp_path):
    rec = make_record()
    del rec["seed"], rec["validation"]
    with pytest.raises(InvalidRecord, match="missing required field.*seed.*validation"):
        write_record(tmp_path, rec)


def test_same_key_never_overwrites_and_latest_wins(tmp_path):
    t = "2020-11-25T10:00:00+00:00"
    p1 = write_record(tmp_path, make_record(test=0.40, created=t))
    p2 = write_record(tmp_path, make_record(test=0.41, created=t))  # same second, same key
    p3 = write_record(tmp_path, make_record(test=0.30, created="2020-11-24T10:00:00+00:00"))  # older
    assert len({p1, p2, p3}) == 3
    recs = load_records(tmp_path)
    assert len(recs) == 3
    (latest,) = latest_per_key(recs)
    tie_winner = max([p1, p2], key=lambda p: p.name)  # equal `created`: the greater file name
    assert latest["_path"] == str(tie_winner)
    assert latest["metrics"]["pr_auc_macro"] == (0.40 if tie_winner == p1 else 0.41)  # not averaged
    p4 = write_record(tmp_path, make_record(test=0.47))  # now
    (latest,) = latest_per_key(load_records(tmp_path))
    assert latest["_path"] == str(p4) and latest["metrics"]["pr_auc_macro"] == 0.47


def test_merge_by_copying_folders(tmp_path):
    a, b, merged = tmp_path / "a", tmp_path / "b", tmp_path / "merged"
    write_record(a, make_record(seed=0, created="2020-11-25T10:00:00+00:00", host="a"))
    write_record(b, make_record(seed=0, created="2020-11-25T11:00:00+00:00", host="b", test=0.5))
    write_record(b, make_record(seed=1, host="b"))
    shutil.copytree(a, merged)
    shutil.copytree(b, merged, dirs_exist_ok=True)
    recs = load_records(merged)
    assert len(recs) == 3
    latest = latest_per_key(recs)
    assert [record_key(r) for r in latest] == [("s8", "mtat", 6, "grid", 0), ("s8", "mtat", 6, "grid", 1)]
    assert latest[0]["host"] == "b" and latest[0]["metrics"]["pr_auc_macro"] == 0.5


def test_load_skips_bad_files_with_warning(tmp_path):
    good = write_record(tmp_path, make_record())
    folder = good.parent
    (folder / "broken.json").write_text('{"model": "s8", ')
    (folder / "list.json").write_text("[1, 2]")
    (folder / "nokey.json").write_text(json.dumps({"model": "s8", "task": "mtat"}))
    (folder / "latin1.json").write_bytes(b"\xff\xfe\x00bad")
    (folder / "notes.txt").write_text("ignored")
    with pytest.warns(RecordWarning) as caught:
        recs = load_records(tmp_path)
    assert [r["_path"] for r in recs] == [str(good)]
    messages = "\n".join(str(w.message) for w in caught)
    for name in ("broken.json", "list.json", "nokey.json", "latin1.json"):
        assert str(folder / name) in messages
    assert "missing required field" in messages


def test_load_empty_or_absent(tmp_path):
    assert load_records(tmp_path) == []
    assert load_records(tmp_path / "nope") == []


def test_load_order_is_sorted(tmp_path):
    for layer in (11, 2, 7):
        write_record(tmp_path, make_record(layer=layer))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        paths = [r["_path"] for r in load_records(tmp_path)]
    assert paths == sorted(paths)
    assert [r["layer"] for r in latest_per_key(load_records(tmp_path))] == [2, 7, 11]


def test_find_record(tmp_path):
    assert find_record(tmp_path, "s8", "mtat", 1, "grid", 1) is None
    write_record(tmp_path, make_record(layer=1, seed=1, test=0.1, created="2020-11-25T10:00:00+00:00"))
    newer = write_record(tmp_path, make_record(layer=1, seed=1, test=0.2))
    # prefix look-alikes must not match: layer 10, seed 10, another probe, another task, another model
    write_record(tmp_path, make_record(layer=10, seed=1))
    write_record(tmp_path, make_record(layer=1, seed=10))
    write_record(tmp_path, make_record(layer=1, seed=1, probe="linear"))
    write_record(tmp_path, make_record(layer=1, seed=1, task="beats"))
    write_record(tmp_path, make_record(layer=1, seed=1, model="s7"))
    found = find_record(tmp_path, "s8", "mtat", 1, "grid", 1)
    assert found["_path"] == str(newer) and found["metrics"]["pr_auc_macro"] == 0.2
    assert find_record(tmp_path, "s8", "mtat", 1, "mlp", 1) is None
    hf = write_record(tmp_path, make_record(model="mtg-upf/omar-rq-base", layer=3))
    assert find_record(tmp_path, "mtg-upf/omar-rq-base", "mtat", 3, "grid", 0)["_path"] == str(hf)


def test_slug():
    assert slug("mtg-upf/omar-rq-base") == "mtg-upf__omar-rq-base"
    assert slug("/data/runs/x/config.gin") == "data__runs__x__config.gin"
    long_a, long_b = "/a/" + "x" * 100, "/b/" + "x" * 100
    assert len(slug(long_a)) <= 64 and slug(long_a) != slug(long_b)
    assert slug("a b?c") == "a_b_c"


def test_best_by_validation_never_uses_test():
    a = make_record(layer=3, test=0.60, val=0.40)
    b = make_record(layer=7, test=0.50, val=0.45)
    assert best_by_validation([a, b]) is b
    c = make_record(layer=5, test=0.50, val=0.45)  # tie on validation: lower layer
    assert best_by_validation([a, b, c]) is c
    mse_lo = make_record(layer=1, validation={"metric": "mse", "value": 1.2})
    mse_hi = make_record(layer=2, validation={"metric": "mse", "value": 1.5})
    assert best_by_validation([mse_hi, mse_lo]) is mse_lo  # lower is better for error metrics
    assert best_by_validation([make_record(validation={"metric": "acc", "value": float("nan")})]) is None
    assert best_by_validation([]) is None
