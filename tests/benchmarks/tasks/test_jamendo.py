"""mtg-{top50,genre,instrument,moodtheme} and their synth- twins end to end through the CLI: the synthesised set
(macro ROC-AUC well above 0.5 with mel, for each subset), and a generated tree in the real layout with MTG-Jamendo's
pitfalls (CRLF TSVs with a variable number of tag fields, full- and low-quality audio mixed, a tag without positives
outside train excluded and reported, a corrupt clip skipped and listed)."""
from __future__ import annotations


from helpers import run_json
from benchmarks.records import load_records
from benchmarks.synth import jamendo as synth_jamendo

def test_synth_mtg_subsets_well_above_chance(tmp_path, capsys):
    for subset in ("top50", "genre", "instrument", "moodtheme"):
        out = run_json(capsys, tmp_path, "--task", f"synth-mtg-{subset}")
        assert out["metrics"]["roc_auc_macro"] >= 0.7, (subset, out["metrics"])     # chance 0.5
    recs = {r["task"]: r for r in load_records(tmp_path / "r")}
    assert len(recs) == 4
    rec = recs["synth-mtg-top50"]
    assert rec["primary_metric"]["name"] == "roc_auc_macro" and rec["validation"]["metric"] == "pr_auc_macro"
    assert rec["protocol"]["split"] == "split-0" and rec["protocol"]["subset"] == "top50"
    assert rec["dataset"]["info"]["audio_quality"]["low"] > 0


def test_mtg_genre_on_the_real_layout_with_its_pitfalls(tmp_path, capsys):
    root = tmp_path / "mtg"
    synth_jamendo.render(root, {"n_clips": 120, "clip_samples": 64000})
    audio = root / "audio-low"
    lows = sorted(audio.rglob("*.low.mp3"))
    for p in lows[:5]:                                       # full-quality files beside low-quality ones
        p.rename(p.with_name(p.name.replace(".low.mp3", ".mp3")))
    lows[5].write_bytes(b"\xff\xfb" + b"\x00garbage" * 50)  # a corrupt clip
    bad_id = "track_" + lows[5].name.split(".")[0].rjust(7, "0")
    tsv = root / "data" / "splits" / "split-0" / "autotagging_genre-train.tsv"
    lines = tsv.read_bytes().decode().split("\r\n")
    lines[1] = lines[1] + "\tgenre---zzonlytrain"          # a tag with no positive outside train
    tsv.write_bytes("\r\n".join(lines).encode())
    out = run_json(capsys, tmp_path, "--task", "mtg-genre", "--data-dir", str(root))
    assert out["metrics"]["roc_auc_macro"] >= 0.7, out["metrics"]
    rec = load_records(tmp_path / "r")[0]
    info = rec["dataset"]["info"]
    assert info["excluded_tags"]["genre---zzonlytrain"] == {"train": 1, "valid": 0, "test": 0}
    assert "genre---zzonlytrain" not in rec["protocol"]["tags"] and len(rec["protocol"]["tags"]) >= 5
    assert info["audio_quality"]["full"] == 5
    assert [s["id"] for s in rec["dataset"]["skipped_files"]] == [bad_id]
    assert rec["protocol"]["n_excluded_tags"] == len(info["excluded_tags"])
