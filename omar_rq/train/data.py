"""Pretraining data: random fixed-length crops of an audio folder or of file lists (a ``LightningDataModule``).

Sources: ``data_dir`` alone is scanned recursively for :data:`omar_rq.audio.AUDIO_EXTENSIONS`; ``filelist_train`` /
``filelist_val`` are text files with one audio path per line (blank lines and ``#`` comments ignored), relative paths
taken relative to ``data_dir`` (the list file itself is looked up as given, then inside ``data_dir``).

Decisions (see notes/pretraining.md):

* **Crop length.** ``num_frames`` counts samples at ``orig_freq`` (the released configs: 480000 at 16 kHz = 30 s,
  whatever ``new_freq``); the crop is ``num_frames / orig_freq`` seconds at ``new_freq``. Without ``orig_freq`` it
  counts samples at ``new_freq``.
* **Short files** (shorter than a crop) are zero-padded at the end, not skipped: the synthesised NSynth notes (4 s)
  stay usable with longer crops.
* **Caching.** ``cache="auto"`` decodes every file once (in :meth:`AudioDataModule.setup`, a few threads) into memory
  (float16 with ``half_precision``) when the decoded total fits ``cache_mb``; crops are then slices (microseconds).
  Otherwise (``cache="never"`` or too big) only headers are read up front and each crop is read from its file with a
  seek (no full decode).
* **Bad files** (undecodable, empty, truncated, non-finite: :func:`omar_rq.audio.load_audio`'s checks) are reported
  once each (a log warning naming the file and the reason, also kept in :attr:`AudioDataModule.skipped`) and left out.
* **Validation.** ``filelist_val`` when given; else a seeded hold-out of ``val_fraction`` of the training files
  (at least 1 when there are 2 or more files, at most ``max_val_files``). Validation crops are deterministic: the same
  offset for a file at every validation (seeded by ``seed`` and the file's index).
"""
from __future__ import annotations

import logging
import math
import os
import random
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import lightning as L
import numpy as np
import soundfile as sf
import torch
from torch.utils.data import DataLoader, Dataset

from ..errors import UserError
from ..audio import AUDIO_EXTENSIONS, AudioLoadError, audio_info, load_audio
from ..resample import resample

log = logging.getLogger("omar_rq.train")

__all__ = ["AudioDataModule", "AudioCropDataset", "AudioSource", "list_audio_files", "read_file_list",
           "DataSetupError"]


class DataSetupError(UserError, ValueError):
    """The data settings do not give any usable audio (missing folder or list, no audio files, all files bad)."""


def _is_rank_zero() -> bool:
    for var in ("RANK", "LOCAL_RANK", "SLURM_PROCID"):
        if os.environ.get(var, "0") not in ("0", ""):
            return False
    return True


def list_audio_files(folder: str | os.PathLike) -> list[Path]:
    """Audio files (by extension, case-insensitive) under ``folder``, recursively, sorted; hidden entries skipped."""
    folder = Path(folder)
    if not folder.is_dir():
        raise DataSetupError(f"audio folder not found: {folder}")
    out = []
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        out.extend(Path(root) / f for f in files if not f.startswith(".") and f.lower().endswith(AUDIO_EXTENSIONS))
    return sorted(out)


def read_file_list(filelist: str | os.PathLike, data_dir: str | os.PathLike | None = None) -> list[Path]:
    """Paths listed in ``filelist`` (one per line; blanks and ``#`` comments skipped); relative ones are taken under
    ``data_dir`` (else the list's folder)."""
    p = Path(filelist).expanduser()
    if not p.is_file() and data_dir is not None and not p.is_absolute() and (Path(data_dir) / p).is_file():
        p = Path(data_dir) / p
    if not p.is_file():
        raise DataSetupError(f"file list not found: {filelist}" + (f" (also looked in {data_dir})" if data_dir else ""))
    base = Path(data_dir).expanduser() if data_dir is not None else p.parent
    out = []
    for line in p.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        q = Path(line).expanduser()
        out.append(q if q.is_absolute() else base / q)
    return out


@dataclass
class _Entry:
    path: Path
    n_samples: int              # at the target rate (estimated from the header in lazy mode)
    audio: torch.Tensor | None  # decoded (cached mode)
    file_sr: int = 0


