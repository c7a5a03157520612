"""The J48-like pruned tree: Weka's addErrs, collapse and pessimistic pruning decisions (checked on
trees small enough that J48 grows the same one), and the estimator contract."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.tree import DecisionTreeClassifier

from musicfusion.models.pruned_tree import (
    TREE_LEAF,
    PrunedTree,
    _collapse,
    add_errs,
    node_class_counts,
)

# --- add_errs ----------------------------------------------------------------------------------

# (N, e, CF, expected). Every value is what Weka 3.9.7's weka.classifiers.trees.j48.Stats.addErrs
# printed for these arguments (CF passed as a Java float), and each follows by hand from its formula
# with z = Phi^-1(1 - CF) (z = 0.6744897501960817 for CF = 0.25):
PUBLISHED_AND_WEKA = [
    # e == 0: N (1 - CF^(1/N)). 6 (1 - 0.25^(1/6)) = 6 (1 - 0.793701) = 1.237797; as an error rate
    # 1.2378 / 6 = 0.206, Quinlan's U_25%(0, 6) (C4.5: Programs for Machine Learning, p. 41).
    (6, 0, 0.25, 1.2377968440954012),
    # 9 (1 - 0.25^(1/9)) = 1.284804 (rate 0.143 = Quinlan's U_25%(0, 9)); 1 (1 - 0.25) = 0.75.
    (9, 0, 0.25, 1.284804154322345),
    (1, 0, 0.25, 0.75),
    # e >= 1, normal approximation: f = (e + 0.5) / N, r = (f + z^2/2N + z sqrt(f/N - f^2/N + z^2/4N^2))
    # / (1 + z^2/N), result r N - e. N = 16, e = 1: f = 0.09375, z^2 = 0.454936,
    # r = (0.09375 + 0.014217 + 0.674490 * sqrt(0.005859 - 0.000549 + 0.000444)) / 1.028434
    # = 0.154732, so 16 r - 1 = 1.4757.
    (16, 1, 0.25, 1.4757146318372634),
    # N = 10, e = 4: f = 0.45, r = (0.45 + 0.022747 + 0.674490 * sqrt(0.045 - 0.02025 + 0.001137))
    # / 1.045494 = 0.555976, so 10 r - 4 = 1.5598.
    (10, 4, 0.25, 1.559757797709115),
    # e < 1 interpolates between e = 0 and e = 1: base = 20 (1 - 0.25^(1/20)) = 1.346925,
    # addErrs(20, 1) = 1.489500, so 1.346925 + 0.5 (1.489500 - 1.346925) = 1.418213.
    (20, 0.5, 0.25, 1.4182126240518165),
    # e + 0.5 >= N: just N - e.
    (3, 2.6, 0.25, 0.3999999999999999),
    (5, 4.5, 0.25, 0.5),
    # Another confidence: z = Phi^-1(0.9) = 1.281552, N = 30, e = 3: f = 0.116667,
    # r = (0.116667 + 0.027373 + 1.281552 * sqrt(0.003889 - 0.000454 + 0.000456)) / 1.054747
    # = 0.212358, so 30 r - 3 = 3.3708.
    (30, 3, 0.1, 3.370752283873978),
]


@pytest.mark.parametrize(("n", "e", "cf", "expected"), PUBLISHED_AND_WEKA)
def test_add_errs_matches_weka(n, e, cf, expected):
    assert add_errs(n, e, cf) == pytest.approx(expected, rel=1e-12)


def test_add_errs_gives_nothing_for_a_confidence_above_one_half():
    assert add_errs(10, 2, 0.6) == 0.0  # Weka's "error estimate not modified"


# --- pruning decisions on one split -------------------------------------------------------------

def two_values(a0, b0, a1, b1):
    """Counts of class "A" / "B" at x = 0 and at x = 1: a tree of one split, nothing else to grow."""
    x = np.repeat([0.0, 0.0, 1.0, 1.0], [a0, b0, a1, b1]).reshape(-1, 1)
    y = np.repeat(["A", "B", "A", "B"], [a0, b0, a1, b1])
    return x, y


def estimate(n, e):
    """Pessimistic errors of a leaf with n samples and e errors."""
    return e + add_errs(n, e, 0.25)


def test_a_split_barely_worth_it_by_the_pessimistic_estimate_is_kept():
    # x = 0: 6 A, 1 B; x = 1: 2 A, 3 B. As a leaf (8 A, 4 B): 4 + addErrs(12, 4) = 5.6664; split:
    # 1 + addErrs(7, 1) + 2 + addErrs(5, 2) = 5.5640, better by 0.1025 > 0.1: kept (Weka's J48 too).
    x, y = two_values(6, 1, 2, 3)
    assert estimate(12, 4) - (estimate(7, 1) + estimate(5, 2)) == pytest.approx(0.1025, abs=1e-4)
    model = PrunedTree().fit(x, y)
    assert model.n_leaves_ == 2
    assert model.predict(np.array([[0.0], [1.0]])).tolist() == ["A", "B"]


def test_a_split_that_does_not_lower_the_pessimistic_estimate_by_the_slack_is_collapsed():
    # x = 0: 4 A, 1 B; x = 1: 3 A, 4 B. The split lowers training errors (5 -> 1 + 3) and the
    # estimate (leaf 5 + addErrs(12, 5) = 6.6611; split 1 + addErrs(5, 1) + 3 + addErrs(7, 3)
    # = 6.6149), but by 0.046 < 0.1: Weka's rule prunes it (Weka's J48 gives 1 leaf too).
    x, y = two_values(4, 1, 3, 4)
    leaf, split = estimate(12, 5), estimate(5, 1) + estimate(7, 3)
    assert 0 < leaf - split < 0.1
    unpruned = DecisionTreeClassifier(criterion="entropy", min_samples_leaf=2).fit(x, y)
    assert unpruned.get_n_leaves() == 2
    model = PrunedTree().fit(x, y)
    assert model.n_leaves_ == 1
    # The pruned root predicts its own training distribution, 7 A : 5 B, everywhere.
    np.testing.assert_allclose(model.predict_proba(np.array([[0.0], [1.0]])), [[7 / 12, 5 / 12]] * 2)


@pytest.mark.parametrize(("counts", "weka_leaves"), [
    # Class A / B counts at x = 0, 1, 2; every tree here grows the same two splits in scikit-learn
    # and in J48, and weka_leaves is what J48 -C 0.25 -M 2 (without subtree raising) kept of them.
    ((4, 2, 2, 0, 4, 5), 1),
    ((0, 7, 5, 4, 1, 3), 1),
    ((5, 6, 3, 3, 5, 0), 1),
    ((6, 0, 1, 1, 1, 6), 2),
    ((6, 1, 0, 5, 1, 6), 2),
    ((0, 7, 7, 2, 1, 2), 3),
    ((7, 3, 2, 5, 6, 0), 3),
])
def test_two_level_trees_are_pruned_as_weka_prunes_them(counts, weka_leaves):
    x = np.repeat([0.0, 0.0, 1.0, 1.0, 2.0, 2.0], counts).reshape(-1, 1)
    y = np.repeat(list("ABABAB"), counts)
    assert DecisionTreeClassifier(criterion="entropy", min_samples_leaf=2).fit(x, y).get_n_leaves() == 3
    assert PrunedTree().fit(x, y).n_leaves_ == weka_leaves


def test_collapse_removes_a_subtree_that_makes_no_fewer_training_errors():
    # x = 0: 5 A, 1 B; x = 1: 4 A, 2 B. Both halves predict A, so the split (which scikit-learn
    # makes: it lowers the entropy) removes no training error: J48's collapse undoes it.
    x, y = two_values(5, 1, 4, 2)
    tree = DecisionTreeClassifier(criterion="entropy", min_samples_leaf=2).fit(x, y).tree_
    left, right = tree.children_left, tree.children_right
    assert left[0] != TREE_LEAF
    np.testing.assert_array_equal(node_class_counts(tree)[0], [9, 3])
    _collapse(left, right, node_class_counts(tree))
    assert left[0] == TREE_LEAF and right[0] == TREE_LEAF


def test_collapse_keeps_a_subtree_that_lowers_training_errors():
    x, y = two_values(6, 1, 2, 3)
    tree = DecisionTreeClassifier(criterion="entropy", min_samples_leaf=2).fit(x, y).tree_
    _collapse(tree.children_left, tree.children_right, node_class_counts(tree))
    assert tree.children_left[0] != TREE_LEAF


# --- whole trees -------------------------------------------------------------------------------

def noisy_problem(n=400, seed=0, noise=0.25):
    """Two classes by the sign of x0 + x1, a quarter of the labels flipped, two noise columns."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4))
    y = np.where(X[:, 0] + X[:, 1] > 0, "rock", "jazz")
    flip = rng.random(n) < noise
    y[flip] = np.where(y[flip] == "rock", "jazz", "rock")
    return X, y


