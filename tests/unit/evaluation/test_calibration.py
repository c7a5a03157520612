"""Calibration: reliability table, ECE and Brier score, checked on hand-computed cases, synthetic
calibrated and over-confident data, and scikit-learn."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import brier_score_loss

from musicfusion.evaluation import calibration as cal
from musicfusion.evaluation.calibration import brier_score, expected_calibration_error, reliability_table

CLASSES = ["a", "b", "c"]
# conf 0.9 correct, 0.7 wrong (bin 1); 0.4 correct, 0.45 wrong (bin 0) with 2 bins.
PROBA = np.array([[0.9, 0.05, 0.05], [0.1, 0.7, 0.2], [0.4, 0.3, 0.3], [0.2, 0.35, 0.45]])
Y = ["a", "a", "a", "b"]


def test_reliability_table_by_hand():
    table = reliability_table(Y, PROBA, CLASSES, n_bins=2)
    assert list(table.columns) == ["bin", "lower", "upper", "n", "confidence", "accuracy"]
    assert table["bin"].tolist() == [0, 1]
    np.testing.assert_allclose(table["lower"], [0.0, 0.5])
    np.testing.assert_allclose(table["upper"], [0.5, 1.0])
    assert table["n"].tolist() == [2, 2]
    np.testing.assert_allclose(table["confidence"], [0.425, 0.8])
    np.testing.assert_allclose(table["accuracy"], [0.5, 0.5])


def test_ece_by_hand():
    # 2/4 * |0.5 - 0.425| + 2/4 * |0.5 - 0.8| = 0.0375 + 0.15
    assert expected_calibration_error(Y, PROBA, CLASSES, n_bins=2) == pytest.approx(0.1875)


def test_empty_bins_are_listed_and_add_nothing_to_ece():
    table = reliability_table(Y, PROBA, CLASSES, n_bins=4)  # bins [0,.25) [.25,.5) [.5,.75) [.75,1]
    assert table["n"].tolist() == [0, 2, 1, 1]
    assert np.isnan(table.loc[0, "confidence"]) and np.isnan(table.loc[0, "accuracy"])
    np.testing.assert_allclose(table["accuracy"].iloc[1:], [0.5, 0.0, 1.0])
    # 2/4 * 0.075 + 1/4 * 0.7 + 1/4 * 0.1
    assert expected_calibration_error(Y, PROBA, CLASSES, n_bins=4) == pytest.approx(0.2375)


def test_single_bin_ece_is_the_gap_between_mean_confidence_and_accuracy():
    assert expected_calibration_error(Y, PROBA, CLASSES, n_bins=1) == pytest.approx(abs(0.5 - 0.6125))


def test_confidence_one_falls_in_the_last_bin_and_edges_go_up():
    proba = np.array([[1.0, 0.0], [0.5, 0.5], [0.0, 1.0]])
    table = reliability_table(["x", "x", "x"], proba, ["x", "y"], n_bins=2)
    assert table["n"].tolist() == [0, 3]  # 0.5 opens the upper bin [0.5, 1]
    np.testing.assert_allclose(table.loc[1, "accuracy"], 2 / 3)  # the 0.5 tie predicts x
    table = reliability_table(["x"], np.array([[1.0, 0.0]]), ["x", "y"], n_bins=10)
    assert table["n"].tolist() == [0] * 9 + [1]


def test_ties_go_to_the_first_class_in_classes_order():
    proba = np.array([[0.4, 0.4, 0.2]])
    assert reliability_table(["a"], proba, CLASSES, 1).loc[0, "accuracy"] == 1.0
    assert reliability_table(["b"], proba, CLASSES, 1).loc[0, "accuracy"] == 0.0
    # Reorder the classes (and columns): now b comes first and wins the tie.
    assert reliability_table(["b"], proba[:, [1, 0, 2]], ["b", "a", "c"], 1).loc[0, "accuracy"] == 1.0


def _synthetic(seed: int, n: int, k: int):
    rng = np.random.default_rng(seed)
    proba = rng.dirichlet(np.ones(k), size=n)
    # Draw each label from its own row's probabilities (inverse CDF), so proba is calibrated.
    drawn = (proba.cumsum(axis=1) < rng.random(n)[:, None]).sum(axis=1)
    classes = [f"class_{i}" for i in range(k)]
    return np.asarray(classes)[np.minimum(drawn, k - 1)], proba, classes


def test_calibrated_data_has_small_ece_and_sharpened_has_large():
    y, proba, classes = _synthetic(seed=0, n=20_000, k=4)
    calibrated = expected_calibration_error(y, proba, classes, n_bins=10)
    sharp = proba**2 / (proba**2).sum(axis=1, keepdims=True)  # same ranking, over-confident
    over = expected_calibration_error(y, sharp, classes, n_bins=10)
    assert calibrated < 0.02
    assert over > 0.1 and over > 5 * calibrated
    table = reliability_table(y, sharp, classes, n_bins=10)
    filled = table[table["n"] > 0]
    assert (filled["confidence"] >= filled["accuracy"]).sum() >= len(filled) - 1  # over-confident nearly everywhere
    assert table["n"].sum() == 20_000


def test_brier_extremes_and_uniform():
    eye = np.eye(3)
    assert brier_score(CLASSES, eye, CLASSES) == 0.0
    assert brier_score(["b", "c", "a"], eye, CLASSES) == pytest.approx(2.0)
    for k in (2, 3, 5):
        classes = [str(i) for i in range(k)]
        assert brier_score(classes, np.full((k, k), 1 / k), classes) == pytest.approx((k - 1) / k)


def test_brier_by_hand_and_column_order():
    # Rows: 0.01+0.0025+0.0025, 0.81+0.49+0.04, 0.36+0.09+0.09, 0.04+0.4225+0.2025 -> mean 2.56 / 4.
    assert brier_score(Y, PROBA, CLASSES) == pytest.approx(0.64)
    # Same probabilities with classes given out of alphabetical order: same score.
    assert brier_score(Y, PROBA[:, [2, 0, 1]], ["c", "a", "b"]) == pytest.approx(0.64)


def test_brier_is_twice_sklearn_binary():
    """sklearn halves the binary Brier score (mean (y - p_pos)^2, in [0, 1]); ours sums both
    columns, so for two classes ours == 2 * sklearn's, and == sklearn with scale_by_half=False."""
    rng = np.random.default_rng(1)
    p_pos = rng.random(50)
    y = np.where(rng.random(50) < 0.5, "pos", "neg")
    proba = np.column_stack([1 - p_pos, p_pos])
    ours = brier_score(y, proba, ["neg", "pos"])
    assert ours == pytest.approx(2 * brier_score_loss(y, p_pos, pos_label="pos"))
    assert ours == pytest.approx(np.mean((p_pos - (y == "pos")) ** 2) * 2)
    assert brier_score(y, proba[:, ::-1], ["pos", "neg"]) == pytest.approx(ours)


