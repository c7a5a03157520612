"""Statistics for trustworthy comparisons: corrected resampled t-tests over folds, Holm's correction,
permutation tests against chance, and a paired bootstrap for fixed models."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy import stats as sps

from musicfusion.evaluation.metrics import NO_PREDICTION


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
    # 'No prediction' is an error for its clip's class, not a class of its own.
    return float(recall[labels != NO_PREDICTION].mean())


def mean_t_interval(values, confidence: float) -> tuple[float, float]:
    """Two-sided t interval of the mean of independent values (clips) at ``confidence``; NaN for
    fewer than 2."""
    values = np.asarray(values, dtype=np.float64)
    n = len(values)
    if n < 2:
        return np.nan, np.nan
    half = sps.t.ppf(0.5 + confidence / 2, n - 1) * values.std(ddof=1) / np.sqrt(n)
    mean = values.mean()
    return float(mean - half), float(mean + half)


def corrected_resampled_t(values, test_train_ratio: float, confidence: float) -> dict:
    """Corrected resampled t statistics over the folds of a (repeated) k-fold cross-validation.

    Nadeau, C. & Bengio, Y. (2003), "Inference for the generalization error", Machine Learning
    52:239-281, in the repeated k-fold form of Bouckaert, R. R. & Frank, E. (2004), "Evaluating
    the replicability of significance tests for comparing learning algorithms", PAKDD 2004,
    LNCS 3056:3-12.

    ``values`` are the J per-fold values of one system (for an interval on its score) or the
    paired per-fold differences a - b between two systems scored on the same folds (for a test
    of "no difference"). With mean m and sample variance s^2 (ddof=1), the variance of m is taken
    as ``(1/J + n_test/n_train) * s^2`` with df = J - 1, instead of the plain ``s^2 / J``.
    Why: the J = r*k folds are not independent samples. Their training sets overlap heavily
    (within a repetition any two training parts share (k-2)/(k-1) of their items, and across
    repetitions they are drawn from the same data), and every item is tested once per repetition,
    so the per-fold values are positively correlated. The plain t-test divides by J as if they
    were independent, so its variance is too small, its intervals too narrow and its type I
    error far above nominal; the n_test/n_train term is Nadeau & Bengio's heuristic for that
    correlation (rho = n_test / (n_test + n_train)). It is still approximate (it does not model
    the variability due to the choice of the data set itself), slightly conservative in most
    published simulations.

    ``test_train_ratio`` is n_test / n_train of one fold: the caller passes the real sizes (the
    items actually used for fitting, e.g. without a carved-out validation set, if that is what
    the model was trained on). 0 gives back the ordinary one-sample t statistics.

    Returns ``{"mean", "ci_low", "ci_high", "t", "p_value", "df"}``: ``t`` and the two-sided
    ``p_value`` test mean = 0; the interval is m +- t_{df,(1+confidence)/2} * sqrt(corrected
    variance). With J < 2 the bounds, t and p are NaN (df = 0). Degenerate zero variance (every
    fold gives the same value): mean 0 gives t = 0 and p = 1 (e.g. comparing a system with
    itself); a nonzero mean gives t = +-inf and p = 0, the limit of the formula (every fold
    agrees exactly on the sign and size of the difference); the interval is then [m, m].
    """
    values = np.asarray(values, dtype=np.float64).ravel()
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    if not (np.isfinite(test_train_ratio) and test_train_ratio >= 0.0):
        raise ValueError(f"test_train_ratio must be a finite number >= 0, got {test_train_ratio}")
    n = len(values)
    mean = float(values.mean()) if n else float("nan")
    nan = float("nan")
    if n < 2:
        return {"mean": mean, "ci_low": nan, "ci_high": nan, "t": nan, "p_value": nan, "df": max(n - 1, 0)}
    df = n - 1
    variance = float(values.var(ddof=1)) * (1.0 / n + float(test_train_ratio))
    if not np.isfinite(variance) or not np.isfinite(mean):
        return {"mean": mean, "ci_low": nan, "ci_high": nan, "t": nan, "p_value": nan, "df": df}
    if variance == 0.0:
        t = 0.0 if mean == 0.0 else float(np.copysign(np.inf, mean))
        p_value = 1.0 if mean == 0.0 else 0.0
        return {"mean": mean, "ci_low": mean, "ci_high": mean, "t": t, "p_value": p_value, "df": df}
    scale = float(np.sqrt(variance))
    t = mean / scale
    half = float(sps.t.ppf((1.0 + confidence) / 2.0, df)) * scale
    p_value = float(min(1.0, 2.0 * sps.t.sf(abs(t), df)))
    return {"mean": mean, "ci_low": mean - half, "ci_high": mean + half, "t": float(t),
            "p_value": p_value, "df": df}


def holm(p_values) -> np.ndarray:
    """Holm (1979) step-down adjusted p-values, in the input order (same shape).

    With the m non-NaN p-values sorted ascending, p_(1) <= ... <= p_(m), the adjusted value is
    ``max_{j<=i} min(1, (m - j + 1) p_(j))`` (statsmodels' ``multipletests(method="holm")``).
    Rejecting where the adjusted p is <= alpha controls the family-wise error rate at alpha under
    any dependence. NaN entries (tests not run) stay NaN and do not count in m.
    """
    p = np.asarray(p_values, dtype=np.float64)
    flat = p.ravel()
    out = np.full(flat.shape, np.nan)
    ok = ~np.isnan(flat)
    finite = flat[ok]
    if np.any((finite < 0.0) | (finite > 1.0)):
        raise ValueError("p-values must lie in [0, 1] (or be NaN)")
    m = len(finite)
    if m:
        order = np.argsort(finite, kind="stable")
        adjusted = np.minimum(1.0, (m - np.arange(m)) * finite[order])
        adjusted = np.maximum.accumulate(adjusted)
        result = np.empty(m)
        result[order] = adjusted
        out[ok] = result
    return out.reshape(p.shape)


def permutation_test(statistic: Callable[[np.ndarray], float], n_items: int, n_permutations: int,
                     seed: int) -> dict:
    """One-sided permutation test of "better than chance" for a retrieval metric.

    ``statistic(order)`` returns the metric (higher = better) when gallery item i is replaced by
    gallery item ``order[i]``, i.e. with the query-gallery pairing shuffled. The observed value is
    ``statistic(np.arange(n_items))``; the null distribution is that of ``n_permutations``
    uniformly random permutations from ``np.random.default_rng(seed)`` (drawn with replacement,
    so the identity may occur). The p-value is ``(1 + #{null >= observed}) / (1 + n_permutations)``
    (Phipson, B. & Smyth, G. K. (2010), "Permutation p-values should never be zero", Stat. Appl.
    Genet. Mol. Biol. 9(1):39), never 0 and valid (P(p <= alpha) <= alpha under exchangeability
    of the pairing). Null values equal to the observed one up to floating-point rounding count
    as ">=" (conservative). The smallest attainable p is 1 / (1 + n_permutations).

    Returns ``{"observed", "null_mean", "p_value"}``.
    """
    if n_items < 2:
        raise ValueError(f"n_items must be >= 2, got {n_items}")
    if n_permutations < 1:
        raise ValueError(f"n_permutations must be >= 1, got {n_permutations}")
    rng = np.random.default_rng(seed)
    observed = float(statistic(np.arange(n_items)))
    null = np.array([float(statistic(rng.permutation(n_items))) for _ in range(n_permutations)])
    tolerance = 1e-12 * max(1.0, abs(observed))
    exceed = int(np.sum(null >= observed - tolerance))
    return {"observed": observed, "null_mean": float(null.mean()),
            "p_value": (1.0 + exceed) / (1.0 + n_permutations)}
