"""Synthesised offline datasets in the real datasets' on-disk layouts (``omar-bench data synth``).

A newcomer has no datasets; these small, deterministic renders (General-MIDI soundfont via tinysoundfont) let the real
loaders, extractors, probes and metrics run end to end::

    from benchmarks.synth import synthesize, SYNTH_SETS
    paths = synthesize(out_dir)          # {"nsynth": <out>/nsynth, "beats": <out>/beats, …}

* ``nsynth`` — NSynth layout (``nsynth-{train,valid,test}/examples.json`` + ``audio/<note_str>.wav``).
* ``beats`` — generic beat layout (``audio/<id>.wav`` + ``annotations/<id>.beats``: ``<time>\\t<beat position>``).
* ``mtat`` — MagnaTagATune layout (``annotations_final.csv`` + ``mp3/<0-f>/<name>.mp3``) plus the clean-split files
  (``split/{train,valid,test,binary,tags}.npy``).
* ``chords`` — Chords1217 layout (``chordlab/<id>.lab`` + ``audio/<id>.mp3`` + five ``train0k/test0k.csv`` folds).
* ``structure`` — Harmonix Set layout (``dataset/segments/*.txt`` + ``dataset/metadata.csv`` + ``audio/``).
* ``difficulty`` — PianoSyllabus layout (``metadata.csv`` + ``audio/<id>.mp3``).
* ``key`` — GiantSteps MTG Key (training) and GiantSteps Key (test) layouts side by side.

The sets are the synthesised sets the task registry names (``Task.synth_set``, :data:`SYNTH_SETS`, in registry
order). A set is one module ``benchmarks/synth/<set>.py`` with

- ``DEFAULTS: dict`` — its sizes and seeds;
- ``n_items(cfg) -> int`` — the number of files it renders (progress);
- ``render(out_dir, cfg, tick)`` — writes the set into ``out_dir`` (``tick(n)`` after each file);
- optionally ``LIBRARIES`` — the packages whose versions change its bytes (default tinysoundfont, soundfile).

Adding a set is that module plus a task naming it; nothing else lists sets. ``cfg/synth.toml`` (or
``$OMAR_BENCH_SYNTH_CONFIG``, or a dict) only overrides ``DEFAULTS`` key by key; the same configuration gives
byte-identical files. Each set is rendered
into a temporary folder and renamed into place at the end, with a ``.complete`` marker holding the hash of the set's
configuration: a set whose marker matches is skipped, a set whose configuration changed is rendered again.
"""
from __future__ import annotations

import copy
import hashlib
import json
import os
import shutil
import time
from importlib import metadata
from pathlib import Path
from typing import Iterable, Mapping

from ..resources import cfg_dir

__all__ = ["SYNTH_SETS", "synth_sets", "SYNTH_VERSION", "synthesize", "load_config", "config_hash", "is_complete",
           "last_timings",
           "CONFIG_PATH"]


def synth_sets() -> tuple[str, ...]:
    """The synthesised sets the task registry names, in registry order (the value of :data:`SYNTH_SETS`)."""
    from ..tasks import all_tasks

    return tuple(dict.fromkeys(t.synth_set for t in all_tasks().values() if t.synth_set))


def __getattr__(name):
    if name == "SYNTH_SETS":  # derived from the task registry on first use (importing the tasks is not free)
        return synth_sets()
    raise AttributeError(name)

#: Bumped whenever the generators change what they write (invalidates existing renders through the marker hash).
SYNTH_VERSION = 2  # 2: the beat set writes its own split (splits.tsv)
CONFIG_PATH = cfg_dir() / "synth.toml"
MARKER = ".complete"


def _merge(base: dict, override: Mapping) -> dict:
    out = copy.deepcopy(base)
    for k, v in override.items():
        if isinstance(v, Mapping) and isinstance(out.get(k), dict):
            out[k] = _merge(out[k], v)
        else:
            out[k] = copy.deepcopy(v)
    return out


def load_config(config: Mapping | str | os.PathLike | None = None) -> dict:
    """The synth configuration, one section per set: each set module's ``DEFAULTS``, overridden key by key by
    ``cfg/synth.toml``, then by ``config`` (a dict, or the path of another TOML file)."""
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib

    base = {name: copy.deepcopy(_module(name).DEFAULTS) for name in synth_sets()}
    with open(CONFIG_PATH, "rb") as f:
        base = _merge(base, tomllib.load(f))
    if config is None:
        return base
    if isinstance(config, (str, os.PathLike)):
        with open(config, "rb") as f:
            return _merge(base, tomllib.load(f))
    return _merge(base, config)


