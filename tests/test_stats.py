"""Confidence intervals and paired tests, checked against values computed by hand."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import recall_score

from musicfusion.stats import (macro_recall, macro_recall_by_group, mcnemar, mean_ci, paired_bootstrap,
                               per_class_recall)


def test_mean_ci_matches_the_t_formula():
    values = [0.5, 0.6, 0.7]
    mean, low, high = mean_ci(values, 0.95)
    half = 4.302652729911275 * np.std(values, ddof=1) / np.sqrt(3)  # t_{0.975, 2}
    assert mean == pytest.approx(0.6)
    assert (low, high) == pytest.approx((0.6 - half, 0.6 + half))
    assert mean_ci([0.4, 0.4], 0.95) == (0.4, 0.4, 0.4)
    assert np.isnan(mean_ci([0.4], 0.95)[1])


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


def test_mcnemar_counts_discordant_pairs():
    a = [1, 1, 1, 1, 1, 1, 0, 1]
    b = [0, 0, 0, 0, 0, 0, 0, 1]
    result = mcnemar(a, b)
    assert (result["only_a_correct"], result["only_b_correct"]) == (6, 0)
    assert result["p_value"] == pytest.approx(2 * 0.5 ** 6)
    assert mcnemar(a, a)["p_value"] == 1.0


def _bootstrap(y, a, b, groups, seed=0):
    stat = lambda idx: macro_recall_by_group(y, a, groups, idx) - macro_recall_by_group(y, b, groups, idx)
    return paired_bootstrap(stat, groups, 500, seed, 0.95)


def test_bootstrap_finds_a_real_difference_and_not_a_null_one():
    rng = np.random.default_rng(1)
    y = rng.choice(list("abc"), 300)
    groups = np.repeat(np.arange(3), 100)
    good = np.where(rng.random(300) < 0.9, y, "a")
    bad = np.where(rng.random(300) < 0.4, y, "b")
    strong = _bootstrap(y, good, bad, groups)
    assert strong["difference"] > 0.3 and strong["p_value"] < 0.01 and strong["ci_low"] > 0
    same = _bootstrap(y, good, good, groups)
    assert same["difference"] == 0.0 and same["p_value"] == 1.0
    assert _bootstrap(y, good, bad, groups, seed=5) == _bootstrap(y, good, bad, groups, seed=5)
