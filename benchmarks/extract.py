"""Embedding extraction for the probes: audio files → cached per-layer embeddings, one forward pass per file.

Two frontends (protocols.md, "Common probe protocol"):

- ``clip`` (tagging, NSynth): each file is cut into chunks of ``chunk_seconds`` with ``overlap`` (50 %); a last,
  shorter chunk is kept only if it is at least ``min_last`` (10 %) of a chunk; a file shorter than one chunk is one
  chunk. Every chunk's embeddings are averaged over time → one vector per (chunk, layer), stored ``(n_chunks, C)``.
  Chunks of equal length — from many files — are batched together.
- ``frame`` (beat tracking): the whole file at the model's rate ``eps`` (long files are windowed by the model),
  stored ``(N, C)``.

A file that cannot be decoded (missing, empty, truncated, not audio, NaN) or is too short for one embedding is
reported (path + reason) and skipped; everything else is extracted.

Data off the device: a clip batch is averaged over time on the encoder's device, so ``(B, C)`` per layer is copied
instead of ``(B, N, C)`` (the same float32 mean as before: the cached vectors are unchanged). Only the layers still
missing are asked of the encoder, and on CUDA they are copied into pinned host memory with non-blocking copies.
``Extraction.busy_seconds`` is the time spent in the encoder's forward passes (CUDA synchronised), so
``busy_seconds / seconds`` is the share of the extraction the encoder was busy (``encoder_busy_share`` in a record).
"""
from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import torch
from tqdm.auto import tqdm

from omar_rq.audio import AudioLoadError, load_audio

from .cache import EmbeddingCache, content_hash


@dataclass(frozen=True)
class Frontend:
    """How a file becomes model input and cached vectors (part of the cache key)."""

    mode: str                       # "clip" | "frame"
    chunk_seconds: float | None = None
    overlap: float = 0.5
    min_last: float = 0.1

    def key(self, sr: int) -> str:
        if self.mode == "frame":
            return f"frame-sr{sr}"
        return f"clip-c{self.chunk_seconds:g}-o{self.overlap:g}-m{self.min_last:g}-sr{sr}-mean"

    def describe(self) -> dict:
        d = {"mode": self.mode}
        if self.mode == "clip":
            d |= {"chunk_seconds": self.chunk_seconds, "overlap": self.overlap, "min_last_fraction": self.min_last,
                  "pooling": "mean over time per chunk; track score = mean of chunk predictions"}
        else:
            d |= {"pooling": "none (frame-level at the model's rate)"}
        return d


def chunk_spans(n_samples: int, sr: int, chunk_seconds: float, overlap: float = 0.5,
                min_last: float = 0.1) -> list[tuple[int, int]]:
    """``[start, end)`` sample spans of the chunks of a file of ``n_samples`` (see the module docstring)."""
    size = int(round(chunk_seconds * sr))
    if n_samples <= size:
        return [(0, n_samples)]
    hop = max(1, int(round(size * (1 - overlap))))
    spans = []
    start = 0
    while True:
        end = start + size
        if end >= n_samples:
            if n_samples - start >= min_last * size:
                spans.append((start, n_samples))
            break
        spans.append((start, end))
        start += hop
    return spans


@dataclass
class Extraction:
    """Where each example's entry is, and what could not be extracted."""

    entries: dict[str, Path] = field(default_factory=dict)   # example id → cache entry
    skipped: list[dict] = field(default_factory=list)        # {"id", "path", "reason"}
    n_computed: int = 0
    n_reused: int = 0
    seconds: float = 0.0
    busy_seconds: float = 0.0                                # inside the encoder's forward passes
    audio_seconds: float = 0.0                                # audio decoded and encoded by this call (s)
    _layer: int | None = field(default=None, repr=False)
    _arrays: dict = field(default_factory=dict, repr=False)

    def read(self, example_id: str, layer: int) -> np.ndarray:
        """One example's embeddings at ``layer``. The arrays of the current layer are kept, so building every
        cross-validation fold reads each cache entry once per layer, not once per fold."""
        if layer != self._layer:
            self._layer, self._arrays = layer, {}
        if example_id not in self._arrays:
            self._arrays[example_id] = EmbeddingCache.read(self.entries[example_id], layer)
        return self._arrays[example_id]