class AudioSource:
    """The usable files of one split, decoded into memory (cached) or read crop by crop (lazy).

    ``skipped``: ``[(path, reason), ...]`` of the files left out at setup.
    """

    def __init__(self, files: list[Path], sr: int, cache: bool, half_precision: bool = False, threads: int = 2,
                 report=None):
        self.sr, self.cache, self.half = int(sr), bool(cache), bool(half_precision)
        self.skipped: list[tuple[str, str]] = []
        self._bad_at_runtime: set[str] = set()
        report = report or (lambda path, reason: None)
        dtype = torch.float16 if self.half else torch.float32

        def prepare(path: Path):
            try:
                if self.cache:
                    x = load_audio(path, self.sr)
                    return _Entry(path, int(x.shape[-1]), x.to(dtype).contiguous())
                info = audio_info(path)
                return _Entry(path, int(math.ceil(info.frames * self.sr / info.samplerate)), None, info.samplerate)
            except AudioLoadError as e:
                return e

        with ThreadPoolExecutor(max_workers=max(1, threads)) as pool:
            results = list(pool.map(prepare, files))
        self.entries: list[_Entry] = []
        for path, r in zip(files, results):
            if isinstance(r, AudioLoadError):
                self.skipped.append((str(path), r.reason))
                report(str(path), r.reason)
            else:
                self.entries.append(r)

    def __len__(self) -> int:
        return len(self.entries)

    @property
    def total_seconds(self) -> float:
        return sum(e.n_samples for e in self.entries) / self.sr

    def crop(self, i: int, start: int, length: int) -> torch.Tensor:
        """Samples ``[start, start + length)`` of file ``i`` at ``sr`` (zero-padded past its end)."""
        e = self.entries[i]
        if e.audio is not None:
            x = e.audio[start:start + length]
        else:
            x = self._read(e, start, length)
        if x.shape[-1] < length:
            x = torch.nn.functional.pad(x, (0, length - x.shape[-1]))
        return x

    def _read(self, e: _Entry, start: int, length: int) -> torch.Tensor:
        """Read one crop from the file with a seek (lazy mode); resample to ``sr``; mono."""
        f0 = int(math.floor(start * e.file_sr / self.sr))
        n = int(math.ceil(length * e.file_sr / self.sr)) + 1
        try:
            with sf.SoundFile(str(e.path)) as f:
                f.seek(min(f0, max(0, f.frames - 1)))
                data = f.read(n, dtype="float32", always_2d=True)
        except (sf.LibsndfileError, RuntimeError, TypeError, ValueError, OSError) as err:
            raise AudioLoadError(e.path, f"not readable ({err})") from None
        if data.shape[0] == 0 or not np.isfinite(data).all():
            raise AudioLoadError(e.path, "no audio samples at the crop" if data.shape[0] == 0
                                 else "contains NaN or infinite samples")
        x = torch.from_numpy(np.ascontiguousarray(data.mean(axis=1)))
        if e.file_sr != self.sr:
            x = resample(x, e.file_sr, self.sr)
        x = x[:length]
        return x.half() if self.half else x


class AudioCropDataset(Dataset):
    """Fixed-length crops ``(crop_samples,)`` of an :class:`AudioSource`.

    ``random_crop=True`` (training): a uniformly random offset at every access. ``False`` (validation): a fixed offset
    per file, drawn from ``seed`` and the file's index. ``length`` (default: the number of files) lets a tiny training
    set still fill whole batches: item ``i`` reads file ``i % n_files``.
    """

    def __init__(self, source: AudioSource, crop_samples: int, random_crop: bool, seed: int = 0,
                 length: int | None = None):
        if len(source) == 0:
            raise DataSetupError("no usable audio files")
        self.source, self.crop_samples = source, int(crop_samples)
        self.random_crop, self.seed = bool(random_crop), int(seed)
        self.length = max(len(source), int(length or 0))

    def __len__(self) -> int:
        return self.length

    def _start(self, i: int) -> int:
        slack = self.source.entries[i].n_samples - self.crop_samples
        if slack <= 0:
            return 0
        if self.random_crop:
            return int(torch.randint(0, slack + 1, ()).item())
        return random.Random(self.seed * 1_000_003 + i).randint(0, slack)

    def __getitem__(self, idx: int) -> torch.Tensor:
        n = len(self.source)
        for attempt in range(min(n, 8)):
            i = (idx + attempt) % n
            path = str(self.source.entries[i].path)
            if path in self.source._bad_at_runtime:
                continue
            try:
                return self.source.crop(i, self._start(i), self.crop_samples)
            except AudioLoadError as e:  # lazy mode: a file that fails only when read
                self.source._bad_at_runtime.add(path)
                log.warning("skipping bad audio file %s: %s", path, e.reason)
        raise DataSetupError(f"no readable audio file around index {idx} (tried {min(n, 8)})")


