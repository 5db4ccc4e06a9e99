"""The registry data (results/reference/*.csv) matches the spec, and checkpoint / HF-cache resolution is explicit."""
import math
import os
from pathlib import Path

import pytest

from benchmarks.registry import (CHECKPOINT_ENV, CheckpointNotFound, Registry, UnknownModel, find_in_hf_cache)
from omar_rq.hub import hf_cache_dir

from helpers import ROOT

SHARED = ROOT.parent / "shared"
PROTOCOLS = SHARED / "spec" / "protocols.md"
UPSTREAM_CFG = SHARED / "upstream-configs"

DEV_IDS = ["b0", "b1", "b3", "s1", "s3", "s4", "s5", "s6", "s7", "s8", "l3", "l5", "l6", "l7", "l8", "f0", "f1"]
RELEASED = ["base", "multicodebook", "multifeature", "multifeature-25hz", "multifeature-25hz-fsq"]
SEED_TABLES = {"b": "baseline", "s": "multiview", "l": "multiview", "f": "freesound"}
SEED_COLUMNS = {"baseline": ["MTAT", "Beattracking"], "multiview": ["MTAT", "Nsynth", "Beattracking"],
                "freesound": ["MTAT", "Nsynth"]}
SEED_INDEX = {"MTAT": 7, "Nsynth": 8, "Beattracking": 9}
RELEASED_COLUMNS = ["Tagging", "Difficulty", "Pitch", "Chord", "Beat", "Structure"]


@pytest.fixture(scope="module")
def reg():
    return Registry.load()


def _protocol_tables():
    """The two markdown tables of protocols.md' "Reference numbers" section, as lists of cell lists."""
    if not PROTOCOLS.is_file():
        pytest.skip(f"{PROTOCOLS} not present (../shared is only on development machines)")
    seed, released, cur = [], [], None
    for line in PROTOCOLS.read_text().splitlines():
        if not line.startswith("|"):
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if cells[0] in ("id", "model"):
            cur = seed if cells[0] == "id" else released
        elif not set(cells[0]) <= {"-"}:
            cur.append(cells)
    assert len(seed) == 17 and len(released) == 5
    return seed, released


def _as_value(printed: str):
    if printed == "":
        return None
    return float("0" + printed if printed.startswith(".") else printed)


def _same(a, b) -> bool:
    if a is None or b is None:
        return a is b
    return (math.isnan(a) and math.isnan(b)) or a == b


def test_ids_and_tables(reg):
    assert reg.ids()[:17] == DEV_IDS
    assert [m.id for m in reg.dev_models()] == DEV_IDS
    assert [m.id for m in reg.released_models(in_table_only=True)] == RELEASED
    assert [m.id for m in reg.released_models()] == RELEASED + ["base-freesound-small"]
    assert reg.table_members("baseline") == ["b0", "b1", "b3"]
    assert reg.table_members("multiview") == ["s1", "s3", "s4", "s5", "s6", "s7", "s8", "l3", "l5", "l6", "l7", "l8"]
    assert reg.table_members("freesound") == ["f0", "f1"]
    assert reg.table_members("released") == RELEASED
    for m in reg.dev_models():
        assert m.project_config == f"cfg/models/{m.id}.gin"
        assert m.config_path.startswith(f"{m.run_id}/checkpoints/") and m.config_path.endswith(".gin")
    for m in reg.released_models(in_table_only=True):
        assert m.project_config == f"cfg/models/{m.id}.gin"
        assert m.hf_id == f"mtg-upf/omar-rq-{m.id}"


def test_models_csv_matches_protocols(reg):
    seed, _ = _protocol_tables()
    for cells in seed:
        id_, arch, size, inp, tgt, run, steps, *_scores, cfg = cells
        m = reg.model(id_)
        assert (m.arch, m.size, m.input, m.target) == (arch.lower(), size.lower(), inp.lower(), tgt.lower())
        assert (m.run_id, m.steps, m.config_path, m.table) == (run, int(steps), cfg, SEED_TABLES[id_[0]])


def test_reference_scores_match_protocols_cell_by_cell(reg):
    seed, released = _protocol_tables()
    expected = {}
    for cells in seed:
        table = SEED_TABLES[cells[0][0]]
        for col, i in SEED_INDEX.items():
            if col in SEED_COLUMNS[table]:
                expected[(table, cells[0], col)] = cells[i]
            else:
                assert cells[i] == "", f"{cells[0]} has a value outside its table's columns"
    for cells in released:
        for col, printed in zip(RELEASED_COLUMNS, cells[4:10]):
            expected[("released", cells[0], col)] = printed
    # the marble table's third-party numbers come from datasets.md §12 (checked in test_resources.py)
    got = {(s.table, s.model, s.column): s for s in reg.reference_scores() if s.table != "marble"}
    assert set(got) == set(expected)
    for key, printed in expected.items():
        s = got[key]
        assert _same(s.value, _as_value(printed)), (key, s.value, printed)
        assert s.source.startswith("OMAR-RQ seed README" if key[0] != "released" else "OMAR-RQ upstream README")


