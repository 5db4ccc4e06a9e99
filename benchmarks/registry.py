"""The model registry: which OMAR-RQ models exist, where their checkpoints live, what was published for them.

The registry is data, not code: `results/reference/{models,released,reference_scores}.csv` (documented in that folder's
README). Adding a model is a CSV edit; this module only loads, resolves and checks presence.

- Development models (the seed tables' `b0` … `f1`) are not public: users bring the authors' run folders and point us at
  a checkpoint root (`--checkpoint-root` or `$OMAR_BENCH_CHECKPOINTS`) laid out as
  `<root>/<run id>/checkpoints/<config>.gin` + a Lightning `*.ckpt`.
- Released models live on Hugging Face (`mtg-upf/omar-rq-<name>`); presence means "already in the local Hugging Face
  cache". `find_in_hf_cache` reads the cache layout directly so that listing models needs neither the network nor
  `huggingface_hub`.
"""
from __future__ import annotations

import csv
import math
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import NamedTuple
from omar_rq.hub import find_in_hf_cache, hf_cache_dir, hf_repo_dir

from .resources import reference_dir
from omar_rq.errors import UserError

REFERENCE_DIR = reference_dir()
CHECKPOINT_ENV = "OMAR_BENCH_CHECKPOINTS"
CHECKPOINT_FLAG = "--checkpoint-root"
HF_ORG = "mtg-upf"
HF_PREFIX = "omar-rq-"
EXPECTED_LAYOUT = "<root>/<run id>/checkpoints/<config>.gin + *.ckpt"


class UnknownModel(UserError, KeyError):
    """A model name the registry does not know (neither a short id nor an `mtg-upf/omar-rq-*` id)."""

    def __str__(self) -> str:  # KeyError's str() would quote the whole message
        return str(self.args[0]) if self.args else "unknown model"


class CheckpointNotFound(UserError, FileNotFoundError):
    """A model's weights are not where the registry says they should be; the message says where it looked."""


@dataclass(frozen=True)
class ModelEntry:
    """One registry row. `kind` is "dev" (seed-table run folder) or "released" (Hugging Face)."""

    id: str
    kind: str
    table: str  # "baseline" | "multiview" | "freesound" | "released" | "" (known but in no table)
    input: str
    project_config: str
    # development models
    arch: str = ""
    size: str = ""
    target: str = ""
    run_id: str = ""
    steps: int | None = None
    config_path: str = ""
    # released models
    hf_id: str = ""
    rate_hz: float | None = None
    rate_hz_printed: str = ""
    sample_rate: int | None = None
    note: str = ""


@dataclass(frozen=True)
class ReferenceScore:
    """One published number. `value` is None when the table leaves the cell empty (not reported) and NaN when the
    table prints NaN (reported as NaN); `printed` keeps the cell's text."""

    table: str
    model: str
    column: str
    task: str
    metric: str
    value: float | None
    printed: str
    source: str

    @property
    def reported(self) -> bool:
        return self.value is not None

    @property
    def reported_nan(self) -> bool:
        return self.value is not None and math.isnan(self.value)


class CheckpointStatus(NamedTuple):
    """Whether a model's weights are available locally; `where` is the found path or where we looked / why not."""

    present: bool
    where: str


def reference_column(task: str, metric: str) -> str:
    """The column label of a (task, metric) reference of a table built from reference numbers (``marble``)."""
    return f"{task} {metric}"


def _read_csv(path: Path) -> list[dict[str, str]]:
    # The csv module (not pandas) so that "NaN" and "" stay distinct strings.
    if not path.is_file():
        raise FileNotFoundError(f"registry data file missing: {path} (expected in {REFERENCE_DIR})")
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def _parse_value(text: str) -> float | None:
    text = text.strip()
    if text == "":
        return None
    return float(text)  # "NaN" -> nan


def _opt_int(text: str) -> int | None:
    return int(text) if text.strip() else None


def _opt_float(text: str) -> float | None:
    return float(text) if text.strip() else None


