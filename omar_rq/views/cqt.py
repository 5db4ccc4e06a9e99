"""Constant-Q transform as the released models compute it: a variable-Q transform (gamma = 0) evaluated octave by
octave with FFT-domain wavelet kernels, decimating the signal by 2 between octaves.

Written from the recipe in ``shared/spec/omar-rq-models.md`` §3 (torchaudio's prototype CQT is not installable
here). All kernel arithmetic is float32 / complex64 like the reference, which keeps the input view within ~1e-4 of it.
"""
from __future__ import annotations

import math

import torch

from ..resample import resample
from .base import View, z_normalise


def _relative_bandwidths(freqs: torch.Tensor) -> torch.Tensor:
    """``alpha_k`` of each centre frequency from the local log-frequency resolution (gamma = 0)."""
    logf = torch.log2(freqs)
    b = torch.empty_like(freqs)
    if len(freqs) == 1:
        raise ValueError("CQT needs at least 2 bins")
    b[0] = 1.0 / (logf[1] - logf[0])
    b[-1] = 1.0 / (logf[-1] - logf[-2])
    b[1:-1] = 2.0 / (logf[2:] - logf[:-2])
    p = 2.0 ** (2.0 / b)
    return (p - 1.0) / (p + 1.0)


def _octave_kernel(freqs: torch.Tensor, qs: torch.Tensor, s: float, sr: float) -> tuple[torch.Tensor, int]:
    """FFT-domain kernels ``(n_f, N // 2 + 1)`` (complex64) of one octave at running rate ``s``, and the FFT size N."""
    lengths = qs * s / freqs  # float32
    n_fft = 1 << max(0, math.ceil(math.log2(max(1, int(lengths.max().item())))))
    while n_fft < int(lengths.max().item()):
        n_fft <<= 1
    filters = torch.zeros(len(freqs), n_fft, dtype=torch.complex64)
    for k, (f_k, l_k) in enumerate(zip(freqs, lengths)):
        lo, hi = math.floor(-l_k.item() / 2), math.floor(l_k.item() / 2)
        n = torch.arange(lo, hi, dtype=torch.float32)
        m = len(n)
        window = torch.hann_window(m, periodic=True)  # 0.5 - 0.5 cos(2π m / M)
        # float32 operation order as the reference (2π·n·f/s): it measurably changes the quiet bins
        values = torch.exp(1j * (2 * math.pi * n * f_k / s)).to(torch.complex64) * window
        values = values / values.abs().sum()
        left = (n_fft - m) // 2
        filters[k, left:left + m] = values * (l_k / n_fft)
    kernel = torch.fft.fft(filters, n=n_fft, dim=-1)[:, : n_fft // 2 + 1]
    return (kernel * math.sqrt(sr / s)).to(torch.complex64), n_fft


class CQT(View):
    """``(B, T)`` → ``(B, n_bins, 1 + T // hop_len)``: |VQT| ** power, ``log10(1 + 10000 x)``, z-normalised."""

    def __init__(self, sr: int = 16000, hop_len: int = 256, power: float = 2, bins_per_octave: int = 24,
                 n_bins: int = 144, f_min: float = 32.703, magnitude: bool = True, logC: bool = True,
                 norm_mean: float | None = None, norm_std: float | None = None,
                 patch_size: tuple[int, int] | None = None):
        super().__init__()
        self.sr, self.hop, self.power = int(sr), int(hop_len), float(power)
        self.bins_per_octave, self.n_features, self.f_min = int(bins_per_octave), int(n_bins), float(f_min)
        self.magnitude, self.logC = bool(magnitude), bool(logC)
        self.norm_mean, self.norm_std = norm_mean, norm_std
        self.patch_size = tuple(int(p) for p in patch_size) if patch_size is not None else (self.n_features, 4)
        with torch.device("cpu"):  # kernels are constants: compute them on the CPU (even under a meta context)
            self._build_kernels()

    def _build_kernels(self) -> None:
        freqs = self.f_min * 2.0 ** (torch.arange(self.n_features, dtype=torch.float32) / self.bins_per_octave)
        if freqs[-1] >= self.sr / 2:
            raise ValueError(f"CQT: top bin {freqs[-1]:.1f} Hz is above Nyquist ({self.sr / 2} Hz)")
        qs = 1.0 / _relative_bandwidths(freqs)
        n_f = min(self.bins_per_octave, self.n_features)
        n_oct = math.ceil(self.n_features / self.bins_per_octave)
        # plan: octaves from the top down, each with its rate, hop, FFT size and whether to decimate afterwards
        self._plan: list[tuple[int, int, bool]] = []  # (n_fft, hop, decimate_after)
        s, h = float(self.sr), self.hop
        kernels = []
        for o in range(n_oct - 1, -1, -1):
            sl = slice(o * n_f, min((o + 1) * n_f, self.n_features))
            kernel, n_fft = _octave_kernel(freqs[sl], qs[sl], s, float(self.sr))
            decimate = h % 2 == 0 and o > 0
            self._plan.append((n_fft, h, decimate))
            kernels.append(kernel)
            if h % 2 == 0:
                s, h = s / 2, h // 2
        for i, kernel in enumerate(kernels):
            self.register_buffer(f"kernel_{i}", kernel, persistent=False)

    def n_frames(self, n_samples: int) -> int:
        return 1 + int(n_samples) // self.hop

    def forward(self, audio: torch.Tensor) -> torch.Tensor:
        x = audio
        responses = []
        for i, (n_fft, hop, decimate) in enumerate(self._plan):
            spec = torch.stft(x, n_fft=n_fft, hop_length=hop, window=torch.ones(n_fft, device=x.device, dtype=x.dtype),
                              center=True, pad_mode="constant", normalized=False, onesided=True, return_complex=True)
            responses.append(torch.matmul(getattr(self, f"kernel_{i}"), spec))  # (B, n_f, frames)
            if decimate:
                x = resample(x, 2, 1) * math.sqrt(2)
        n = min(r.shape[-1] for r in responses)
        out = torch.cat([r[..., :n] for r in reversed(responses)], dim=1)
        if self.magnitude:
            out = out.abs()
        if self.power > 1:
            out = out ** self.power
        if self.logC:
            out = torch.log10(1 + 10000 * out)
        return z_normalise(out, self.norm_mean, self.norm_std)
