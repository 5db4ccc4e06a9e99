"""Learnability check of the synthetic sets with a plain baseline: log-mel features + scikit-learn probes.

    python -m benchmarks.synth.check <out_dir>      # after synthesize(<out_dir>)

Not part of the benchmark (which uses the real loaders, encoders and probes); a development check that every label is
learnable from the audio: NSynth pitch / family accuracy (logistic regression on the mean log-mel of each note; family
also on mean + std), MTAT
per-tag ROC-AUC on the clean split (one logistic regression per tag on mean + std log-mel), and beat F-measure
(frame-wise logistic regression on log-mel + flux with context, peak picking, 2-fold by track, mir_eval).
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import soundfile as sf


def mel_filterbank(sr: int, n_fft: int, n_mels: int, fmin: float = 30.0, fmax: float | None = None) -> np.ndarray:
    fmax = fmax or sr / 2
    hz2mel = lambda f: 2595.0 * np.log10(1.0 + f / 700.0)  # noqa: E731
    mel2hz = lambda m: 700.0 * (10 ** (m / 2595.0) - 1.0)  # noqa: E731
    pts = mel2hz(np.linspace(hz2mel(fmin), hz2mel(fmax), n_mels + 2))
    freqs = np.fft.rfftfreq(n_fft, 1.0 / sr)
    fb = np.zeros((n_mels, len(freqs)))
    for i in range(n_mels):
        lo, c, hi = pts[i], pts[i + 1], pts[i + 2]
        fb[i] = np.clip(np.minimum((freqs - lo) / (c - lo), (hi - freqs) / (hi - c)), 0, None)
    return fb


def log_mel(x: np.ndarray, sr: int, n_fft: int = 2048, hop: int = 256, n_mels: int = 128) -> np.ndarray:
    """(frames, n_mels) log-mel spectrogram."""
    x = np.asarray(x, dtype=np.float64)
    if len(x) < n_fft:
        x = np.pad(x, (0, n_fft - len(x)))
    n = 1 + (len(x) - n_fft) // hop
    idx = np.arange(n_fft)[None, :] + hop * np.arange(n)[:, None]
    spec = np.abs(np.fft.rfft(x[idx] * np.hanning(n_fft), axis=1)) ** 2
    return np.log(spec @ mel_filterbank(sr, n_fft, n_mels).T + 1e-8)


def _logreg(c: float = 1.0):
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return make_pipeline(StandardScaler(), LogisticRegression(C=c, max_iter=3000))


def check_nsynth(root: Path) -> dict:
    feats, labels = {}, {}
    for split in ("train", "valid", "test"):
        ex = json.loads((root / f"nsynth-{split}" / "examples.json").read_text())
        X, yp, yf = [], [], []
        for key, e in ex.items():
            x, sr = sf.read(root / f"nsynth-{split}" / "audio" / f"{key}.wav", dtype="float32")
            m = log_mel(x, sr)[: int(3.0 * sr / 256)]  # the sounding part (key down 0-3 s)
            X.append(np.concatenate([m.mean(0), m.std(0)]))
            yp.append(e["pitch"])
            yf.append(e["instrument_family"])
        feats[split], labels[split] = np.array(X), (np.array(yp), np.array(yf))
    out = {"n": {s: len(feats[s]) for s in feats}}
    n_mels = feats["train"].shape[1] // 2
    for name, k, cols in (("pitch", 0, slice(0, n_mels)), ("family", 1, slice(0, n_mels)),
                          ("family_mean_std", 1, slice(None))):
        best = None
        for c in (0.01, 0.1, 1.0, 10.0):  # C picked on valid
            m = _logreg(c).fit(feats["train"][:, cols], labels["train"][k])
            val = float((m.predict(feats["valid"][:, cols]) == labels["valid"][k]).mean())
            if best is None or val > best[0]:
                pred = m.predict(feats["test"][:, cols])
                best = (val, c, float((pred == labels["test"][k]).mean()), pred)
        n_classes = len(set(labels["train"][k]))
        out[name] = {"valid_acc": best[0], "test_acc": best[2], "C": best[1], "chance": 1.0 / n_classes}
        if name == "pitch":
            out[name]["test_chroma_acc"] = float(((best[3] - labels["test"][k]) % 12 == 0).mean())
    return out


def check_mtat(root: Path) -> dict:
    from sklearn.metrics import average_precision_score, roc_auc_score

    split = root / "split"
    tags = [str(t) for t in np.load(split / "tags.npy")]
    binary = np.load(split / "binary.npy")
    data = {}
    for s in ("train", "valid", "test"):
        X, Y = [], []
        for row in np.load(split / f"{s}.npy"):
            idx, path = str(row).split("\t")
            x, sr = sf.read(root / "mp3" / path, dtype="float32")
            m = log_mel(x, sr, n_fft=1024, hop=512, n_mels=96)
            X.append(np.concatenate([m.mean(0), m.std(0)]))
            Y.append(binary[int(idx)])
        data[s] = (np.array(X), np.array(Y))
    Xtr, Ytr = data["train"]
    Xte, Yte = data["test"]
    per_tag = {}
    for j, t in enumerate(tags):
        if Ytr[:, j].min() == Ytr[:, j].max() or Yte[:, j].min() == Yte[:, j].max():
            continue
        p = _logreg(0.1).fit(Xtr, Ytr[:, j]).predict_proba(Xte)[:, 1]
        per_tag[t] = (float(roc_auc_score(Yte[:, j], p)), float(average_precision_score(Yte[:, j], p)))
    return {"n": {s: len(data[s][0]) for s in data},
            "roc_auc_macro": float(np.mean([v[0] for v in per_tag.values()])),
            "pr_auc_macro": float(np.mean([v[1] for v in per_tag.values()])),
            "prevalence_test": float(Yte.mean()),
            "roc_auc_per_tag": {t: round(v[0], 3) for t, v in per_tag.items()}}


def check_beats(root: Path) -> dict:
    import mir_eval
    from scipy.signal import find_peaks

    fps = 100
    tracks = []
    for wav in sorted((root / "audio").glob("*.wav")):
        x, sr = sf.read(wav, dtype="float32")
        hop = sr // fps
        m = log_mel(x, sr, n_fft=1024, hop=hop, n_mels=64)
        flux = np.maximum(np.diff(m, axis=0, prepend=m[:1]), 0)
        f = np.concatenate([m, flux, flux.sum(1, keepdims=True)], axis=1)
        ctx = np.concatenate([np.roll(f, k, axis=0) for k in (-2, -1, 0, 1, 2)], axis=1)
        ann = np.loadtxt(root / "annotations" / f"{wav.stem}.beats", ndmin=2)[:, 0]
        # frame k covers samples [k*hop, k*hop + n_fft): its centre is at k*hop + n_fft/2
        t = (np.arange(len(m)) * hop + 512) / sr
        y = np.zeros(len(m))
        for b in ann:
            y[np.argmin(np.abs(t - b))] = 1
        tracks.append((ctx, y, t, ann))
    fs = []
    for fold in (0, 1):
        tr = [tracks[i] for i in range(len(tracks)) if i % 2 != fold]
        te = [tracks[i] for i in range(len(tracks)) if i % 2 == fold]
        model = _logreg(0.1)
        model.set_params(logisticregression__class_weight="balanced")
        model.fit(np.concatenate([a[0] for a in tr]), np.concatenate([a[1] for a in tr]))
        for ctx, _, t, ann in te:
            act = model.predict_proba(ctx)[:, 1]
            peaks, _ = find_peaks(act, height=0.5, distance=int(0.3 * fps))
            fs.append(mir_eval.beat.f_measure(mir_eval.beat.trim_beats(ann), mir_eval.beat.trim_beats(t[peaks])))
    return {"n_tracks": len(tracks), "f_measure_mean": float(np.mean(fs)), "f_measure_min": float(np.min(fs))}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out_dir")
    ap.add_argument("--sets", nargs="*", default=["nsynth", "beats", "mtat"])
    args = ap.parse_args(argv)
    root = Path(args.out_dir)
    fns = {"nsynth": check_nsynth, "beats": check_beats, "mtat": check_mtat}
    for name in args.sets:
        t0 = time.perf_counter()
        res = fns[name](root / name)
        res["seconds"] = round(time.perf_counter() - t0, 1)
        print(name, json.dumps(res, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
