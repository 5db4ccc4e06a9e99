"""Test helper: is a synthesised set learnable from plain log-mel statistics? (No probe engine, no encoder.)

Each audio file becomes the mean and standard deviation over time of its log-mel spectrogram
(:func:`benchmarks.synth.check.log_mel`, 64 bands); a scikit-learn logistic or ridge regression is trained on the
training examples and scored on the test examples.
"""
from __future__ import annotations

import functools

import numpy as np
import soundfile as sf
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.metrics import r2_score, roc_auc_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from benchmarks.synth.check import log_mel


@functools.lru_cache(maxsize=4096)
def _feature(path: str, max_seconds: float) -> np.ndarray:
    x, sr = sf.read(path, dtype="float32", always_2d=True)
    m = log_mel(x.mean(axis=1)[: int(max_seconds * sr)], sr, n_fft=1024, hop=512, n_mels=64)
    return np.concatenate([m.mean(axis=0), m.std(axis=0)])


def features(paths, max_seconds: float = 8.0) -> np.ndarray:
    """``(N, 128)``: mean and std over time of each file's log-mel (memoised by path: tests write fresh tmp paths)."""
    return np.stack([_feature(str(p), float(max_seconds)) for p in paths])


def accuracy(train_paths, train_labels, test_paths, test_labels, c: float = 1.0) -> float:
    clf = make_pipeline(StandardScaler(), LogisticRegression(C=c, max_iter=2000))
    clf.fit(features(train_paths), train_labels)
    return float(np.mean(clf.predict(features(test_paths)) == np.asarray(test_labels)))


def r2(train_paths, y_train, test_paths, y_test, alpha: float = 10.0) -> np.ndarray:
    """Per-column R² on the test examples."""
    reg = make_pipeline(StandardScaler(), Ridge(alpha=alpha))
    reg.fit(features(train_paths), y_train)
    return r2_score(y_test, reg.predict(features(test_paths)), multioutput="raw_values")


def macro_roc_auc(train_paths, y_train, test_paths, y_test, c: float = 0.5) -> float:
    """Macro ROC-AUC over the columns with both classes in train and test (one logistic regression per column)."""
    xtr, xte = features(train_paths), features(test_paths)
    scores = []
    for j in range(y_train.shape[1]):
        if len(set(y_train[:, j])) < 2 or len(set(y_test[:, j])) < 2:
            continue
        clf = make_pipeline(StandardScaler(), LogisticRegression(C=c, max_iter=2000))
        clf.fit(xtr, y_train[:, j])
        scores.append(roc_auc_score(y_test[:, j], clf.predict_proba(xte)[:, 1]))
    return float(np.mean(scores))