def extract(encoder, examples: Sequence, layers: Sequence[int], frontend: Frontend, cache: EmbeddingCache, *,
            batch_seconds: float = 240.0, progress: bool = True,
            on_entry_written: Callable[[str], None] | None = None,
            before: Callable[[list], None] | None = None, decode_workers: int | None = None) -> Extraction:
    """Make sure every example has ``layers`` in the cache; one forward per file for all missing layers.

    ``encoder``: a :class:`benchmarks.encoders.Encoder`. ``batch_seconds`` bounds the audio per forward batch (equal
    -length chunks of several files). ``on_entry_written(example_id)`` is called after each entry is written.
    ``before(todo)`` is called with the ``(example, entry, missing layers)`` still to extract, before any is (the
    runner's disk-budget check, :mod:`benchmarks.storage`); it may raise to stop the extraction.
    ``decode_workers``: processes decoding and resampling ahead of the encoder (``None``:
    :func:`default_decode_workers`; 0: one thread). Clip files are taken in order of size (batching by length).
    The entries' frontend key carries the storage precision of ``cache`` (``-f16``) and bf16 autocast (``-bf16``).
    """
    import time

    t0 = time.perf_counter()
    layers = sorted(set(int(x) for x in layers))
    key = frontend.key(encoder.sr) + ("-bf16" if uses_autocast(encoder) else "") + cache.key_suffix \
        + ("-tc" if getattr(encoder, "compiled", False) else "")
    out = Extraction()
    todo = []  # (example, entry path, missing layers)
    for ex in examples:
        path = Path(ex.audio_path)
        if not path.is_file():
            out.skipped.append({"id": ex.id, "path": str(path), "reason": "file not found"})
            continue
        entry = cache.entry(encoder.fingerprint, key, content_hash(path))
        missing = [layer for layer in layers if layer not in cache.layers_in(entry)]
        out.entries[ex.id] = entry
        if missing:
            todo.append((ex, entry, missing))
        else:
            out.n_reused += 1
            cache.reused += 1
    if before is not None and todo:
        before(todo)
    workers = default_decode_workers(encoder) if decode_workers is None else int(decode_workers)
    bar = tqdm(total=len(todo), desc=f"extract {encoder.name}", unit="file", disable=not progress or not todo,
               leave=False)
    try:
        if frontend.mode == "frame":
            _extract_frames(encoder, todo, cache, out, bar, on_entry_written, workers)
        else:
            _extract_clips(encoder, todo, frontend, cache, out, bar, batch_seconds, on_entry_written, workers)
    finally:
        bar.close()
    for s in out.skipped:
        out.entries.pop(s["id"], None)
    out.seconds = time.perf_counter() - t0
    return out


def _missing_group_layers(group) -> list[int]:
    return sorted({layer for _, _, missing in group for layer in missing})


def _device(encoder) -> torch.device:
    """The device ``encoder``'s model runs on (CPU when it does not say)."""
    device = getattr(encoder.model, "device", None)
    if not isinstance(device, torch.device) and isinstance(encoder.model, torch.nn.Module):
        device = next((p.device for p in encoder.model.parameters()), None)
    return device if isinstance(device, torch.device) else torch.device("cpu")


def uses_autocast(encoder) -> bool:
    """Whether :func:`forward` runs ``encoder`` under bf16 autocast: on CUDA, for an encoder that allows it. Such
    vectors differ from float32 ones in the last bits, so they are cached under their own frontend key."""
    return _device(encoder).type == "cuda" and encoder.supports_autocast


def compile_encoder(encoder, backend: str = "inductor"):
    """Run ``encoder``'s forward through ``torch.compile`` (``--compile``; off by default). Compiled kernels may
    reorder float operations, so the vectors are cached under their own frontend key (``-tc``). Returns ``encoder``."""
    model = encoder.model
    model.extract_embeddings = torch.compile(model.extract_embeddings, backend=backend, dynamic=True)
    encoder.compiled = True
    return encoder