def test_reference_columns_map_to_tasks(reg):
    from benchmarks.registry import reference_column

    marble = [s for s in reg.reference_scores() if s.table == "marble"]
    assert len(marble) == 44 and all(s.column == reference_column(s.task, s.metric) for s in marble)
    pairs = {(s.column, s.task, s.metric) for s in reg.reference_scores() if s.table != "marble"}
    assert pairs == {("MTAT", "mtat", "pr_auc_macro"), ("Nsynth", "nsynth-pitch", "accuracy"),
                     ("Beattracking", "beats", "f_measure"), ("Tagging", "mtat", "pr_auc_macro"),
                     ("Difficulty", "difficulty", "mse_macro"), ("Pitch", "nsynth-pitch", "accuracy"),
                     ("Chord", "chords", "majmin"), ("Beat", "beats", "f_measure"),
                     ("Structure", "structure", "accuracy")}


def test_nan_and_not_reported_stay_distinct(reg):
    nan = reg.reference("multiview", "l3", "MTAT")
    assert nan.reported and nan.reported_nan and nan.printed == "NaN"
    empty = reg.reference("baseline", "b3", "MTAT")
    assert empty.value is None and not empty.reported and empty.printed == ""
    assert reg.reference("multiview", "s8", "Beattracking").value == 0.75
    assert reg.reference("released", "base", "Tagging").value == 0.482
    assert reg.reference("released", "base", "Difficulty").value == 1.65
    # every published number of (model, task, metric): the released table's and the MARBLE-protocol reference
    assert [(s.table, s.value) for s in reg.references_for("mtg-upf/omar-rq-base", "mtat", "pr_auc_macro")] == \
        [("released", 0.482), ("marble", 0.397)]


def test_released_rates(reg):
    rates = {m.id: (m.rate_hz, m.rate_hz_printed, m.sample_rate, m.input) for m in reg.released_models(True)}
    assert rates == {"base": (15.625, "15.63", 16000, "mel"), "multicodebook": (15.625, "15.63", 16000, "mel"),
                     "multifeature": (18.75, "18.75", 24000, "audio"),
                     "multifeature-25hz": (25.0, "25", 24000, "audio"),
                     "multifeature-25hz-fsq": (25.0, "25", 24000, "audio")}
    fs = reg.model("mtg-upf/omar-rq-base-freesound-small")
    assert fs.id == "base-freesound-small" and fs.table == "" and fs.note


def test_model_lookup_by_hf_id(reg):
    assert reg.model("mtg-upf/omar-rq-base").id == "base"
    assert reg.model("omar-rq-multifeature-25hz-fsq").id == "multifeature-25hz-fsq"
    assert reg.model("S8").id == "s8"
    assert reg.canonical("mel") is None and "s8" in reg and "nope" not in reg
    with pytest.raises(UnknownModel) as e:
        reg.model("s2")
    assert "'s2'" in str(e.value) and "s8" in str(e.value) and "mtg-upf/omar-rq-" in str(e.value)


def test_upstream_config_names(reg):
    """The seed table's config names are upstream config files, except those the upstream-configs README (and our
    look) says are absent: b0's, s1's and the FreeSound ones."""
    if not UPSTREAM_CFG.is_dir():
        pytest.skip(f"{UPSTREAM_CFG} not present")
    upstream = {p.name for p in UPSTREAM_CFG.rglob("*.gin")}
    missing = {m.id for m in reg.dev_models() if Path(m.config_path).name not in upstream}
    assert missing == {"b0", "s1", "f0", "f1"}


# ---- checkpoints -----------------------------------------------------------------------------------------------------
def _make_run(root: Path, rel: str, ckpt: bool = True) -> Path:
    cfg = root / rel
    cfg.parent.mkdir(parents=True)
    cfg.write_text("# gin\n")
    if ckpt:
        (cfg.parent / "epoch=1-step=366804.ckpt").write_bytes(b"x")
    return cfg


def test_resolve_checkpoint_from_argument_and_env(reg, tmp_path, monkeypatch):
    monkeypatch.delenv(CHECKPOINT_ENV, raising=False)
    cfg = _make_run(tmp_path, reg.model("s8").config_path)
    assert reg.resolve_checkpoint("s8", tmp_path) == cfg
    assert str(cfg).endswith("bm23z5le/checkpoints/config_masking_conformer_multiview_enc_to_encmelcqt_small.gin")
    monkeypatch.setenv(CHECKPOINT_ENV, str(tmp_path))
    assert reg.resolve_checkpoint("s8") == cfg


