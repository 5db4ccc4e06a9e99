"""``results/reference/marble.csv`` holds every value of ../shared/spec/datasets.md §12, with its layer,
source and the caveat, and ships with the package."""
from __future__ import annotations

import csv
import re

import pytest

from benchmarks.resources import reference_dir
from helpers import shared_or_skip

#: §12 row label -> the (task, metric) of each "/"-separated value of the row
ROWS = {
    "GTZAN genre, fault-filtered (accuracy)": [("gtzan-genre", "accuracy")],
    "EmoMusic R² (all / arousal / valence)": [("emomusic", "r2"), ("emomusic", "arousal_r2"),
                                               ("emomusic", "valence_r2")],
    "GiantSteps key (weighted)": [("key", "weighted_score")],
    "MTG top50 (ROC-AUC / PR-AUC)": [("mtg-top50", "roc_auc_macro"), ("mtg-top50", "pr_auc_macro")],
    "MTG genre": [("mtg-genre", "roc_auc_macro"), ("mtg-genre", "pr_auc_macro")],
    "MTG instrument": [("mtg-instrument", "roc_auc_macro"), ("mtg-instrument", "pr_auc_macro")],
    "MTG mood/theme": [("mtg-moodtheme", "roc_auc_macro"), ("mtg-moodtheme", "pr_auc_macro")],
    "MTT (ROC-AUC / PR-AUC)": [("mtat", "roc_auc_macro"), ("mtat", "pr_auc_macro")],
    "NSynth pitch / instrument (accuracy)": [("nsynth-pitch", "accuracy"), ("nsynth-instrument", "accuracy")],
    "Chords1217 (MIREX majmin)": [("chords", "majmin")],
    "GTZAN beat / downbeat F (pooled)": [("beats-gtzan", "f_measure_pooled"), ("beats-gtzan", "downbeat_f_measure")],
    "Harmonix structure (clip accuracy)": [("structure", "accuracy")],
}


def _rows() -> list[dict]:
    with open(reference_dir() / "marble.csv", newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def test_marble_csv_matches_the_spec_cell_by_cell():
    spec = shared_or_skip("spec", "datasets.md").read_text(encoding="utf-8")
    section = spec[spec.index("## 12."):]
    got = {(r["task"], r["metric"], r["model"]): r for r in _rows()}
    n = 0
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 3 or cells[0] not in ROWS:
            continue
        for model, cell in zip(("multifeature-25hz", "base"), cells[1:]):
            m = re.fullmatch(r"([\d.]+(?: / [\d.]+)*)(?: \(L(\d+)\))?", cell)
            values = m[1].split(" / ")
            assert len(values) == len(ROWS[cells[0]])
            for (task, metric), printed in zip(ROWS[cells[0]], values):
                r = got[(task, metric, model)]
                assert r["printed"] == printed and float(r["value"]) == pytest.approx(float(printed) / 100)
                assert r["layer"] == (m[2] or "")
                assert "layer chosen on the test set" in r["notes"] and "music-fms-layer-eval" in r["source"]
                n += 1
    assert n == 42 == sum(1 for r in _rows() if r["model"] != "multifeature-25hz-fsq")
    assert "0.361" in section and got[("beats-gtzan", "f_measure_pooled", "multifeature-25hz-fsq")]["value"] == "0.361"
    assert got[("key", "weighted_score", "multifeature-25hz-fsq")]["value"] == "0.175"


def test_readme_states_the_source_and_the_caveat():
    text = (reference_dir() / "README.md").read_text(encoding="utf-8")
    assert "marble.csv" in text and "chosen on the test set" in text and "music-fms-layer-eval" in text
