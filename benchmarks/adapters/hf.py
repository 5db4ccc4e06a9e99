"""``hf:<id or path>``: a Hugging Face ``transformers`` audio model as an encoder; every hidden state is a layer.

The model is loaded with ``AutoModel`` and its feature extractor with ``AutoFeatureExtractor`` (which gives the sample
rate), from a local folder or the local Hugging Face cache (a download only when ``huggingface_hub`` is online).
Models whose repository ships its own code (MERT-style) load only with ``--trust-remote-code``, off by default.

Families, and how their hidden states become frames at a fixed rate ``eps``:

- waveform models (Wav2Vec2, HuBERT, WavLM, Data2Vec-audio, UniSpeech, SEW…): ``input_values``; hidden states are
  frames every ``prod(conv_stride)`` samples. Long audio runs in windows of ``window_seconds`` (default 30) that
  overlap by 4 s and start on frame boundaries, so each frame keeps its place; a frame is taken from the window in
  which it lies farther from the edge (OMAR-RQ's rule).
- Whisper: the encoder of ``WhisperModel`` on log-mel ``input_features`` padded to 30 s; 50 frames/s; each 30 s
  window is cropped to the frames of real audio.
- AST (``audio-spectrogram-transformer``): patch tokens without the two class tokens, averaged over frequency
  into time frames (one per ``time_stride`` spectrogram frames of 10 ms); windows of exactly the time tokens one input
  holds (10.1 s for the released models), so consecutive windows tile the frames.

The fingerprint hashes the weights, the model and feature-extractor configs and the ``transformers`` version.
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch

from . import AdapterError, options_digest, package_version
from ..fingerprint import fingerprint_module

OVERLAP_SECONDS = 4.0


def _needs_remote_code(e: Exception) -> bool:
    return "trust_remote_code" in str(e)


class HFEncoder:
    kind = "hf"
    supports_autocast = True

    def __init__(self, name: str, device: str = "cpu", trust_remote_code: bool = False, options: dict | None = None):
        try:
            from transformers import AutoConfig, AutoFeatureExtractor, AutoModel
        except ImportError:
            raise AdapterError("hf: models need the transformers package (pip install transformers)") from None
        self.name, self.options = name, dict(options or {})
        local = Path(name).expanduser()
        src = str(local) if local.exists() else name
        kw = {"trust_remote_code": bool(trust_remote_code)}
        try:
            try:
                config = AutoConfig.from_pretrained(src, local_files_only=True, **kw)
            except OSError:
                if local.exists():
                    raise
                config = AutoConfig.from_pretrained(src, **kw)  # not in the local cache: the hub, if online
            self.fe = AutoFeatureExtractor.from_pretrained(src, **kw)
            model = AutoModel.from_pretrained(src, config=config, **kw)
        except (ValueError, OSError, EnvironmentError) as e:
            if _needs_remote_code(e) and not trust_remote_code:
                raise AdapterError(f"hf:{name}: this repository ships its own model code; load it only if you trust "
                                   "it, with --trust-remote-code") from None
            raise AdapterError(f"hf:{name}: cannot load it with transformers ({type(e).__name__}: "
                               f"{str(e).splitlines()[0][:300]})") from None
        self.config, self.model_type = config, str(getattr(config, "model_type", ""))
        self.device = torch.device(device)
        self.model = model.to(self.device).eval()
        self.sr = int(getattr(self.fe, "sampling_rate", 16000))
        if self.model_type == "whisper":
            self.net = self.model.get_encoder() if hasattr(self.model, "get_encoder") else self.model.encoder
            self.window_s = float(getattr(self.fe, "chunk_length", 30))
            self.eps = float(getattr(config, "max_source_positions", 1500)) / self.window_s
        elif self.model_type == "audio-spectrogram-transformer":
            self.net = self.model
            stride, patch = int(config.time_stride), int(config.patch_size)
            t_dim = (int(config.max_length) - patch) // stride + 1
            self.eps = 100.0 / stride                       # the feature extractor's frames are 10 ms apart
            self.window_s = t_dim * stride / 100.0          # windows that tile: token t of window w is frame
            self.f_dim = (int(config.num_mel_bins) - patch) // int(config.frequency_stride) + 1  # t_dim * w + t
        else:
            self.net = self.model
            self.window_s = float(self.options.get("window_seconds", 30.0))
            stride = getattr(config, "conv_stride", None)
            self.hop = int(np.prod(stride)) if stride else None
            self.eps = self.sr / self.hop if self.hop else self._measure_eps()
        with torch.no_grad():
            self.num_layers = len(self._hidden(torch.zeros(1, 2 * self.sr)))

    # -- model calls -------------------------------------------------------------------------------------------------
    def _inputs(self, audio: torch.Tensor) -> dict:
        arrays = [a.detach().cpu().numpy().astype(np.float32) for a in audio]
        out = self.fe(arrays, sampling_rate=self.sr, return_tensors="pt", **(
            {"padding": True} if self.model_type not in ("whisper", "audio-spectrogram-transformer") else {}))
        return {k: v.to(self.device) for k, v in out.items() if k in ("input_values", "input_features")}

    def _hidden(self, audio: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """Every hidden state of one window of audio ``(B, T)``: a tuple of ``(B, N, C)`` time frames."""
        out = self.net(**self._inputs(audio), output_hidden_states=True)
        hidden = out.hidden_states
        if hidden is None or hidden[0].dim() != 3:
            raise AdapterError(f"hf:{self.name}: {self.model_type} models give no (batch, time, channels) hidden "
                               "states; supported: waveform models (wav2vec2, hubert, wavlm, data2vec-audio, …), "
                               "whisper, audio-spectrogram-transformer")
        if self.model_type == "audio-spectrogram-transformer":
            b, _, c = hidden[0].shape
            hidden = tuple(h[:, 2:].reshape(b, self.f_dim, -1, c).mean(dim=1) for h in hidden)
        return hidden

    def _measure_eps(self) -> float:
        with torch.no_grad():
            n2 = self._hidden(torch.zeros(1, 2 * self.sr))[0].shape[1]
            n4 = self._hidden(torch.zeros(1, 4 * self.sr))[0].shape[1]
        if n4 <= n2:
            raise AdapterError(f"hf:{self.name}: the number of frames does not grow with the audio: not a model "
                               "of time frames")
        return (n4 - n2) / 2.0

    # -- the contract ------------------------------------------------------------------------------------------------
    @torch.no_grad()
    def extract_embeddings(self, audio: torch.Tensor, layers=(-1,)) -> torch.Tensor:
        layers = [int(x) % self.num_layers for x in ([layers] if isinstance(layers, int) else layers)]
        b, t = audio.shape
        n_total = max(1, int(math.floor(t / self.sr * self.eps + 1e-6)))
        if self.model_type in ("whisper", "audio-spectrogram-transformer"):
            win = int(round(self.window_s * self.sr))
            parts = []
            for s in range(0, t, win):
                chunk = audio[:, s:s + win]
                hidden = self._hidden(chunk)
                valid = max(1, int(math.ceil(chunk.shape[1] / self.sr * self.eps - 1e-6)))
                parts.append(torch.stack([hidden[i][:, :valid] for i in layers]))
            out = torch.cat(parts, dim=2)
        else:
            out = self._windowed(audio, layers)
        out = out[:, :, :n_total] if out.shape[2] >= n_total else out
        return out.float()

    def _windowed(self, audio: torch.Tensor, layers: list[int]) -> torch.Tensor:
        b, t = audio.shape
        win = int(round(self.window_s * self.sr))
        if t <= win:
            hidden = self._hidden(audio)
            return torch.stack([hidden[i] for i in layers])
        hop = self.hop or max(1, int(round(self.sr / self.eps)))
        win = (win // hop) * hop
        step = max(hop, ((win - int(OVERLAP_SECONDS * self.sr)) // hop) * hop)
        starts = list(range(0, max(1, t - win), step)) + [max(0, ((t - win) // hop) * hop)]
        starts = sorted(set(starts))
        pieces = []
        for s in starts:
            hidden = self._hidden(audio[:, s:s + win])
            pieces.append((s // hop, torch.stack([hidden[i] for i in layers])))
        n = max(off + p.shape[2] for off, p in pieces)
        out = pieces[0][1].new_zeros(len(layers), b, n, pieces[0][1].shape[3])
        for k, (off, p) in enumerate(pieces):
            lo = 0 if k == 0 else (off + pieces[k - 1][0] + pieces[k - 1][1].shape[2]) // 2
            hi = n if k == len(pieces) - 1 else (pieces[k + 1][0] + off + p.shape[2]) // 2
            out[:, :, lo:hi] = p[:, :, lo - off:hi - off]
        return out

    def fingerprint_parts(self) -> list[str]:

        fe = self.fe.to_json_string() if hasattr(self.fe, "to_json_string") else repr(self.fe)
        return ["hf", self.model_type, self.config.to_json_string(), fe, fingerprint_module(self.model),
                options_digest(self.options), str(package_version("transformers"))]

    def describe(self) -> str:
        return f"Hugging Face {self.model_type} model {self.name}"