def test_resolve_checkpoint_errors_say_where_and_how(reg, tmp_path, monkeypatch):
    monkeypatch.delenv(CHECKPOINT_ENV, raising=False)
    with pytest.raises(CheckpointNotFound) as e:
        reg.resolve_checkpoint("s8")
    msg = str(e.value)
    assert "--checkpoint-root" in msg and CHECKPOINT_ENV in msg and "<root>/<run id>/checkpoints/<config>.gin" in msg
    with pytest.raises(CheckpointNotFound) as e:
        reg.resolve_checkpoint("l5", tmp_path)
    msg = str(e.value)
    assert str(tmp_path / reg.model("l5").config_path) in msg and "--checkpoint-root" in msg
    assert "*.ckpt" in msg
    _make_run(tmp_path, reg.model("f1").config_path, ckpt=False)
    with pytest.raises(CheckpointNotFound, match=r"no \*\.ckpt"):
        reg.resolve_checkpoint("f1", tmp_path)
    # a wrongly named config: the error lists what the folder holds
    (tmp_path / "mbgq9od4" / "checkpoints").mkdir(parents=True)
    (tmp_path / "mbgq9od4" / "checkpoints" / "other.gin").write_text("")
    with pytest.raises(CheckpointNotFound, match="other.gin"):
        reg.resolve_checkpoint("l5", tmp_path)


def _fake_hf(cache: Path, repo_id: str, rev: str, with_ref: bool = True) -> Path:
    repo = cache / ("models--" + repo_id.replace("/", "--"))
    snap = repo / "snapshots" / rev
    snap.mkdir(parents=True)
    (snap / "config.gin").write_text("# gin\n")
    (snap / "model.ckpt").write_bytes(b"x")
    if with_ref:
        (repo / "refs").mkdir(exist_ok=True)
        (repo / "refs" / "main").write_text(rev)
    return snap / "config.gin"


def test_find_in_hf_cache(tmp_path, monkeypatch):
    for var in ("HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE", "HF_HOME", "XDG_CACHE_HOME"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert [hf_cache_dir()] == [tmp_path / "home" / ".cache" / "huggingface" / "hub"]
    assert find_in_hf_cache("mtg-upf/omar-rq-base") is None
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hfhome"))
    assert hf_cache_dir() == tmp_path / "hfhome" / "hub"
    old = _fake_hf(tmp_path / "hfhome" / "hub", "mtg-upf/omar-rq-base", "aaaa")
    newer = _fake_hf(tmp_path / "hfhome" / "hub", "mtg-upf/omar-rq-base", "bbbb", with_ref=False)
    assert find_in_hf_cache("mtg-upf/omar-rq-base") == old  # refs/main wins over a newer snapshot
    (old.parents[2] / "refs" / "main").unlink()
    os.utime(old.parent, (1, 1))
    assert find_in_hf_cache("mtg-upf/omar-rq-base") == newer  # else the most recent snapshot
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub2"))
    assert find_in_hf_cache("mtg-upf/omar-rq-base") is None  # HF_HUB_CACHE takes precedence over HF_HOME


def test_checkpoint_status(reg, tmp_path, monkeypatch):
    for var in ("HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE", "HF_HOME", "XDG_CACHE_HOME", CHECKPOINT_ENV):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    status = reg.checkpoint_status()
    assert list(status) == reg.ids()
    assert not status["s8"].present and CHECKPOINT_ENV in status["s8"].where
    assert not status["base"].present and "models--mtg-upf--omar-rq-base" in status["base"].where

    cfg = _make_run(tmp_path / "ckpts", reg.model("b1").config_path)
    hf_cfg = _fake_hf(tmp_path / "hub", "mtg-upf/omar-rq-multifeature", "cafe")
    status = reg.checkpoint_status(tmp_path / "ckpts")
    present = sorted(k for k, s in status.items() if s.present)
    assert present == ["b1", "multifeature"]
    present_flag, where = status["b1"]
    assert present_flag and where == str(cfg)
    assert status["multifeature"].where == str(hf_cfg)
    assert status["s8"].where == str(tmp_path / "ckpts" / reg.model("s8").config_path)
    assert reg.resolve_checkpoint("mtg-upf/omar-rq-multifeature") == hf_cfg
    with pytest.raises(CheckpointNotFound, match="not in the local Hugging Face cache"):
        reg.resolve_checkpoint("base")