def _library_versions(name: str) -> dict:
    libs = getattr(_module(name), "LIBRARIES", ("tinysoundfont", "soundfile"))
    out = {}
    for lib in libs:
        try:
            out[lib] = metadata.version(lib)
        except metadata.PackageNotFoundError:
            out[lib] = None
    return out


def config_hash(name: str, config: Mapping | None = None) -> str:
    """Hash of everything that determines set ``name``'s files: its config section, the generator version, the
    soundfont's content and the versions of the libraries that render / encode it."""
    from .render import soundfont_sha256

    cfg = load_config(config)
    payload = {"set": name, "version": SYNTH_VERSION, "config": cfg[name], "soundfont": soundfont_sha256(),
               "libraries": _library_versions(name)}
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


def is_complete(folder: str | os.PathLike, digest: str | None = None) -> bool:
    """Whether ``folder`` holds a finished render (of the configuration hashed as ``digest``, when given)."""
    marker = Path(folder) / MARKER
    if not marker.is_file():
        return False
    try:
        info = json.loads(marker.read_text())
    except (OSError, ValueError):
        return False
    return digest is None or info.get("config_hash") == digest


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _clean_stale(out: Path, name: str) -> None:
    """Remove temporary folders left by killed renders of ``name`` (those whose process is gone)."""
    for p in out.glob(f".{name}.tmp-*"):
        try:
            pid = int(p.name.rsplit("-", 1)[1])
        except ValueError:
            continue
        if pid == os.getpid() or not _pid_alive(pid):
            shutil.rmtree(p, ignore_errors=True)


def _module(name: str):
    import importlib

    sets = synth_sets()
    if name not in sets:
        from ..errors import UnknownName

        raise UnknownName(f"unknown synth set {name!r}; choose from {', '.join(sets)}")
    return importlib.import_module(f"{__name__}.{name}")


def synthesize(out_dir: str | os.PathLike, sets: Iterable[str] | None = None,
               config: Mapping | str | os.PathLike | None = None, progress: bool = True) -> dict[str, Path]:
    """Render the synthetic datasets ``sets`` under ``out_dir``; returns ``{set: folder}``.

    ``config`` overrides ``cfg/synth.toml`` key by key (a dict such as ``{"mtat": {"n_clips": 16}}``, or the path of
    another TOML file). Sets already rendered
    with the same configuration are skipped; a set is written to ``<out>/.<set>.tmp-<pid>`` and renamed into place
    only when complete, so an interrupted run never leaves a half-written set behind.
    """
    sets = list(synth_sets() if sets is None else sets)
    for name in sets:
        _module(name)  # validate names before any work
    cfg = load_config(config)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths: dict[str, Path] = {}
    for name in sets:
        final = out / name
        digest = config_hash(name, cfg)
        _clean_stale(out, name)
        if is_complete(final, digest):
            paths[name] = final
            continue
        mod = _module(name)
        tmp = out / f".{name}.tmp-{os.getpid()}"
        tmp.mkdir(parents=True)
        t0 = time.perf_counter()
        try:
            from tqdm.auto import tqdm

            with tqdm(total=mod.n_items(cfg[name]), desc=f"synth {name}", unit="file", disable=not progress,
                      leave=True) as bar:
                mod.render(tmp, cfg[name], tick=bar.update)
            seconds = time.perf_counter() - t0
            # the marker holds no time stamp (byte-identical renders); render time goes to the returned log only
            (tmp / MARKER).write_text(json.dumps({"set": name, "config_hash": digest, "version": SYNTH_VERSION},
                                                 sort_keys=True) + "\n")
            if final.exists():
                old = out / f".{name}.old-{os.getpid()}"
                if old.exists():
                    shutil.rmtree(old)
                final.rename(old)
                tmp.rename(final)
                shutil.rmtree(old, ignore_errors=True)
            else:
                tmp.rename(final)
            _LAST_TIMINGS[name] = seconds
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        paths[name] = final
    return paths


#: Seconds spent rendering each set in the last :func:`synthesize` call of this process (for logs / notes).
_LAST_TIMINGS: dict[str, float] = {}


def last_timings() -> dict[str, float]:
    return dict(_LAST_TIMINGS)
