"""Calibration of a multi-class classifier's predicted probabilities: top-label reliability table,
expected calibration error (ECE) and the multi-class Brier score (no plotting, no files).

Every function takes ``y_true`` (n labels), ``proba`` (an (n, K) array whose columns follow
``classes``) and ``classes`` (K distinct labels). A row's confidence is its largest probability and
its prediction the class of that probability; ties go to the first column in ``classes`` order
(numpy's argmax). With no rows, the table lists empty bins and ECE and Brier are NaN.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from sklearn.metrics import brier_score_loss

# How far a row's probabilities may sum from 1 (float rounding of a softmax or a renormalisation).
SUM_TOLERANCE = 1e-6


def _validated(y_true, proba, classes) -> tuple[np.ndarray, np.ndarray]:
    """``proba`` as float64 and each true label's column index; ValueError naming any problem."""
    classes = list(classes)
    if not classes:
        raise ValueError("classes is empty")
    if len(set(classes)) != len(classes):
        raise ValueError(f"classes are not unique: {classes}")
    y_true = np.asarray(y_true, dtype=object)
    if y_true.ndim != 1:
        raise ValueError(f"y_true must be 1-D, got shape {y_true.shape}")
    proba = np.asarray(proba, dtype=np.float64)
    if proba.ndim != 2 or proba.shape[1] != len(classes):
        raise ValueError(f"proba must have shape (n, {len(classes)}) (one column per class), got {proba.shape}")
    if proba.shape[0] != len(y_true):
        raise ValueError(f"shapes disagree: {len(y_true)} labels in y_true but {proba.shape[0]} rows in proba")
    if not np.isfinite(proba).all():
        raise ValueError("probabilities are not finite (NaN or infinite values in proba)")
    if (proba < 0).any() or (proba > 1).any():
        raise ValueError(f"probabilities outside [0, 1]: min {proba.min()}, max {proba.max()}")
    sums = proba.sum(axis=1)
    bad = np.flatnonzero(np.abs(sums - 1.0) > SUM_TOLERANCE)
    if bad.size:
        raise ValueError(f"rows of proba do not sum to 1 within {SUM_TOLERANCE}: row {bad[0]} sums to {sums[bad[0]]}"
                         f" ({bad.size} such rows)")
    codes = pd.Index(classes).get_indexer(y_true)
    unknown = np.flatnonzero(codes < 0)
    if unknown.size:
        raise ValueError(f"true label {y_true[unknown[0]]!r} is not among the classes {classes}")
    return proba, codes


def _check_bins(n_bins: int) -> None:
    if isinstance(n_bins, bool) or not isinstance(n_bins, (int, np.integer)) or n_bins < 1:
        raise ValueError(f"n_bins must be an integer >= 1, got {n_bins!r}")


def reliability_table(y_true, proba, classes, n_bins: int) -> pd.DataFrame:
    """Top-label reliability over ``n_bins`` equal-width confidence bins of [0, 1].

    Bin b holds confidences in [lower, upper), the last bin [lower, 1] (so confidence 1 counts).
    Columns: bin, lower, upper, n, confidence (mean confidence), accuracy (share of correct top
    predictions); every bin is listed, an empty one with n = 0 and NaN confidence and accuracy.
    """
    _check_bins(n_bins)
    proba, codes = _validated(y_true, proba, classes)
    if len(codes):
        confidence = proba.max(axis=1)
        correct = (proba.argmax(axis=1) == codes).astype(np.float64)
    else:  # argmax refuses an empty array
        confidence, correct = np.empty(0), np.empty(0)
    return confidence_table(confidence, correct, n_bins)


def confidence_table(confidence, correct, n_bins: int) -> pd.DataFrame:
    """:func:`reliability_table` from each prediction's confidence (its top probability) and whether it was
    right: what a predictions table without the full probabilities allows."""
    _check_bins(n_bins)
    confidence = np.asarray(confidence, dtype=np.float64).ravel()
    correct = np.asarray(correct, dtype=np.float64).ravel()
    if confidence.shape != correct.shape:
        raise ValueError(f"shapes disagree: {confidence.size} confidences, {correct.size} correctness flags")
    if not np.isfinite(confidence).all() or (confidence < 0).any() or (confidence > 1).any():
        raise ValueError("confidences must be finite and in [0, 1]")
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    # Same edges for assignment and for the reported bounds; the clip closes the last bin at 1.
    index = np.clip(np.searchsorted(edges, confidence, side="right") - 1, 0, n_bins - 1)
    n = np.bincount(index, minlength=n_bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_confidence = np.bincount(index, weights=confidence, minlength=n_bins) / n
        accuracy = np.bincount(index, weights=correct, minlength=n_bins) / n
    return pd.DataFrame({"bin": np.arange(n_bins), "lower": edges[:-1], "upper": edges[1:], "n": n,
                         "confidence": mean_confidence, "accuracy": accuracy})


def expected_calibration_error(y_true, proba, classes, n_bins: int) -> float:
    """Top-label ECE: sum over bins of n_b / N * |accuracy_b - confidence_b| (empty bins add 0);
    NaN with no rows."""
    return table_ece(reliability_table(y_true, proba, classes, n_bins))


def table_ece(table: pd.DataFrame) -> float:
    """The ECE of a reliability table (:func:`reliability_table`, :func:`confidence_table`)."""
    total = int(table["n"].sum())
    if total == 0:
        return float("nan")
    gaps = (table["accuracy"] - table["confidence"]).abs().fillna(0.0)
    return float((table["n"] / total * gaps).sum())


def brier_score(y_true, proba, classes) -> float:
    """Multi-class Brier score: mean over rows of sum over classes of (p_k - 1[y = k])^2, in [0, 2]
    (uniform over K classes gives (K - 1) / K). NaN with no rows.

    Unlike scikit-learn's default for two classes, this is never halved: for K = 2 it is twice
    ``brier_score_loss(y, p_positive)``, so one scale serves every task.
    """
    proba, codes = _validated(y_true, proba, classes)
    if len(codes) == 0:
        return float("nan")
    if len(classes) == 1:  # sklearn needs two classes; here every row is the class with p ~ 1
        return float(np.mean((proba[:, 0] - 1.0) ** 2))
    labels = np.asarray(list(classes), dtype=object)
    order = np.argsort(labels, kind="stable")  # sklearn takes the columns in sorted label order
    with warnings.catch_warnings():
        # Rows were checked against SUM_TOLERANCE above; sklearn's own sum check is far stricter.
        warnings.filterwarnings("ignore", message="The y_prob values do not sum to one", category=UserWarning)
        return float(brier_score_loss(labels[codes], proba[:, order], labels=labels[order], scale_by_half=False))
