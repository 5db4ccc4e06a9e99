"""Task.folds honours the folds a reader assigns (``DatasetIndex.info["cv_folds"]``)."""
from __future__ import annotations

from pathlib import Path

from benchmarks.datasets import DatasetIndex, Example
from benchmarks.tasks import get_task
from benchmarks.tasks.base import Prepared


def test_reader_folds_are_used_in_order_and_empty_folds_dropped(tmp_path):
    ids = [f"t{i:02d}" for i in range(12)]
    fold_of = {i: k % 4 for k, i in enumerate(ids)}          # folds 0..3, three tracks each
    fold_of["t99"] = 0                                       # a track the index does not hold (e.g. skipped)
    examples = [Example(i, Path(tmp_path / f"{i}.wav"), "", {"genre": "blues"}) for i in ids]
    index = DatasetIndex(name="x", root=tmp_path, examples=examples, label_names=["blues"], split_name="cv4",
                         info={"cv_folds": fold_of, "cv_seed": 7, "stratified_by": "genre"})
    task = get_task("nsynth-pitch")   # any task: the rule is the base class's
    prep = Prepared(task, index)
    folds = task.folds(prep, seed=0)
    assert [f.name for f in folds] == ["fold0", "fold1", "fold2", "fold3"]
    for f, fold in enumerate(folds):
        assert {e.id for e in fold.test} == {i for i in ids if fold_of[i] == f}
        assert {e.id for e in fold.valid} == {i for i in ids if fold_of[i] == (f + 1) % 4}
        assert len(fold.train) == 6
    assert task.cv_description(prep, seed=0)["k"] == 4 and task.cv_description(prep, 0)["seed"] == 7
    # fold 2 emptied (its files could not be decoded): three folds remain, renumbered in order
    kept = prep.restricted([i for i in ids if fold_of[i] != 2])
    folds = task.folds(kept, seed=0)
    assert [f.name for f in folds] == ["fold0", "fold1", "fold3"]
    assert {e.id for e in folds[1].valid} == {i for i in ids if fold_of[i] == 3}
