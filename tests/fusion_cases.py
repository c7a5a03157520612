"""Synthetic fusion cases shared by the model and robustness tests: audio carries the class,
video is noise, text is weak; methods built as the workflow builds them, with small learners."""

from __future__ import annotations

import numpy as np

from musicfusion.models.methods import build_method

from small_learners import LEARNERS

CLASSES = np.array(["a", "b", "c"])
MODS = ["audio", "video", "text"]
SEED = 0


def make_split(n: int, rng: np.random.Generator):
    """Features of n clips: a 3-class 'style' and a 2-class 'loud' task (also in audio)."""
    style = rng.integers(0, 3, n)
    loud = rng.integers(0, 2, n)
    onehot = np.eye(3)[style]
    audio = np.hstack([2.0 * onehot, 2.0 * loud[:, None]]) + rng.normal(size=(n, 4))
    audio = np.hstack([audio, rng.normal(size=(n, 4))])  # some uninformative columns too
    video = rng.normal(size=(n, 6))
    text = 0.4 * onehot + rng.normal(size=(n, 3))
    X = {"audio": audio, "video": video, "text": text}
    X = {m: x.astype(np.float32) for m, x in X.items()}
    return X, CLASSES[style], np.array(["quiet", "loud"])[loud]


def build(kind: str, modalities=MODS, learner="logistic", values=None, fixed=None, **settings):
    """A method of ``kind`` built as the workflow builds it, with the tests' small learners."""
    return build_method({"type": kind, "modalities": modalities, "learner": learner, **settings}, SEED,
                        LEARNERS, values, fixed)


def fit_predict(method, data, multitask=False):
    Xtr, ytr, ztr = data["train"]
    Xva, yva, zva = data["val"]
    if multitask:
        method.fit(Xtr, np.column_stack([ytr, ztr]), Xva, np.column_stack([yva, zva]))
    else:
        method.fit(Xtr, ytr, Xva, yva)
    return method