class Registry:
    """The models of the seed tables and the released models, with their published scores."""

    def __init__(self, models: list[ModelEntry], scores: list[ReferenceScore]):
        self._models = {m.id: m for m in models}
        if len(self._models) != len(models):
            raise ValueError("duplicate model ids in the registry data")
        self._order = [m.id for m in models]
        self._scores = list(scores)
        self._by_hf = {m.hf_id.lower(): m.id for m in models if m.hf_id}
        for s in self._scores:
            if s.model not in self._models:
                raise ValueError(f"reference_scores.csv names unknown model {s.model!r}")

    @classmethod
    def load(cls, reference_dir: str | os.PathLike | None = None) -> "Registry":
        """Read `models.csv`, `released.csv` and `reference_scores.csv` from `reference_dir` (default:
        the project's `results/reference/`)."""
        d = Path(reference_dir) if reference_dir is not None else REFERENCE_DIR
        models: list[ModelEntry] = []
        for r in _read_csv(d / "models.csv"):
            models.append(ModelEntry(
                id=r["id"], kind="dev", table=r["table"], input=r["input"], project_config=r["project_config"],
                arch=r["arch"], size=r["size"], target=r["target"], run_id=r["run_id"],
                steps=_opt_int(r["steps"]), config_path=r["config_path"]))
        for r in _read_csv(d / "released.csv"):
            models.append(ModelEntry(
                id=r["name"], kind="released",
                table="released" if r["in_released_table"].strip().lower() == "true" else "",
                input=r["input"], project_config=r["project_config"], hf_id=r["hf_id"],
                rate_hz=_opt_float(r["rate_hz"]), rate_hz_printed=r["rate_hz_printed"],
                sample_rate=_opt_int(r["sample_rate"]), note=r["note"]))
        scores = [ReferenceScore(table=r["table"], model=r["model"], column=r["column"], task=r["task"],
                                 metric=r["metric"], value=_parse_value(r["value"]), printed=r["value"],
                                 source=r["source"])
                  for r in _read_csv(d / "reference_scores.csv")]
        if (d / "marble.csv").is_file():
            scores += [ReferenceScore(table="marble", model=r["model"], column=reference_column(r["task"], r["metric"]),
                                      task=r["task"], metric=r["metric"], value=_parse_value(r["value"]),
                                      printed=r["printed"], source=r["source"])
                       for r in _read_csv(d / "marble.csv")]
        return cls(models, scores)

    # ---- lookup -------------------------------------------------------------------------------------------------
    def canonical(self, name: str) -> str | None:
        """The short id for `name` (a short id, `mtg-upf/omar-rq-<name>` or `omar-rq-<name>`), or None."""
        if name in self._models:
            return name
        low = name.strip().lower().rstrip("/")
        if low in self._models:
            return low
        if low in self._by_hf:
            return self._by_hf[low]
        if low.startswith(HF_PREFIX) and f"{HF_ORG}/{low}" in self._by_hf:
            return self._by_hf[f"{HF_ORG}/{low}"]
        return None

    def model(self, name: str) -> ModelEntry:
        """The entry for a short id or a Hugging Face id; `UnknownModel` lists the known ids otherwise."""
        cid = self.canonical(name)
        if cid is None:
            raise UnknownModel(f"unknown model {name!r}; known: {', '.join(self._order)} "
                               f"(released models also as {HF_ORG}/{HF_PREFIX}<name>)")
        return self._models[cid]

    def __contains__(self, name: str) -> bool:
        return self.canonical(name) is not None

    def ids(self) -> list[str]:
        """All ids in registry file order (seed tables first, then released models): a stable, meaningful order."""
        return list(self._order)

    def dev_models(self) -> list[ModelEntry]:
        return [self._models[i] for i in self._order if self._models[i].kind == "dev"]

    def released_models(self, in_table_only: bool = False) -> list[ModelEntry]:
        """Released models; `in_table_only` keeps the five of the released-models table."""
        return [self._models[i] for i in self._order if self._models[i].kind == "released"
                and (not in_table_only or self._models[i].table == "released")]

    def table_members(self, table: str) -> list[str]:
        """Ids of the models in a published table, in file order: the models the registry places in it, else (a
        table of reference numbers only, e.g. ``marble``) the models it has reference scores for."""
        members = [i for i in self._order if self._models[i].table == table]
        if members:
            return members
        scored = {s.model for s in self._scores if s.table == table}
        return [i for i in self._order if i in scored]

    def table_columns(self, table: str) -> list[tuple[str, str]]:
        """The distinct ``(task, metric)`` pairs of a table's reference scores, in file order."""
        return list(dict.fromkeys((s.task, s.metric) for s in self._scores if s.table == table))

    def reference_scores(self) -> list[ReferenceScore]:
        return list(self._scores)

    def reference(self, table: str, model: str, column: str) -> ReferenceScore | None:
        for s in self._scores:
            if s.table == table and s.model == model and s.column == column:
                return s
        return None

    def references_for(self, model: str, task: str, metric: str) -> list[ReferenceScore]:
        """Published numbers for (model, task, metric) across tables, reported ones only."""
        cid = self.canonical(model) or model
        return [s for s in self._scores if s.model == cid and s.task == task and s.metric == metric and s.reported]

    # ---- checkpoints ----------------------------------------------------------------------------------------------
    def resolve_checkpoint(self, name: str, checkpoint_root: str | os.PathLike | None = None) -> Path:
        """Path of the model's gin config, with its weights checked to be beside it.

        Development models: `<root>/<config path>`, the root from `checkpoint_root` or `$OMAR_BENCH_CHECKPOINTS`;
        the folder must also hold a `*.ckpt`. Released models: the `config.gin` of the cached Hugging Face snapshot
        (no download here). Raises `CheckpointNotFound` saying where it looked and how to set the root.
        """
        m = self.model(name)
        if m.kind == "released":
            found = find_in_hf_cache(m.hf_id)
            if found is None:
                raise CheckpointNotFound(
                    f"{m.hf_id} is not in the local Hugging Face cache (looked in: "
                    f"{hf_cache_dir()}); download it first "
                    f"(e.g. `huggingface-cli download {m.hf_id}`) or set $HF_HUB_CACHE / $HF_HOME")
            return found
        root = _checkpoint_root(checkpoint_root)
        if root is None:
            raise CheckpointNotFound(
                f"model {m.id} needs its training run folder ({m.run_id}), but no checkpoint root is set: pass "
                f"{CHECKPOINT_FLAG} DIR or set ${CHECKPOINT_ENV}; expected layout {EXPECTED_LAYOUT} "
                f"(for {m.id}: <root>/{m.config_path})")
        cfg = root / m.config_path
        if not cfg.is_file():
            folder = cfg.parent
            seen = sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []
            hint = f"; that folder holds: {', '.join(seen)}" if seen else f"; {folder} does not exist"
            raise CheckpointNotFound(
                f"checkpoint of model {m.id} not found: looked for {cfg}{hint}. Expected layout {EXPECTED_LAYOUT}; "
                f"the root comes from {CHECKPOINT_FLAG} or ${CHECKPOINT_ENV} (now: {root})")
        if not any(cfg.parent.glob("*.ckpt")):
            raise CheckpointNotFound(
                f"model {m.id}: found {cfg} but no *.ckpt beside it in {cfg.parent} "
                f"(expected layout {EXPECTED_LAYOUT})")
        return cfg

    def checkpoint_status(self, checkpoint_root: str | os.PathLike | None = None) -> dict[str, CheckpointStatus]:
        """Presence of every model's weights, for `omar-bench models`; never raises for a missing checkpoint."""
        root = _checkpoint_root(checkpoint_root)
        out: dict[str, CheckpointStatus] = {}
        for mid in self._order:
            m = self._models[mid]
            if m.kind == "dev" and root is None:
                out[mid] = CheckpointStatus(False, f"no checkpoint root ({CHECKPOINT_FLAG} or ${CHECKPOINT_ENV})")
                continue
            try:
                out[mid] = CheckpointStatus(True, str(self.resolve_checkpoint(mid, root)))
            except CheckpointNotFound:
                if m.kind == "dev":
                    out[mid] = CheckpointStatus(False, str(root / m.config_path))
                else:
                    out[mid] = CheckpointStatus(False, f"not in HF cache: {hf_repo_dir(m.hf_id)}")
        return out


def _checkpoint_root(arg: str | os.PathLike | None) -> Path | None:
    if arg is not None and str(arg) != "":
        return Path(arg).expanduser()
    env = os.environ.get(CHECKPOINT_ENV, "")
    return Path(env).expanduser() if env else None


# ---- module-level conveniences over the default registry -------------------------------------------------------------
@lru_cache(maxsize=1)
def default_registry() -> Registry:
    """The project's registry (cached; the CSVs are read once per process)."""
    return Registry.load()


def resolve_checkpoint(name: str, checkpoint_root: str | os.PathLike | None = None) -> Path:
    return default_registry().resolve_checkpoint(name, checkpoint_root)


def checkpoint_status(checkpoint_root: str | os.PathLike | None = None) -> dict[str, CheckpointStatus]:
    return default_registry().checkpoint_status(checkpoint_root)
