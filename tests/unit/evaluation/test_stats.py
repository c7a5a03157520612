"""Confidence intervals and paired tests, checked against values computed by hand."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats as sps
from sklearn.metrics import recall_score

from musicfusion.evaluation.stats import (
    corrected_resampled_t,
    holm,
    macro_recall,
    paired_bootstrap,
    per_class_recall,
    permutation_test,
)


def test_macro_recall_equals_scikit_learn():
    rng = np.random.default_rng(0)
    for _ in range(20):
        y_true = rng.choice(list("abcd"), 30)
        y_pred = rng.choice(list("abcde"), 30)
        assert macro_recall(y_true, y_pred) == pytest.approx(
            recall_score(y_true, y_pred, average="macro", zero_division=0))


def test_per_class_recall_by_hand():
    got = per_class_recall(["a", "a", "b", "b"], ["a", "b", "b", "b"], ["a", "b", "c"])
    assert got[:2].tolist() == [0.5, 1.0] and np.isnan(got[2])


def _bootstrap(y, a, b, groups, seed=0):
    """Paired bootstrap of macro recall(a) - macro recall(b) on the resampled items."""
    stat = lambda idx: macro_recall(y[idx], a[idx]) - macro_recall(y[idx], b[idx])
    return paired_bootstrap(stat, groups, 500, seed, 0.95)


def test_bootstrap_finds_a_real_difference_and_not_a_null_one():
    rng = np.random.default_rng(1)
    y = rng.choice(list("abc"), 300)
    groups = np.repeat(np.arange(3), 100)
    good = np.where(rng.random(300) < 0.9, y, "a")
    bad = np.where(rng.random(300) < 0.4, y, "b")
    strong = _bootstrap(y, good, bad, groups)
    assert strong["difference"] == pytest.approx(macro_recall(y, good) - macro_recall(y, bad))
    assert strong["difference"] > 0.3 and strong["p_value"] < 0.01 and strong["ci_low"] > 0
    same = _bootstrap(y, good, good, groups)
    assert same["difference"] == 0.0 and same["p_value"] == 1.0
    assert _bootstrap(y, good, bad, groups, seed=5) == _bootstrap(y, good, bad, groups, seed=5)


def test_bootstrap_of_a_difference_in_mean_correctness_covers_a_null_one():
    # Two systems right on the same share of items, at independent places: no real difference.
    rng = np.random.default_rng(2)
    correct_a, correct_b = rng.random(400) < 0.7, rng.random(400) < 0.7
    groups = np.repeat(np.arange(4), 100)
    stat = lambda idx: float(correct_a[idx].mean() - correct_b[idx].mean())
    null = paired_bootstrap(stat, groups, 1000, 0, 0.95)
    assert null["difference"] == pytest.approx(correct_a.mean() - correct_b.mean())
    assert null["ci_low"] < 0 < null["ci_high"] and null["p_value"] > 0.05
    shifted = correct_a | (rng.random(400) < 0.5)  # a plus extra right answers: truly better
    stat = lambda idx: float(shifted[idx].mean() - correct_b[idx].mean())
    real = paired_bootstrap(stat, groups, 1000, 0, 0.95)
    assert real["difference"] > 0.1 and real["ci_low"] > 0 and real["p_value"] < 0.01


# --- corrected resampled t (Nadeau & Bengio 2003; Bouckaert & Frank 2004) ---------------------------

def test_corrected_t_matches_the_formula_by_hand():
    values = [0.01, 0.02, 0.03, -0.01, 0.0]  # J = 5, mean 0.01, sum of squared deviations 0.001
    result = corrected_resampled_t(values, 0.25, 0.95)
    variance = (1 / 5 + 0.25) * (0.001 / 4)  # (1/J + n_test/n_train) * s^2 = 1.125e-4
    assert variance == pytest.approx(1.125e-4)
    assert result["mean"] == pytest.approx(0.01)
    assert result["df"] == 4
    assert result["t"] == pytest.approx(0.01 / np.sqrt(1.125e-4)) == pytest.approx(0.9428090415820634)
    half = 2.7764451051977987 * np.sqrt(1.125e-4)  # t_{0.975, 4}
    assert (result["ci_low"], result["ci_high"]) == pytest.approx((0.01 - half, 0.01 + half))
    assert result["p_value"] == pytest.approx(2 * sps.t.sf(0.9428090415820634, 4))
    assert set(result) == {"mean", "ci_low", "ci_high", "t", "p_value", "df"}


def test_corrected_t_without_correction_is_the_plain_t_test():
    values = np.array([0.02, -0.01, 0.04, 0.03, 0.00, 0.05, 0.01, 0.02, -0.02, 0.03])
    plain = corrected_resampled_t(values, 0.0, 0.95)
    sem = values.std(ddof=1) / np.sqrt(len(values))
    low, high = sps.t.interval(0.95, df=len(values) - 1, loc=values.mean(), scale=sem)
    assert (plain["ci_low"], plain["ci_high"]) == pytest.approx((low, high))
    reference = sps.ttest_1samp(values, 0.0)
    assert plain["t"] == pytest.approx(reference.statistic)
    assert plain["p_value"] == pytest.approx(reference.pvalue)
    assert plain["df"] == len(values) - 1
    # 2 x 5-fold, n_test / n_train = 1/4: standard error inflated by sqrt(1 + J * ratio) = sqrt(3.5)
    corrected = corrected_resampled_t(values, 0.25, 0.95)
    assert corrected["t"] == pytest.approx(plain["t"] / np.sqrt(3.5))
    assert corrected["ci_high"] - corrected["mean"] == pytest.approx((high - plain["mean"]) * np.sqrt(3.5))
    assert corrected["p_value"] > plain["p_value"]


def test_corrected_t_degenerate_cases():
    same = corrected_resampled_t(np.zeros(10), 0.25, 0.95)  # a system against itself
    assert same["p_value"] == 1.0 and same["t"] == 0.0 and (same["ci_low"], same["ci_high"]) == (0.0, 0.0)
    constant = corrected_resampled_t([0.05] * 10, 0.25, 0.95)  # every fold agrees exactly
    assert constant["p_value"] == 0.0 and constant["t"] == np.inf
    assert (constant["ci_low"], constant["ci_high"]) == (0.05, 0.05)
    assert corrected_resampled_t([-0.05] * 4, 0.25, 0.95)["t"] == -np.inf
    one = corrected_resampled_t([0.3], 0.25, 0.95)
    assert one["mean"] == 0.3 and one["df"] == 0
    assert all(np.isnan(one[key]) for key in ("ci_low", "ci_high", "t", "p_value"))
    with pytest.raises(ValueError):
        corrected_resampled_t([0.1, 0.2], -0.1, 0.95)
    with pytest.raises(ValueError):
        corrected_resampled_t([0.1, 0.2], 0.25, 95)


def test_corrected_t_interval_of_one_system_score():
    accuracies = [0.70, 0.72, 0.68, 0.71, 0.69, 0.73, 0.70, 0.67, 0.72, 0.68]
    result = corrected_resampled_t(accuracies, 0.25, 0.9)
    s2 = np.var(accuracies, ddof=1)
    half = sps.t.ppf(0.95, 9) * np.sqrt((1 / 10 + 0.25) * s2)
    assert (result["ci_low"], result["ci_high"]) == pytest.approx((0.70 - half, 0.70 + half))


# --- Holm ---------------------------------------------------------------------------------------

def _holm_by_definition(p):
    """statsmodels' definition, written out: adjusted p_(i) = max_{j<=i} min(1, (m - j + 1) p_(j))."""
    order = sorted(range(len(p)), key=lambda i: p[i])
    m, out = len(p), [0.0] * len(p)
    for i in range(m):
        out[order[i]] = max(min(1.0, (m - j) * p[order[j]]) for j in range(i + 1))  # j 0-based
    return out