def forward(encoder, audio: torch.Tensor, layers: list[int], pool: bool = False,
            timer: Extraction | None = None, bf16: bool | None = None) -> list[torch.Tensor]:
    """The encoder on ``audio (B, T)``: one float32 CPU tensor ``(B, N, C_l)`` per layer (``(B, C_l)``, the mean over
    time computed on the encoder's device, with ``pool``). The contract's ``(L, B, N, C)`` tensor is split per layer;
    a list of per-layer tensors (layers of different widths) is taken as is. On CUDA, an encoder that allows it runs
    under bf16 autocast (its views stay float32), and the results come back through pinned memory. ``timer``
    accumulates the seconds of the forward pass in ``busy_seconds``. ``bf16`` forces bf16 autocast on or off on the
    audio's device type (CPU included; ``tests/benchmarks/test_storage.py`` states its drift from float32); ``None`` is
    :func:`uses_autocast`."""
    import time

    t0 = time.perf_counter()
    if uses_autocast(encoder) if bf16 is None else bf16:
        with torch.autocast(_device(encoder).type, dtype=torch.bfloat16):
            emb = encoder.model.extract_embeddings(audio, layers)
    else:
        emb = encoder.model.extract_embeddings(audio, layers)
    parts = list(emb.unbind(0)) if torch.is_tensor(emb) else list(emb)
    if len(parts) != len(layers):
        raise ValueError(f"{encoder.name} returned {len(parts)} layer(s) for {len(layers)} requested")
    parts = [p.detach().float() for p in parts]
    if pool:
        parts = [p.mean(dim=1) for p in parts]
    if parts and parts[0].device.type == "cuda":
        host = [torch.empty(p.shape, dtype=p.dtype, pin_memory=True) for p in parts]
        for h, p in zip(host, parts):
            h.copy_(p, non_blocking=True)
        torch.cuda.current_stream(parts[0].device).synchronize()
        parts = host
    else:
        parts = [p.cpu() for p in parts]
    if timer is not None:
        timer.busy_seconds += time.perf_counter() - t0
    return parts


_SKIPPABLE = (ValueError, RuntimeError)  # too short for one embedding, a model that cannot take this input


def _write(cache, entry, arrays, meta, out, ex_id, on_entry_written):
    cache.write(entry, arrays, meta)
    out.n_computed += 1
    if on_entry_written is not None:
        on_entry_written(ex_id)


def default_decode_workers(encoder) -> int:
    """Decoding processes when none are asked for: none on CPU (a thread decodes ahead; processes would take cores
    from the encoder), up to 4 when the encoder runs on an accelerator."""
    if _device(encoder).type == "cpu":
        return 0
    return max(1, min(4, (os.cpu_count() or 2) - 1))


def _decode_file(path: str, sr: int):
    """``(audio (T,) float32 numpy or None, reason)``: what a decoding worker returns (picklable)."""
    try:
        return load_audio(path, sr).numpy(), None
    except AudioLoadError as e:
        return None, e.reason


def _decoded(items: list, sr: int, workers: int, ahead: int):
    """``(audio tensor or None, reason)`` of each ``(example, …)`` of ``items``, in order, decoded ``ahead`` files in
    advance: in a thread when ``workers`` is 0, else in ``workers`` processes (spawned: no forked torch state)."""
    from collections import deque

    if workers > 0:
        import multiprocessing as mp
        from concurrent.futures import ProcessPoolExecutor

        pool = ProcessPoolExecutor(max_workers=workers, mp_context=mp.get_context("spawn"))
        ahead = max(ahead, 2 * workers)
    else:
        pool = ThreadPoolExecutor(max_workers=1)
    try:
        queue = deque()
        it = iter(items)
        for item in it:
            queue.append(pool.submit(_decode_file, str(item[0].audio_path), sr))
            if len(queue) > ahead:
                break
        while queue:
            audio, reason = queue.popleft().result()
            nxt = next(it, None)
            if nxt is not None:
                queue.append(pool.submit(_decode_file, str(nxt[0].audio_path), sr))
            yield (torch.from_numpy(audio) if audio is not None else None), reason
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _extract_frames(encoder, todo, cache, out, bar, on_entry_written, workers):
    for (ex, entry, missing), (audio, reason) in zip(todo, _decoded(todo, encoder.sr, workers, 1)):
        bar.update(1)
        if audio is None:
            out.skipped.append({"id": ex.id, "path": str(ex.audio_path), "reason": reason})
            continue
        try:
            emb = forward(encoder, audio[None], missing, timer=out)
        except _SKIPPABLE as e:
            out.skipped.append({"id": ex.id, "path": str(ex.audio_path), "reason": str(e)})
            continue
        arrays = {layer: emb[j][0].numpy() for j, layer in enumerate(missing)}
        meta = {"n_samples": int(audio.shape[-1]), "sr": encoder.sr, "eps": encoder.eps}
        _write(cache, entry, arrays, meta, out, ex.id, on_entry_written)


