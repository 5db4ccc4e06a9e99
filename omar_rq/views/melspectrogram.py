"""Log-compressed mel spectrogram, numerically equal to the torchaudio ``MelSpectrogram`` the released models used.

torch.stft (periodic Hann, centre frames with reflect padding) + our own filterbank (``mel_filterbank``, the
torchaudio ``melscale_fbanks`` convention), then ``log10(1 + 10000 * mel)`` and z-normalisation.
"""
from __future__ import annotations

import math

import torch

from .base import View, z_normalise


def hz_to_mel(f: torch.Tensor | float, scale: str = "htk"):
    """Hz → mel. ``"htk"``: ``2595 log10(1 + f/700)``; ``"slaney"``: linear ``3f/200`` below 1 kHz, log above."""
    f = torch.as_tensor(f, dtype=torch.float64, device="cpu")
    if scale == "htk":
        return 2595.0 * torch.log10(1.0 + f / 700.0)
    if scale != "slaney":
        raise ValueError(f"mel_scale must be 'htk' or 'slaney', got {scale!r}")
    min_log_hz, min_log_mel, logstep = 1000.0, 15.0, math.log(6.4) / 27.0
    lin = 3.0 * f / 200.0
    return torch.where(f >= min_log_hz, min_log_mel + torch.log(f.clamp(min=1e-10) / min_log_hz) / logstep, lin)


def mel_to_hz(m: torch.Tensor, scale: str = "htk") -> torch.Tensor:
    """Inverse of :func:`hz_to_mel`."""
    m = torch.as_tensor(m, dtype=torch.float64, device="cpu")
    if scale == "htk":
        return 700.0 * (10.0 ** (m / 2595.0) - 1.0)
    if scale != "slaney":
        raise ValueError(f"mel_scale must be 'htk' or 'slaney', got {scale!r}")
    min_log_hz, min_log_mel, logstep = 1000.0, 15.0, math.log(6.4) / 27.0
    return torch.where(m >= min_log_mel, min_log_hz * torch.exp(logstep * (m - min_log_mel)), 200.0 * m / 3.0)


def mel_filterbank(n_freqs: int, sr: int, n_mels: int, norm: str | None = "slaney", mel_scale: str = "slaney",
                   f_min: float = 0.0, f_max: float | None = None) -> torch.Tensor:
    """Triangular mel filters ``(n_freqs, n_mels)`` over the one-sided FFT bins ``linspace(0, sr//2, n_freqs)``.

    ``n_mels + 2`` points equally spaced in mel between ``f_min`` and ``f_max`` (default ``sr // 2``) are mapped back to
    Hz; filter m rises from point m to m+1 and falls to m+2. ``norm="slaney"`` scales filter m by
    ``2 / (f[m+2] - f[m])`` (equal area). Computed in float64, returned as float32.
    """
    f_max = float(sr // 2) if f_max is None else float(f_max)
    all_freqs = torch.linspace(0, sr // 2, n_freqs, dtype=torch.float64, device="cpu")
    m_pts = torch.linspace(float(hz_to_mel(f_min, mel_scale)), float(hz_to_mel(f_max, mel_scale)), n_mels + 2,
                           dtype=torch.float64, device="cpu")
    f_pts = mel_to_hz(m_pts, mel_scale)
    f_diff = f_pts[1:] - f_pts[:-1]
    slopes = f_pts[None, :] - all_freqs[:, None]  # (n_freqs, n_mels + 2)
    down = -slopes[:, :-2] / f_diff[:-1]
    up = slopes[:, 2:] / f_diff[1:]
    fb = torch.clamp(torch.minimum(down, up), min=0.0)
    if norm == "slaney":
        fb = fb * (2.0 / (f_pts[2:n_mels + 2] - f_pts[:n_mels]))[None, :]
    elif norm is not None:
        raise ValueError(f"norm must be 'slaney' or None, got {norm!r}")
    return fb.to(torch.float32)


class MelSpectrogram(View):
    """``(B, T)`` → ``(B, n_mel, 1 + T // hop_len)`` log-mel, z-normalised.

    ``stretch_factor``, ``freq_mask_param`` and ``time_mask_param`` are SpecAugment settings of the pretraining
    configs; they act only in training mode (masking; a stretch other than 1 is rejected, no config uses one).
    """

    def __init__(self, sr: int = 16000, win_len: int = 512, hop_len: int = 256, power: float = 2.0, n_mel: int = 96,
                 norm: str | None = "slaney", mel_scale: str = "slaney", norm_mean: float | None = None,
                 norm_std: float | None = None, patch_size: tuple[int, int] = (96, 4), stretch_factor: float = 1.0,
                 freq_mask_param: int = 0, time_mask_param: int = 0):
        super().__init__()
        self.sr, self.win_len, self.hop, self.power = int(sr), int(win_len), int(hop_len), float(power)
        self.n_features = int(n_mel)
        self.norm_mean, self.norm_std = norm_mean, norm_std
        self.patch_size = tuple(int(p) for p in patch_size)
        if stretch_factor != 1:
            raise ValueError(f"MelSpectrogram.stretch_factor={stretch_factor}: time stretching is not supported "
                             "(every known OMAR-RQ config uses 1)")
        self.freq_mask_param, self.time_mask_param = int(freq_mask_param), int(time_mask_param)
        self.register_buffer("window", torch.hann_window(self.win_len, periodic=True, device="cpu"), persistent=False)
        self.register_buffer("fb", mel_filterbank(self.win_len // 2 + 1, self.sr, self.n_features, norm, mel_scale),
                             persistent=False)

    def n_frames(self, n_samples: int) -> int:
        return 1 + int(n_samples) // self.hop

    def forward(self, audio: torch.Tensor) -> torch.Tensor:
        spec = torch.stft(audio, n_fft=self.win_len, hop_length=self.hop, win_length=self.win_len,
                          window=self.window, center=True, pad_mode="reflect", normalized=False, onesided=True,
                          return_complex=True)
        spec = spec.abs().pow(self.power)  # (B, n_freqs, frames)
        mel = torch.matmul(spec.transpose(-1, -2), self.fb).transpose(-1, -2)
        x = torch.log10(1 + 10000 * mel)
        if self.training:
            x = self._spec_augment(x)
        return z_normalise(x, self.norm_mean, self.norm_std)

    def _spec_augment(self, x: torch.Tensor) -> torch.Tensor:
        """One frequency and one time mask per example (widths uniform in [0, param)), filled with zeros."""
        for param, axis in ((self.freq_mask_param, 1), (self.time_mask_param, 2)):
            if param <= 0:
                continue
            size = x.shape[axis]
            width = torch.randint(0, param, (x.shape[0],), device=x.device)
            start = (torch.rand(x.shape[0], device=x.device) * (size - width).clamp(min=1)).long()
            idx = torch.arange(size, device=x.device)[None]
            mask = (idx >= start[:, None]) & (idx < (start + width)[:, None])
            x = x.masked_fill(mask[:, :, None] if axis == 1 else mask[:, None, :], 0.0)
        return x