def collate_crops(items: list[torch.Tensor]) -> torch.Tensor:
    """Stack equal-length crops into ``(B, T)`` (via numpy: ``torch.stack`` of many 1-D tensors was measured ~300x
    slower on the 2-core machine with two intra-op threads)."""
    return torch.from_numpy(np.stack([t.numpy() for t in items]))


class AudioDataModule(L.LightningDataModule):
    """Random crops of an audio folder or of file lists, for :class:`omar_rq.maskingmodel.MaskingModel`.

    Mirrors the released configs' bindings: ``AudioDataset.num_frames / .orig_freq / .new_freq / .mono /
    .half_precision``, ``AudioDataModule.num_workers``, ``DiscotubeAudioDataModule.batch_size / .data_dir /
    .filelist_train / .filelist_val`` (see :func:`omar_rq.train.pretrain`). Batches are ``(B, crop_samples)``
    tensors at ``new_freq`` (float16 with ``half_precision``; the module computes in float32).

    After :meth:`setup`: ``train_files`` / ``val_files`` (usable paths), ``skipped`` (``[(path, reason)]``) and
    ``setup_seconds``.
    """

    def __init__(self, data_dir: str | os.PathLike | None = None, filelist_train: str | os.PathLike | None = None,
                 filelist_val: str | os.PathLike | None = None, batch_size: int = 16, num_workers: int = 0,
                 num_frames: int = 480000, orig_freq: int | None = None, new_freq: int = 16000, mono: bool = True,
                 half_precision: bool = False, val_fraction: float = 0.05, max_val_files: int = 500, seed: int = 0,
                 cache: str = "auto", cache_mb: float = 4096, decode_threads: int | None = None):
        super().__init__()
        if not mono:
            raise ValueError("AudioDataset.mono = False is not supported: OMAR-RQ models take mono audio")
        if cache not in ("auto", "always", "never"):
            raise ValueError(f"cache must be 'auto', 'always' or 'never', got {cache!r}")
        if data_dir is None and filelist_train is None:
            raise DataSetupError("no training data: give data_dir (an audio folder, or the root of the file lists) "
                                 "and/or filelist_train")
        self.data_dir = Path(data_dir).expanduser() if data_dir is not None else None
        self.filelist_train, self.filelist_val = filelist_train, filelist_val
        self.batch_size, self.num_workers = int(batch_size), int(num_workers)
        self.new_freq = int(new_freq)
        self.orig_freq = int(orig_freq) if orig_freq else self.new_freq
        self.num_frames = int(num_frames)
        self.crop_seconds = self.num_frames / self.orig_freq
        self.crop_samples = int(round(self.crop_seconds * self.new_freq))
        self.half_precision = bool(half_precision)
        self.val_fraction, self.max_val_files, self.seed = float(val_fraction), int(max_val_files), int(seed)
        self.cache, self.cache_mb = cache, float(cache_mb)
        self.decode_threads = decode_threads or min(4, os.cpu_count() or 1)
        self.train_files: list[Path] = []
        self.val_files: list[Path] = []
        self.skipped: list[tuple[str, str]] = []
        self.setup_seconds = 0.0
        self._train: AudioSource | None = None
        self._val: AudioSource | None = None

    # -- file lists --------------------------------------------------------------------------------------------------
    def split_files(self) -> tuple[list[Path], list[Path]]:
        """Training and validation file paths (before any decoding)."""
        if self.filelist_train is not None:
            train = read_file_list(self.filelist_train, self.data_dir)
        else:
            train = list_audio_files(self.data_dir)
        if not train:
            where = self.filelist_train or self.data_dir
            raise DataSetupError(f"no audio files in {where} (extensions: {', '.join(AUDIO_EXTENSIONS)})")
        if self.filelist_val is not None:
            return train, read_file_list(self.filelist_val, self.data_dir)
        n_val = 0
        if len(train) >= 2 and self.val_fraction > 0:
            n_val = min(self.max_val_files, len(train) - 1, max(1, round(self.val_fraction * len(train))))
        order = list(range(len(train)))
        random.Random(self.seed).shuffle(order)
        held = set(order[:n_val])
        return [f for i, f in enumerate(train) if i not in held], [f for i, f in enumerate(train) if i in held]

    def _use_cache(self, files: list[Path]) -> bool:
        if self.cache != "auto":
            return self.cache == "always"
        bytes_per_sample = 2 if self.half_precision else 4
        total = 0.0
        for f in files:
            try:
                info = sf.info(str(f))
                total += info.frames / info.samplerate * self.new_freq * bytes_per_sample
            except Exception:  # noqa: BLE001 - bad files are reported when decoded
                continue
            if total > self.cache_mb * 2**20:
                return False
        return True

    # -- Lightning -------------------------------------------------------------------------------------------------
    def setup(self, stage: str | None = None) -> None:
        if self._train is not None:
            return
        import time

        t0 = time.perf_counter()
        train, val = self.split_files()
        cache = self._use_cache(train + val)
        seen: set[str] = set()
        rank0 = _is_rank_zero()

        def report(path: str, reason: str) -> None:
            if path not in seen and rank0:
                log.warning("skipping bad audio file %s: %s", path, reason)
            seen.add(path)

        kw = dict(sr=self.new_freq, cache=cache, half_precision=self.half_precision, threads=self.decode_threads,
                  report=report)
        self._train = AudioSource(train, **kw)
        self._val = AudioSource(val, **kw) if val else None
        self.skipped = self._train.skipped + (self._val.skipped if self._val else [])
        self.train_files = [e.path for e in self._train.entries]
        self.val_files = [e.path for e in self._val.entries] if self._val else []
        self.setup_seconds = time.perf_counter() - t0
        if not self.train_files:
            raise DataSetupError(f"none of the {len(train)} training files is usable; first problems: "
                                 + "; ".join(f"{p}: {r}" for p, r in self.skipped[:3]))
        if rank0:
            log.info("pretraining data: %d training files (%.1f min), %d validation files, %d skipped; crops of "
                     "%.2f s at %d Hz; %s; set up in %.1f s", len(self.train_files), self._train.total_seconds / 60,
                     len(self.val_files), len(self.skipped), self.crop_seconds, self.new_freq,
                     "decoded into memory" if cache else "read crop by crop from disk", self.setup_seconds)

    def train_dataloader(self) -> DataLoader:
        ds = AudioCropDataset(self._train, self.crop_samples, random_crop=True, seed=self.seed,
                              length=self.batch_size)
        return DataLoader(ds, batch_size=self.batch_size, shuffle=True, drop_last=True, collate_fn=collate_crops,
                          num_workers=self.num_workers, persistent_workers=self.num_workers > 0,
                          pin_memory=torch.cuda.is_available())

    def val_dataloader(self):
        if self._val is None or len(self._val) == 0:
            return []
        ds = AudioCropDataset(self._val, self.crop_samples, random_crop=False, seed=self.seed)
        return DataLoader(ds, batch_size=self.batch_size, shuffle=False, drop_last=False, collate_fn=collate_crops,
                          num_workers=self.num_workers, persistent_workers=self.num_workers > 0,
                          pin_memory=torch.cuda.is_available())

    def describe(self) -> dict:
        """A JSON-able summary of the data (files, hours, skipped files, caching) for the run record."""
        return {"data_dir": str(self.data_dir) if self.data_dir else None,
                "filelist_train": str(self.filelist_train) if self.filelist_train else None,
                "filelist_val": str(self.filelist_val) if self.filelist_val else None,
                "n_train_files": len(self.train_files), "n_val_files": len(self.val_files),
                "train_hours": (self._train.total_seconds / 3600) if self._train else None,
                "crop_seconds": self.crop_seconds, "crop_samples": self.crop_samples, "sample_rate": self.new_freq,
                "cached_in_memory": bool(self._train.cache) if self._train else None,
                "setup_seconds": round(self.setup_seconds, 2),
                "skipped_files": [{"path": p, "reason": r} for p, r in self.skipped]}