def test_holm_textbook_example():
    # sorted 0.005, 0.01, 0.03, 0.04 -> 4*0.005, 3*0.01, 2*0.03, max(0.06, 1*0.04)
    assert holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])


def test_holm_matches_the_definition_caps_at_one_and_is_monotone():
    rng = np.random.default_rng(3)
    for m in (1, 2, 5, 12):
        p = rng.random(m) ** 2
        got = holm(p)
        assert got == pytest.approx(_holm_by_definition(list(p)))
        assert np.all(got <= 1.0) and np.all(got >= p)
        assert np.all(np.diff(got[np.argsort(p)]) >= 0)
    assert holm([0.5, 0.6, 0.9]).tolist() == [1.0, 1.0, 1.0]
    assert holm([0.02, 0.02]).tolist() == pytest.approx([0.04, 0.04])  # ties get the same value
    assert holm([0.03]).tolist() == [0.03]


def test_holm_passes_nan_through_and_does_not_count_it():
    got = holm([0.01, np.nan, 0.04, 0.03, np.nan, 0.005])
    assert np.isnan(got[1]) and np.isnan(got[4])
    assert got[[0, 2, 3, 5]] == pytest.approx([0.03, 0.06, 0.06, 0.02])  # m = 4, not 6
    assert np.isnan(holm([np.nan, np.nan])).all()
    assert holm([]).shape == (0,)
    assert holm([[0.01, 0.04], [0.03, 0.005]]) == pytest.approx(np.array([[0.03, 0.06], [0.06, 0.02]]))
    with pytest.raises(ValueError):
        holm([0.2, 1.5])


