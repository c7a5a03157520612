"""Metrics: how a prediction is scored, everywhere the same (no plotting, no files).

Macro averages weigh each class equally, and a class never predicted counts as 0 (no warning):
the same numbers in the result tables and in every choice made on the validation split.

A clip a method cannot predict (a single-modality baseline on a clip without its modality) has
the predicted label NO_PREDICTION: it counts as an error for its true class (accuracy, recall)
and is no class of its own (it enters no class's precision).
"""

from __future__ import annotations

from functools import partial

import numpy as np
from sklearn.metrics import accuracy_score, f1_score, precision_score, recall_score

METRICS = {
    "accuracy": accuracy_score,
    "precision_macro": partial(precision_score, average="macro", zero_division=0),
    "recall_macro": partial(recall_score, average="macro", zero_division=0),
    "f1_macro": partial(f1_score, average="macro", zero_division=0),
}

# The predicted label of a clip a method has nothing to predict from ('' in predictions.csv).
NO_PREDICTION = ""

DECIMALS = 4
"""Decimals of every number in the result tables (CSV, Markdown); JSON keeps full precision."""


def score(metric: str, y_true, y_pred) -> float:
    """One metric of METRICS by name, as a Python float."""
    if metric not in METRICS:
        raise ValueError(f"unknown metric {metric!r}; known: {sorted(METRICS)}")
    if metric == "accuracy":
        return float(METRICS[metric](y_true, y_pred))
    return float(METRICS[metric](y_true, y_pred, labels=scored_labels(y_true, y_pred)))


def scored_labels(y_true, y_pred) -> list:
    """The classes a macro average runs over: every true or predicted label but NO_PREDICTION
    (scikit-learn's default set, less the label that means 'no prediction')."""
    labels = set(np.asarray(y_true).tolist()) | set(np.asarray(y_pred).tolist())
    return sorted(labels - {NO_PREDICTION})


def classification_metrics(y_true, y_pred) -> dict[str, float]:
    """accuracy, precision_macro, recall_macro, f1_macro as Python floats."""
    return {name: score(name, y_true, y_pred) for name in METRICS}
