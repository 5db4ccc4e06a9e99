"""The synthesised offline sets as pretraining audio: what ``omar-bench pretrain`` (and ``make demo``) train the tiny
model on when a config asks for ``data_dir = "synth:"`` and no data is given.

Only the *training* and *validation* splits' audio of the NSynth-, beat- and MTAT-layout sets is listed, so the
probes' test audio stays unseen by pretraining.
"""
from __future__ import annotations

import os
from pathlib import Path

from .cache import default_cache_dir
from .data_location import SYNTH_CONFIG_ENV

__all__ = ["train_filelists", "synth_pretraining_data"]


def train_filelists(synth_root: Path, out_dir: Path) -> tuple[Path, Path]:
    """File lists (relative to ``synth_root``) of the train and valid splits' audio of the three synthesised sets."""
    from .datasets import load_beats, load_mtat, load_nsynth

    indexes = [load_nsynth(synth_root / "nsynth"), load_mtat(synth_root / "mtat"), load_beats(synth_root / "beats")]
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for split in ("train", "valid"):
        files = sorted(str(Path(e.audio_path).resolve().relative_to(synth_root.resolve()))
                       for idx in indexes for e in idx.split(split))
        p = out_dir / f"pretrain-{split}.txt"
        p.write_text("\n".join(files) + "\n")
        paths.append(p)
    return paths[0], paths[1]


def synth_pretraining_data(cache_dir: str | os.PathLike | None = None,
                           progress: bool = True) -> tuple[Path, Path, Path]:
    """``(data_dir, filelist_train, filelist_val)`` of the synthesised sets (rendered when missing)."""
    from .synth import synthesize

    cache = Path(cache_dir).expanduser() if cache_dir else default_cache_dir()
    root = cache / "synth"
    synthesize(root, sets=("nsynth", "beats", "mtat"), config=os.environ.get(SYNTH_CONFIG_ENV) or None,
               progress=progress)
    train, valid = train_filelists(root, cache / "models")
    return root, train, valid
