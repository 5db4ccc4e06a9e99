"""Band-limited resampling with a Hann-windowed sinc kernel.

Why hand-written: torchaudio cannot be installed beside our torch, and the released models' CQT decimation and EnCodec
input resampling use exactly this kernel family (torchaudio's ``sinc_interp_hann`` defaults: 6 zero crossings, rolloff
0.99, rates reduced by their gcd). Reproducing it keeps our numerics identical to the reference implementation.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F

__all__ = ["resample", "sinc_kernel"]


def sinc_kernel(orig_freq: int, new_freq: int, lowpass_filter_width: int = 6, rolloff: float = 0.99,
                dtype: torch.dtype = torch.float32) -> tuple[torch.Tensor, int]:
    """Polyphase kernel ``(new_freq, 1, 2*width + orig_freq)`` and its half-width ``width`` (in input samples).

    ``orig_freq`` and ``new_freq`` must already be reduced by their gcd. Phase ``p`` of the output samples
    ``y[new*m + p]`` reads ``x[orig*m - width + i]`` for i over the kernel taps. Computed in ``dtype`` with the
    reference's operation order: the float32 rounding of this kernel is part of the released CQT's numerics.
    """
    base_freq = min(orig_freq, new_freq) * rolloff
    width = math.ceil(lowpass_filter_width * orig_freq / base_freq)
    idx = torch.arange(-width, width + orig_freq, dtype=dtype)[None, None] / orig_freq
    t = torch.arange(0, -new_freq, -1, dtype=dtype)[:, None, None] / new_freq + idx
    t = (t * base_freq).clamp(-lowpass_filter_width, lowpass_filter_width)
    window = torch.cos(t * math.pi / lowpass_filter_width / 2) ** 2
    t = t * math.pi
    kernels = torch.where(t == 0, torch.tensor(1.0, dtype=dtype), t.sin() / t)
    kernels = kernels * (window * (base_freq / orig_freq))
    return kernels, width


def resample(waveform: torch.Tensor, orig_freq: int, new_freq: int, lowpass_filter_width: int = 6,
             rolloff: float = 0.99) -> torch.Tensor:
    """Resample the last axis of ``waveform`` (``(..., T)``) from ``orig_freq`` to ``new_freq`` Hz.

    Output length is ``ceil(new_freq * T / orig_freq)`` (with the reduced rates); the signal is taken as zero outside
    its range. Identical rates return the input unchanged.
    """
    if int(orig_freq) != orig_freq or int(new_freq) != new_freq or orig_freq <= 0 or new_freq <= 0:
        raise ValueError(f"sample rates must be positive integers, got {orig_freq} -> {new_freq}")
    orig_freq, new_freq = int(orig_freq), int(new_freq)
    if orig_freq == new_freq:
        return waveform
    g = math.gcd(orig_freq, new_freq)
    orig, new = orig_freq // g, new_freq // g
    shape = waveform.shape
    x = waveform.reshape(-1, shape[-1])
    kernel, width = sinc_kernel(orig, new, lowpass_filter_width, rolloff, dtype=x.dtype)
    length = x.shape[-1]
    x = F.pad(x[:, None], (width, width + orig))
    y = F.conv1d(x, kernel.to(x.device), stride=orig)  # (N, new, frames)
    y = y.transpose(1, 2).reshape(x.shape[0], -1)
    target = math.ceil(new * length / orig)
    return y[..., :target].reshape(*shape[:-1], target)
