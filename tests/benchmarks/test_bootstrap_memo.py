"""Bootstrap distributions are remembered beside the sidecar (benchmarks.bootstrap_memo): a later process reads them
back instead of recomputing, a damaged memo is recomputed and rewritten, and a folder that cannot be written still
gives intervals."""
from __future__ import annotations

import numpy as np
import pytest

from benchmarks import bootstrap_memo, sidecar, stats
from benchmarks.tasks import get_task

MTAT = get_task("synth-mtat")
KEY = get_task("synth-key")


def record(folder, score_seed: int = 0, name: str = "rec.json") -> dict:
    """A synth-mtat record with a sidecar: two folds of test tracks (always the same tags), scores from
    ``score_seed``."""
    truth, rng = np.random.default_rng(99), np.random.default_rng(score_seed)
    runs = []
    for f, n in ((0, 30), (1, 25)):
        y = (truth.random((n, 5)) < 0.3).astype(np.int8)
        ids = [f"{f}-{i}" for i in range(n)]
        runs.append((f, 0, ids, {"corpus.y_true": y, "corpus.y_score": rng.random((n, 5)).astype(np.float32)}))
    return {"_path": str(folder / name), "tracks": sidecar.write(folder, sidecar.pack(runs))}


def fresh_process(monkeypatch=None):
    """Forget everything held in memory (as a new process would), optionally forbidding any recomputation."""
    stats._MEMO.clear()
    stats._DIST.clear()
    sidecar._LOADED.clear()
    if monkeypatch is not None:
        def refuse(*a, **k):
            raise AssertionError("recomputed instead of read from the memo")
        monkeypatch.setattr(stats, "distributions", refuse)


def memo_file(rec) -> str:
    return rec["_path"].rsplit("/", 1)[0] + f"/tracks-{rec['tracks']['blake2b']}.boot-{stats.N_RESAMPLES}-{stats.SEED}.npz"


def test_a_second_process_reads_the_intervals_distributions_from_the_memo(tmp_path, monkeypatch):
    rec = record(tmp_path)
    fresh_process()
    first = stats.intervals(MTAT, sidecar.load(rec), metrics=["pr_auc_macro"])
    every = stats.intervals(MTAT, sidecar.load(rec))
    assert (tmp_path / memo_file(rec).rsplit("/", 1)[1]).is_file()
    fresh_process(monkeypatch)
    again = stats.intervals(MTAT, sidecar.load(rec), metrics=["pr_auc_macro"])
    assert again == first and first["pr_auc_macro"].low < first["pr_auc_macro"].high
    assert stats.intervals(MTAT, sidecar.load(rec)) == every and set(every) == {"pr_auc_macro", "roc_auc_macro"}
    # another B or seed is another key: not in the memo, so it would be computed
    with pytest.raises(AssertionError, match="recomputed"):
        stats.intervals(MTAT, sidecar.load(rec), n_resamples=200, metrics=["pr_auc_macro"])


def test_paired_tests_read_both_records_from_their_memos(tmp_path, monkeypatch):
    a, b = record(tmp_path, 0, "a.json"), record(tmp_path / "other", 1, "b.json")   # same tracks, other scores
    fresh_process()
    want = stats.paired(MTAT, sidecar.load(a), sidecar.load(b), "pr_auc_macro")
    fresh_process(monkeypatch)
    assert stats.paired(MTAT, sidecar.load(a), sidecar.load(b), "pr_auc_macro") == want
    assert want.diff != 0 and len(list(tmp_path.rglob("*.boot-*.npz"))) == 2


@pytest.mark.parametrize("damage", ["flip", "truncate", "values", "shape"])
def test_a_damaged_memo_is_recomputed_and_rewritten(tmp_path, monkeypatch, damage):
    rec = record(tmp_path)
    fresh_process()
    want = stats.intervals(MTAT, sidecar.load(rec), metrics=["pr_auc_macro"])
    path = tmp_path / memo_file(rec).rsplit("/", 1)[1]
    data = path.read_bytes()
    if damage == "flip":
        path.write_bytes(data[:len(data) // 2] + bytes([data[len(data) // 2] ^ 0xFF]) + data[len(data) // 2 + 1:])
    elif damage == "truncate":
        path.write_bytes(data[:100])
    else:   # a well-formed file whose values (or shapes) no longer match its check
        with np.load(path) as z:
            entries = {k: z[k] for k in z.files}
        key = "synth-mtat|pr_auc_macro"
        entries[key] = entries[key] + 0.01 if damage == "values" else entries[key][:10]
        np.savez(path, **entries)
    tracks = (fresh_process(), sidecar.load(rec))[1]
    assert bootstrap_memo.load(MTAT.name, tracks, stats.N_RESAMPLES, stats.SEED, {"pr_auc_macro"}) is None
    assert stats.intervals(MTAT, tracks, metrics=["pr_auc_macro"]) == want
    fresh_process(monkeypatch)        # rewritten: the next process reads it
    assert stats.intervals(MTAT, sidecar.load(rec), metrics=["pr_auc_macro"]) == want


def test_an_unwritable_folder_still_gives_intervals(tmp_path, monkeypatch):
    rec = record(tmp_path)
    fresh_process()
    import omar_rq.files

    def read_only(path, content):
        raise PermissionError(13, "Read-only file system", str(path))

    monkeypatch.setattr(omar_rq.files, "atomic_write", read_only)
    iv = stats.intervals(MTAT, sidecar.load(rec), metrics=["pr_auc_macro"])["pr_auc_macro"]
    assert iv.low < iv.value < iv.high
    assert list(tmp_path.glob("*.boot-*")) == []


def test_tracks_not_from_a_sidecar_have_no_memo(tmp_path):
    tracks = sidecar.Tracks(({"mean.accuracy": np.ones(4)},), (0,), (0,), (("a", "b", "c", "d"),))
    assert bootstrap_memo.path_of(tracks, 1000, 1) is None
    assert stats.intervals(KEY, tracks)["accuracy"].value == 1.0
    assert list(tmp_path.iterdir()) == []