def _extract_clips(encoder, todo, frontend, cache, out, bar, batch_seconds, on_entry_written, workers):
    sr = encoder.sr
    budget = int(batch_seconds * sr)
    chunk = int(round(frontend.chunk_seconds * sr))
    per_group = max(1, budget // max(chunk, 1))  # files per group: about one forward batch of full chunks
    # batch by length: files of similar size next to each other, so their last (shorter) chunks share batches
    todo = sorted(todo, key=lambda t: _size(t[0].audio_path))
    groups = [todo[i:i + per_group] for i in range(0, len(todo), per_group)]
    decoded = _decoded(todo, sr, workers, per_group)   # the next group decodes while the model runs
    for group in groups:
        got = [(ex, *next(decoded)) for ex, _, _ in group]
        _run_group(encoder, group, got, frontend, cache, out, budget, on_entry_written)
        bar.update(len(group))
    decoded.close()


def _size(path) -> int:
    try:
        return os.path.getsize(path)
    except OSError:
        return 0


def _run_group(encoder, group, decoded, frontend, cache, out, budget, on_entry_written):
    sr = encoder.sr
    layers = _missing_group_layers(group)
    pieces = []   # (file index, chunk index, audio)
    n_chunks = {}
    lengths = {}
    for fi, ((ex, entry, _), (_, audio, reason)) in enumerate(zip(group, decoded)):
        if audio is None:
            out.skipped.append({"id": ex.id, "path": str(ex.audio_path), "reason": reason})
            continue
        spans = chunk_spans(audio.shape[-1], sr, frontend.chunk_seconds, frontend.overlap, frontend.min_last)
        n_chunks[fi] = len(spans)
        lengths[fi] = audio.shape[-1]
        pieces += [(fi, ci, audio[s:e]) for ci, (s, e) in enumerate(spans)]
    by_length: dict[int, list] = {}
    for p in pieces:
        by_length.setdefault(p[2].shape[-1], []).append(p)
    vectors: dict[tuple[int, int], np.ndarray] = {}
    failed: dict[int, str] = {}
    for length, items in by_length.items():
        step = max(1, budget // max(length, 1))
        for i in range(0, len(items), step):
            batch = items[i:i + step]
            try:
                emb = forward(encoder, torch.stack([b[2] for b in batch]), layers, pool=True, timer=out)
            except _SKIPPABLE as e:
                for b in batch:
                    failed[b[0]] = str(e)
                continue
            pooled = [e.numpy() for e in emb]  # per layer (b, C_l), averaged over time on the device
            for j, (fi, ci, _) in enumerate(batch):
                vectors[(fi, ci)] = [p[j] for p in pooled]
    for fi, count in n_chunks.items():
        ex, entry, missing = group[fi]
        if fi in failed:
            out.skipped.append({"id": ex.id, "path": str(ex.audio_path), "reason": failed[fi]})
            continue
        arrays = {layer: np.stack([vectors[(fi, ci)][layers.index(layer)] for ci in range(count)])
                  for layer in missing}                                            # (n_chunks, C_l)
        out.audio_seconds += lengths[fi] / sr
        _write(cache, entry, arrays, {"n_chunks": count, "sr": sr}, out, ex.id, on_entry_written)
