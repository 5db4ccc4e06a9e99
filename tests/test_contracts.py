"""``notes/CONTRACTS.md`` against the code: the result record block of the contracts note is read and an actual
record, written by a real run, must hold every field it shows, nested as shown (fields marked optional may be
missing); the hashes it names are the ones the code computes."""
from __future__ import annotations

import json
import re
from pathlib import Path

from benchmarks.cli import main as cli
from benchmarks.records import load_records
from layouts import write_nsynth

ROOT = Path(__file__).resolve().parents[1]


def _documented_record() -> tuple[dict, set[str]]:
    """The record block of CONTRACTS.md as a dict (comments stripped), and the keys marked optional."""
    text = (ROOT / "notes" / "CONTRACTS.md").read_text(encoding="utf-8")
    block = text.split("## Result record", 1)[1].split("```json\n", 1)[1].split("\n```", 1)[0]
    lines, optional = [], set()
    for line in block.splitlines():
        code, _, comment = line.partition("  # ")
        if "optional" in comment:
            optional.add(re.search(r'"([^"]+)":', code).group(1))
        lines.append(code)
    return json.loads("\n".join(lines)), optional


#: Objects whose keys the note shows as an example only (they depend on the task or the dataset): present, not compared.
EXAMPLE_CONTENT = {"metrics", "metrics_std", "n_examples", "grid", "info", "notes"}


def _missing(doc, rec, optional: set[str], path: str = "") -> list[str]:
    out = []
    if isinstance(doc, dict):
        if not isinstance(rec, dict):
            return [f"{path or 'record'} is {type(rec).__name__}, the note shows an object"]
        for key, value in doc.items():
            if key == "...":
                continue
            if key not in rec:
                if key not in optional:
                    out.append(f"{path}{key}")
                continue
            if isinstance(value, dict) and value and key not in EXAMPLE_CONTENT:
                out += _missing(value, rec[key], optional, f"{path}{key}.")
    return out


def test_the_documented_block_parses_and_the_finder_can_fail():
    doc, optional = _documented_record()
    assert {"schedule", "peak_device_mb", "tracks"} <= optional
    assert _missing(doc, {"model": "x"}, optional)[:3] == ["schema_version", "model_info", "task"]
    assert _missing({"protocol": {"frontend": {"chunk_seconds": 1}}}, {"protocol": {"chunk_seconds": 1}}, set()) \
        == ["protocol.frontend"]


def test_an_actual_record_has_every_documented_field(tmp_path):
    data = write_nsynth(tmp_path / "nsynth")
    assert cli(["run", "--model", "mel", "--task", "nsynth-pitch", "--data-dir", str(data), "--cache-dir",
                str(tmp_path / "c"), "--results-dir", str(tmp_path / "r"), "--probe", "linear", "--max-epochs", "2",
                "--quiet"]) == 0
    rec = load_records(tmp_path / "r")[0]
    doc, optional = _documented_record()
    assert _missing(doc, rec, optional) == []
    assert "tracks" in rec and rec["protocol"]["frontend"]["chunk_seconds"] == 4.0
    # the hashes the note names: blake2b-160 for fingerprints, blake2b for the sidecar's name
    assert doc["model_info"]["fingerprint"].startswith("blake2b-160")
    assert re.fullmatch(r"[0-9a-f]{40}", rec["model_info"]["fingerprint"])
    assert rec["tracks"]["file"] == f"tracks-{rec['tracks']['blake2b']}.npz"
