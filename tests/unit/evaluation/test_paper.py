"""A reproduced paper's table: the folds of each protocol, the verdict, the comparison."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.dummy import DummyClassifier

from musicfusion.evaluation.paper import (
    FOLD_COLUMNS,
    REPRODUCED,
    comparison_markdown,
    comparison_table,
    cross_validate,
    splits,
    verdict,
)
from musicfusion.evaluation.stats import corrected_resampled_t


@pytest.mark.parametrize(("published", "low", "high", "mean", "expected"), [
    (95.0, 94.0, 96.0, 95.5, REPRODUCED),
    (94.0, 94.0, 96.0, 95.0, REPRODUCED),  # on the bound counts as inside
    (79.0, 86.5, 88.1, 87.3, "not reproduced, by 8.3 points"),
    (96.0, 94.1, 95.9, 95.0, "not reproduced, by 1.0 points"),
])
def test_verdict_is_reproduced_only_inside_the_interval(published, low, high, mean, expected):
    assert verdict(published, low, high, mean) == expected


def labels_and_groups(n_per_group=3, n_groups=40):
    groups = np.repeat(np.arange(n_groups), n_per_group)
    labels = np.where(groups % 3 == 0, "a", "b")
    return labels, groups


def test_grouped_folds_never_split_a_group_and_every_item_is_tested_once_per_repetition():
    labels, groups = labels_and_groups()
    folds = splits(labels, groups, "grouped", folds=5, repetitions=2, seed=7)
    assert len(folds) == 10
    for repetition in (0, 1):
        tested = np.concatenate([test for r, _, _, test in folds if r == repetition])
        assert np.array_equal(np.sort(tested), np.arange(len(labels)))
    for _, _, train, test in folds:
        assert not set(groups[train]) & set(groups[test])


def test_ungrouped_folds_are_stratified_seeded_and_may_split_a_group():
    labels, groups = labels_and_groups()
    first = splits(labels, groups, "ungrouped", folds=5, repetitions=2, seed=7)
    again = splits(labels, groups, "ungrouped", folds=5, repetitions=2, seed=7)
    other = splits(labels, groups, "ungrouped", folds=5, repetitions=2, seed=8)
    assert all(np.array_equal(a[3], b[3]) for a, b in zip(first, again))
    assert not all(np.array_equal(a[3], b[3]) for a, b in zip(first, other))
    share = (labels == "a").mean()
    for _, _, _, test in first:
        assert abs((labels[test] == "a").mean() - share) < 0.05
    assert any(set(groups[train]) & set(groups[test]) for _, _, train, test in first)
    with pytest.raises(ValueError, match="unknown protocol"):
        splits(labels, groups, "leave_one_out", 5, 1, 7)


def test_cross_validate_scores_each_fold_on_its_test_part():
    labels, groups = labels_and_groups()
    X = np.zeros((len(labels), 1))
    folds = splits(labels, groups, "ungrouped", folds=5, repetitions=1, seed=0)
    rows = cross_validate(DummyClassifier(strategy="most_frequent"), X, labels, folds, "ungrouped", "majority")
    assert list(rows.columns) == FOLD_COLUMNS and len(rows) == 5
    for row, (_, _, train, test) in zip(rows.to_dict("records"), folds):
        assert row["n_correct"] == int((labels[test] == "b").sum())  # "b" is the majority
        assert row["n_train"] == len(train)
        assert row["percent_correct"] == pytest.approx(100 * row["n_correct"] / len(test))


def fold_scores(values: dict[tuple[str, str], list[float]]) -> pd.DataFrame:
    rows = []
    for (protocol, learner), scores in values.items():
        for fold, value in enumerate(scores):
            rows.append({"protocol": protocol, "learner": learner, "repetition": 0, "fold": fold,
                         "n_train": 90, "n_test": 10, "n_correct": 0, "percent_correct": value})
    return pd.DataFrame(rows, columns=FOLD_COLUMNS)


def test_comparison_has_the_corrected_interval_verdict_and_grouping_effect():
    scores = fold_scores({("ungrouped", "knn"): [95.0, 96.0, 94.0, 97.0, 95.0],
                          ("grouped", "knn"): [90.0, 91.0, 89.0, 92.0, 90.0],
                          ("ungrouped", "naive_bayes"): [87.0, 88.0, 86.0, 87.5, 87.0]})
    learners = {"naive_bayes": {"published": 79}, "knn": {"published": 96}}
    table = comparison_table(scores, learners, 0.95, reasons={"naive_bayes": "variance floor"})
    assert table["learner"].tolist() == ["naive_bayes", "knn"]  # the paper's order
    knn = table.set_index("learner").loc["knn"]
    stats = corrected_resampled_t([95.0, 96.0, 94.0, 97.0, 95.0], 10 / 90, 0.95)
    assert knn["ours_ci_low"] == round(stats["ci_low"], 2) and knn["ours_ci_high"] == round(stats["ci_high"], 2)
    assert knn["verdict"] == REPRODUCED and knn["reason"] == ""
    assert knn["grouping_effect"] == pytest.approx(-5.0) and knn["difference"] == pytest.approx(-0.6)
    bayes = table.set_index("learner").loc["naive_bayes"]
    assert bayes["verdict"] == "not reproduced, by 8.1 points" and bayes["reason"] == "variance floor"
    assert np.isnan(bayes["grouped_percent"])
    page = comparison_markdown(table, "A paper", 100, {"a": 60, "b": 40}, 10, 1, 0.95)
    assert "| knn | 96 | 95.4" in page and "not reproduced, by 8.1 points (variance floor)" in page


def test_comparison_needs_every_learner_under_the_papers_protocol():
    scores = fold_scores({("grouped", "knn"): [90.0, 91.0]})
    with pytest.raises(ValueError, match="paper's protocol"):
        comparison_table(scores, {"knn": {"published": 96}}, 0.95)
    with pytest.raises(ValueError, match="no fold scores for learner 'tree'"):
        comparison_table(scores, {"tree": {"published": 93}}, 0.95)