# --- permutation test ---------------------------------------------------------------------------

def test_permutation_p_is_one_over_n_plus_one_when_observed_is_the_strict_maximum():
    n = 12
    seen = []

    def closeness(order):  # 0 for the identity, negative for every other permutation
        seen.append(np.array(order))
        return -float(np.abs(np.asarray(order) - np.arange(n)).sum())

    result = permutation_test(closeness, n, 99, seed=0)
    assert result["observed"] == 0.0
    assert result["p_value"] == pytest.approx(1 / 100)
    assert result["null_mean"] < 0
    assert len(seen) == 100 and all(sorted(order) == list(range(n)) for order in seen)
    assert sum(order.tolist() == list(range(n)) for order in seen) == 1  # the observed pairing, once


def test_permutation_p_never_zero_and_ties_count_against():
    constant = permutation_test(lambda order: 0.5, 10, 49, seed=1)
    assert constant["p_value"] == 1.0 and constant["null_mean"] == 0.5
    worst = permutation_test(lambda order: float(np.sum(order != np.arange(10))), 10, 49, seed=1)
    assert 0 < worst["p_value"] <= 1.0 and worst["observed"] == 0.0 and worst["p_value"] == 1.0
    best = permutation_test(lambda order: float(np.mean(order == np.arange(10))), 10, 49, seed=1)
    assert best["p_value"] == pytest.approx(1 / 50)  # fixed-point fraction: 1 only for the identity
    assert best["null_mean"] == pytest.approx(0.1, abs=0.06)  # E[fixed points / n] = 1/n


def test_permutation_is_reproducible_by_seed():
    rng = np.random.default_rng(2)
    scores = rng.normal(size=(15, 15))
    stat = lambda order: float(scores[np.arange(15), order].mean())
    assert permutation_test(stat, 15, 60, seed=4) == permutation_test(stat, 15, 60, seed=4)
    assert permutation_test(stat, 15, 60, seed=4)["null_mean"] != permutation_test(stat, 15, 60, seed=5)["null_mean"]
    with pytest.raises(ValueError):
        permutation_test(stat, 15, 0, seed=4)
