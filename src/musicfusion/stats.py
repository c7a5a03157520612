"""Statistics for trustworthy comparisons: confidence intervals and paired significance tests."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy import stats as sps


def mean_ci(values, confidence: float) -> tuple[float, float, float]:
    """Mean and Student-t confidence interval over repeats (NaN bounds for a single value)."""
    values = np.asarray(values, dtype=np.float64)
    mean = float(values.mean())
    if len(values) < 2:
        return mean, float("nan"), float("nan")
    sem = float(values.std(ddof=1)) / np.sqrt(len(values))
    if sem == 0.0:
        return mean, mean, mean
    low, high = sps.t.interval(confidence, df=len(values) - 1, loc=mean, scale=sem)
    return mean, float(low), float(high)


def paired_bootstrap(statistic: Callable[[np.ndarray], float], groups: np.ndarray, n_samples: int,
                     seed: int, confidence: float) -> dict:
    """Paired bootstrap of a difference between two systems scored on the same items.

    ``statistic(index)`` returns the difference (a minus b) computed on the items ``index``;
    items are resampled with replacement within each group (a group = one repeat's test set),
    so each resample keeps the design. The two-sided p-value is that of the null "no difference":
    twice the smaller tail of the resampled differences around zero.
    """
    groups = np.asarray(groups)
    members = [np.flatnonzero(groups == g) for g in np.unique(groups)]
    rng = np.random.default_rng(seed)
    observed = float(statistic(np.arange(len(groups))))
    draws = np.empty(n_samples)
    for i in range(n_samples):
        index = np.concatenate([rng.choice(m, size=len(m), replace=True) for m in members])
        draws[i] = statistic(index)
    tail = min(np.mean(draws <= 0.0), np.mean(draws >= 0.0))
    p_value = float(min(1.0, 2.0 * tail)) if observed != 0.0 or draws.std() > 0 else 1.0
    alpha = (1.0 - confidence) / 2.0
    low, high = np.quantile(draws, [alpha, 1.0 - alpha])
    return {"difference": observed, "ci_low": float(low), "ci_high": float(high), "p_value": p_value}


def mcnemar(correct_a, correct_b) -> dict:
    """Exact McNemar test on paired correctness: b = only a right, c = only b right."""
    correct_a, correct_b = np.asarray(correct_a, bool), np.asarray(correct_b, bool)
    b = int(np.sum(correct_a & ~correct_b))
    c = int(np.sum(~correct_a & correct_b))
    p_value = 1.0 if b + c == 0 else float(sps.binomtest(b, b + c, 0.5).pvalue)
    return {"only_a_correct": b, "only_b_correct": c, "p_value": p_value}


def per_class_recall(y_true, y_pred, labels) -> np.ndarray:
    """Recall of each label in ``labels`` (NaN for a label absent from y_true)."""
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    out = np.full(len(labels), np.nan)
    for i, label in enumerate(labels):
        mask = y_true == label
        if mask.any():
            out[i] = float(np.mean(y_pred[mask] == label))
    return out


def macro_recall(y_true, y_pred) -> float:
    """scikit-learn's macro recall with zero_division=0: labels of y_true and y_pred, a label
    never true scoring 0 (so predicting an absent class costs, as in the summary table)."""
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    labels, codes = np.unique(np.concatenate([y_true, y_pred]), return_inverse=True)
    t, p = codes[: len(y_true)], codes[len(y_true):]
    n_true = np.bincount(t, minlength=len(labels))
    hits = np.bincount(t[t == p], minlength=len(labels))
    with np.errstate(invalid="ignore", divide="ignore"):
        recall = np.where(n_true > 0, hits / np.maximum(n_true, 1), 0.0)
    return float(recall.mean())


def macro_recall_by_group(y_true, y_pred, groups, index) -> float:
    """Mean over groups (repeats) of the macro recall of the items ``index`` in that group."""
    y_true, y_pred, groups = np.asarray(y_true)[index], np.asarray(y_pred)[index], np.asarray(groups)[index]
    return float(np.mean([macro_recall(y_true[groups == g], y_pred[groups == g]) for g in np.unique(groups)]))