def test_brier_with_one_class_and_rows_near_one_sum_without_warning():
    assert brier_score(["a", "a"], np.ones((2, 1)), ["a"]) == 0.0
    proba = np.array([[0.5 + 5e-7, 0.5], [0.3, 0.7]])  # sums within the 1e-6 tolerance
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert brier_score(["a", "b"], proba, ["a", "b"]) == pytest.approx(((0.5 - 5e-7) ** 2 + 0.25 + 0.18) / 2)


def test_no_rows_give_nan_and_empty_bins():
    empty = np.empty((0, 3))
    table = reliability_table([], empty, CLASSES, n_bins=3)
    assert table["n"].tolist() == [0, 0, 0] and table["accuracy"].isna().all()
    assert np.isnan(expected_calibration_error([], empty, CLASSES, n_bins=3))
    assert np.isnan(brier_score([], empty, CLASSES))


@pytest.mark.parametrize("y, proba, classes, n_bins, message", [
    (["a", "b"], PROBA, CLASSES, 2, "shapes disagree"),
    (Y, PROBA[:, :2], CLASSES, 2, r"shape \(n, 3\)"),
    (Y, PROBA[0], CLASSES, 2, r"shape \(n, 3\)"),
    (Y, np.where(PROBA == 0.9, np.nan, PROBA), CLASSES, 2, "not finite"),
    (Y, np.where(PROBA == 0.9, np.inf, PROBA), CLASSES, 2, "not finite"),
    (Y, PROBA * 1.01, CLASSES, 2, "do not sum to 1"),
    (Y, PROBA + [[1e-5, 0, 0]] * 4, CLASSES, 2, "do not sum to 1"),
    (Y, np.array([[1.2, -0.1, -0.1]] * 4), CLASSES, 2, r"outside \[0, 1\]"),
    (["a", "a", "a", "z"], PROBA, CLASSES, 2, "'z' is not among the classes"),
    (Y, PROBA, ["a", "b", "a"], 2, "not unique"),
    (Y, PROBA, CLASSES, 0, "n_bins"),
    (Y, PROBA, CLASSES, -1, "n_bins"),
])
def test_bad_input_names_the_problem(y, proba, classes, n_bins, message):
    with pytest.raises(ValueError, match=message):
        reliability_table(y, proba, classes, n_bins)
    with pytest.raises(ValueError, match=message):
        expected_calibration_error(y, proba, classes, n_bins)
    if "n_bins" not in message:
        with pytest.raises(ValueError, match=message):
            brier_score(y, proba, classes)


def test_table_is_a_dataframe_with_integer_counts():
    table = reliability_table(Y, PROBA, CLASSES, n_bins=5)
    assert isinstance(table, pd.DataFrame) and len(table) == 5
    assert table["n"].dtype.kind == "i" and table["bin"].dtype.kind == "i"


def test_the_table_from_confidences_equals_the_table_from_probabilities():
    rng = np.random.default_rng(3)
    proba = rng.dirichlet(np.ones(3), size=200)
    classes = ["a", "b", "c"]
    y = np.array(classes)[rng.integers(0, 3, 200)]
    full = cal.reliability_table(y, proba, classes, 5)
    correct = np.array(classes)[proba.argmax(axis=1)] == y
    from_confidence = cal.confidence_table(proba.max(axis=1), correct, 5)
    pd.testing.assert_frame_equal(full, from_confidence)
    assert cal.table_ece(from_confidence) == cal.expected_calibration_error(y, proba, classes, 5)
    with pytest.raises(ValueError, match="in \\[0, 1\\]"):
        cal.confidence_table([1.5], [True], 5)
