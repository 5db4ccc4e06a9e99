"""``omar-bench validate MODEL``: check an encoder against the contract before spending hours on it.

Each check runs on synthetic audio (noise, a tone, silence) and reports a problem in words when it fails:

========================  ===========================================================================================
``sample_rate``           ``sr`` is a positive integer
``shapes``                ``extract_embeddings((2, T), [first, last])`` is a 4-D float tensor ``(2, 2, N, C)``
``frame_rate``            ``N`` follows ``eps``: within 2 frames of ``T / sr * eps`` at 3 s and 6 s
``finite``                no NaN / inf, for noise, a tone and silence
``deterministic``         the same input twice gives the same output (to 1e-5 of its scale)
``batch_invariant``       a clip's output does not depend on what else is in the batch (to 1e-3)
``short_input``           1 s of audio gives at least one frame
``long_input`` (full)     2 minutes: the right length, and the frames of its first 20 s agree with the same 30 s
                          processed alone (mean cosine ≥ 0.99): windowing and stitching keep frames in place
``memory`` (full)         10 minutes: peak working memory stays bounded (≤ 2 GiB + 4 × the output), measured
========================  ===========================================================================================

``run`` performs the cheap checks (all but the last two) before extracting, and refuses an encoder that fails them.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np
import torch
from omar_rq.errors import UserError
from benchmarks.memory import peak_rss_mb, reset_peak, rss_mb

__all__ = ["Check", "validate_encoder", "cheap_checks", "EncoderContractError", "CHEAP", "FULL"]

CHEAP = ("sample_rate", "shapes", "frame_rate", "finite", "deterministic", "batch_invariant", "short_input")
FULL = CHEAP + ("long_input", "memory")


class EncoderContractError(UserError, ValueError):
    """An encoder that does not keep the contract (the message lists every failed check)."""


@dataclass
class Check:
    name: str
    ok: bool
    detail: str
    seconds: float = 0.0

    def line(self) -> str:
        return f"{'ok  ' if self.ok else 'FAIL'} {self.name:16s} {self.detail}"


def _audio(kind: str, seconds: float, sr: int, batch: int = 1, seed: int = 0) -> torch.Tensor:
    n = max(1, int(round(seconds * sr)))
    if kind == "silence":
        return torch.zeros(batch, n)
    g = torch.Generator().manual_seed(seed)
    if kind == "noise":
        return 0.1 * torch.randn(batch, n, generator=g)
    t = torch.arange(n) / sr
    f = 220.0 * (1 + torch.arange(batch)[:, None])
    return 0.3 * torch.sin(2 * math.pi * f * t[None]) + 0.01 * torch.randn(batch, n, generator=g)


def _run(enc, audio: torch.Tensor, layers: list[int]) -> torch.Tensor:
    """The output as one ``(L, B, N, C)`` tensor (a list of per-layer tensors, allowed when widths differ, is checked
    for equal ``B`` and ``N`` and zero-padded to one width here)."""
    out = enc.model.extract_embeddings(audio, layers)
    if torch.is_tensor(out):
        return out.detach().float().cpu()
    if not isinstance(out, (list, tuple)) or not all(torch.is_tensor(o) for o in out):
        raise TypeError(f"extract_embeddings returned {type(out).__name__}, not a tensor or a list of tensors")
    if any(o.dim() != 3 for o in out) or len({tuple(o.shape[:2]) for o in out}) > 1:
        raise ValueError(f"per-layer outputs must all be (B, N, C_l) with the same B and N, got "
                         f"{[tuple(o.shape) for o in out]}")
    width = max(o.shape[2] for o in out)
    return torch.stack([torch.nn.functional.pad(o.detach().float().cpu(), (0, width - o.shape[2])) for o in out])


def _expected_frames(seconds: float, eps: float) -> float:
    return seconds * eps


def cheap_checks(enc) -> list[Check]:
    """The quick checks (module docstring), on a few seconds of audio."""
    out: list[Check] = []

    def check(name, fn):
        t0 = time.perf_counter()
        try:
            ok, detail = fn()
        except Exception as e:  # noqa: BLE001 - any failure of the encoder is the finding
            ok, detail = False, f"raised {type(e).__name__}: {str(e).splitlines()[0][:300] if str(e) else ''}"
        out.append(Check(name, ok, detail, time.perf_counter() - t0))
        return ok

    sr = getattr(enc.model, "sr", None)

    def sample_rate():
        ok = isinstance(sr, (int, np.integer)) and not isinstance(sr, bool) and sr > 0
        return ok, f"{sr} Hz" if ok else f"sr must be a positive integer, got {sr!r}"

    if not check("sample_rate", sample_rate):
        return out
    sr, eps, depth = int(sr), float(enc.model.eps), int(enc.model.num_layers)
    layers = sorted({0, depth - 1})

    def shapes():
        y = _run(enc, _audio("noise", 3.0, sr, batch=2), layers)
        if y.dim() != 4:
            return False, f"expected (L, B, N, C), got a {y.dim()}-D tensor of shape {tuple(y.shape)}"
        if y.shape[0] != len(layers) or y.shape[1] != 2 or y.shape[3] < 1:
            return False, (f"expected ({len(layers)}, 2, N, C) for layers {layers} of a batch of 2, got "
                           f"{tuple(y.shape)}")
        return True, f"(L, B, N, C) = {tuple(y.shape)} for 3 s; {depth} layer(s)"

    def frame_rate():
        msgs, ok = [], True
        for seconds in (3.0, 6.0):
            n = _run(enc, _audio("noise", seconds, sr), [0]).shape[2]
            want = _expected_frames(seconds, eps)
            if abs(n - want) > 2:
                ok = False
            msgs.append(f"{n} frames for {seconds:g} s (eps {eps:g} → {want:g})")
        return ok, "; ".join(msgs) + ("" if ok else ": the frame count does not follow eps")

    def finite():
        for kind in ("noise", "tone", "silence"):
            y = _run(enc, _audio(kind, 3.0, sr), layers)
            if not torch.isfinite(y).all():
                return False, f"NaN or inf in the output for {kind}"
        return True, "finite for noise, a tone and silence"

    def deterministic():
        x = _audio("tone", 3.0, sr)
        a, b = _run(enc, x, layers), _run(enc, x, layers)
        diff = float((a - b).abs().max()) / max(float(a.abs().max()), 1e-12)
        return diff <= 1e-5, f"max relative difference between two calls {diff:.2e}"

    def batch_invariant():
        x = _audio("tone", 3.0, sr, batch=2, seed=1)
        both = _run(enc, x, layers)
        alone = _run(enc, x[:1], layers)
        diff = float((both[:, 0] - alone[:, 0]).abs().max()) / max(float(alone.abs().max()), 1e-12)
        return diff <= 1e-3, f"clip alone vs in a batch: max relative difference {diff:.2e}"

    def short_input():
        y = _run(enc, _audio("noise", 1.0, sr), [0])
        return y.shape[2] >= 1, f"{y.shape[2]} frame(s) for 1 s"

    for name, fn in (("shapes", shapes), ("frame_rate", frame_rate), ("finite", finite),
                     ("deterministic", deterministic), ("batch_invariant", batch_invariant),
                     ("short_input", short_input)):
        if not check(name, fn) and name == "shapes":
            break
    return out








def long_checks(enc, long_minutes: float = 10.0) -> list[Check]:
    """The two expensive checks (module docstring)."""
    out = []
    sr, eps = int(enc.model.sr), float(enc.model.eps)
    t0 = time.perf_counter()
    try:
        x = _audio("tone", 120.0, sr)
        long = _run(enc, x, [0])
        short = _run(enc, x[:, : 30 * sr], [0])
        n_ok = abs(long.shape[2] - _expected_frames(120.0, eps)) <= 2
        a, b = int(2 * eps), int(18 * eps)
        cos = torch.nn.functional.cosine_similarity(long[0, 0, a:b], short[0, 0, a:b], dim=-1).mean().item()
        ok = n_ok and cos >= 0.99
        detail = (f"{long.shape[2]} frames for 2 min; frames 2-18 s vs the same 30 s alone: mean cosine {cos:.4f}"
                  + ("" if ok else " (windowing or stitching moves frames, or the length is off)"))
    except Exception as e:  # noqa: BLE001
        ok, detail = False, f"raised {type(e).__name__}: {e}"
    out.append(Check("long_input", ok, detail, time.perf_counter() - t0))
    t0 = time.perf_counter()
    try:
        x = _audio("noise", 60.0 * long_minutes, sr)
        base = rss_mb()
        can = reset_peak() and base is not None
        y = _run(enc, x, [0])
        peak = peak_rss_mb() if can else None
        out_mb = y.numel() * 4 / 2 ** 20
        if peak is None:
            ok, detail = y.shape[2] > 0, f"{long_minutes:g} min ran ({y.shape[2]} frames); peak memory not measurable"
        else:
            used = peak - base
            bound = 2048 + 4 * out_mb
            ok = used <= bound
            detail = (f"{long_minutes:g} min: {used:.0f} MB working memory (bound {bound:.0f} MB; output "
                      f"{out_mb:.0f} MB)")
    except Exception as e:  # noqa: BLE001
        ok, detail = False, f"raised {type(e).__name__}: {e}"
    out.append(Check("memory", ok, detail, time.perf_counter() - t0))
    return out


def validate_encoder(enc, full: bool = True, long_minutes: float = 10.0) -> list[Check]:
    """Every check (``full``) or the cheap ones, in order."""
    checks = cheap_checks(enc)
    if full and all(c.ok for c in checks):
        checks += long_checks(enc, long_minutes)
    return checks


def require_contract(enc) -> None:
    """Raise :class:`EncoderContractError` listing the failed cheap checks (what ``run`` does before extracting)."""
    failed = [c for c in cheap_checks(enc) if not c.ok]
    if failed:
        raise EncoderContractError(f"{enc.name} does not keep the encoder contract: "
                                   + "; ".join(f"{c.name}: {c.detail}" for c in failed)
                                   + f" (omar-bench validate {enc.name} shows every check)")