def test_pruning_leaves_fewer_leaves_on_noisy_data_and_generalises_better():
    X, y = noisy_problem(seed=0)
    X_test, y_test = noisy_problem(n=2000, seed=1, noise=0.0)
    unpruned = DecisionTreeClassifier(criterion="entropy", min_samples_leaf=2, random_state=0).fit(X, y)
    pruned = PrunedTree(random_state=0).fit(X, y)
    assert pruned.n_leaves_ < 0.75 * unpruned.get_n_leaves()  # 58 of 95 here
    assert np.mean(pruned.predict(X_test) == y_test) > np.mean(unpruned.predict(X_test) == y_test)


def test_a_lower_confidence_prunes_more():
    X, y = noisy_problem(seed=2)
    leaves = [PrunedTree(confidence=cf, random_state=0).fit(X, y).n_leaves_ for cf in (0.5, 0.25, 0.05)]
    assert leaves[0] > leaves[1] > leaves[2]


def test_a_separable_problem_keeps_its_splits_and_fits_the_training_data():
    # A 2 x 2 checkerboard of well-filled cells: every split is needed.
    rng = np.random.default_rng(3)
    X = rng.uniform(-1, 1, size=(200, 2))
    y = np.where((X[:, 0] > 0) == (X[:, 1] > 0), "jazz", "rock")
    unpruned = DecisionTreeClassifier(criterion="entropy", min_samples_leaf=2, random_state=0).fit(X, y)
    pruned = PrunedTree(random_state=0).fit(X, y)
    assert np.mean(pruned.predict(X) == y) == 1.0
    assert pruned.n_leaves_ == unpruned.get_n_leaves()


def test_probabilities_are_leaf_distributions_summing_to_one():
    X, y = noisy_problem()
    proba = PrunedTree(random_state=0).fit(X, y).predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert np.any((proba > 0) & (proba < 1))  # pruned leaves are mixed


def test_an_out_of_range_confidence_is_refused():
    X, y = noisy_problem(n=50)
    for confidence in (0.0, 0.6):
        with pytest.raises(ValueError, match="confidence"):
            PrunedTree(confidence=confidence).fit(X, y)


def test_fitting_is_deterministic_and_clone_and_pickle_give_identical_predictions():
    X, y = noisy_problem()
    fitted = PrunedTree(random_state=0).fit(X, y)
    assert fitted.classes_.tolist() == ["jazz", "rock"]
    for other in (clone(fitted).fit(X, y), pickle.loads(pickle.dumps(fitted)), PrunedTree(random_state=0).fit(X, y)):
        np.testing.assert_array_equal(other.predict_proba(X), fitted.predict_proba(X))
        assert other.n_leaves_ == fitted.n_leaves_
