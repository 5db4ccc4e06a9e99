"""The ``structure`` task end to end with the ``mel`` floor on a generated Harmonix tree: one fold per song, frame
accuracy and boundary hit rates far above chance, and the per-track sidecar that rebuilds them."""
from __future__ import annotations

from benchmarks.records import load_records
from helpers import assert_sidecar_reproduces, run_mel
from layouts import write_harmonix


def test_structure_on_the_harmonix_layout(tmp_path, capsys):
    m = run_mel(capsys, tmp_path, "structure", write_harmonix(tmp_path / "harmonix", n_songs=8))["metrics"]
    assert set(m) == {"accuracy", "accuracy_pooled", "hr_f_0_5", "hr_f_3", "n_tracks"}, m
    # each section of the generated songs has its own sound: measured accuracy 0.996 and hit rate 0.975
    assert m["accuracy"] > 0.9 and m["hr_f_0_5"] > 0.8, m
    assert m["hr_f_3"] >= m["hr_f_0_5"], m      # a wider window hits every boundary a narrower one hits
    assert load_records(tmp_path / "r")[0]["protocol"]["folds"] == 8
    assert_sidecar_reproduces(load_records(tmp_path / "r")[0])
