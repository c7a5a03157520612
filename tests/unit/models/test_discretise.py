"""MDL discretisation and the naive Bayes on its bins: the cuts Weka's supervised Discretize makes,
the MDL criterion at its boundary, bin assignment, and Weka's Laplace-smoothed probabilities."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from sklearn.base import clone

from musicfusion.models.discretise import DiscretisedNaiveBayes, MDLPDiscretizer, entropy, mdl_accepts


def cuts_of(x, y) -> np.ndarray:
    """The cut points of a single column ``x``."""
    return MDLPDiscretizer().fit(np.asarray(x, dtype=float).reshape(-1, 1), np.asarray(y)).cut_points_[0]


def weka_reference_cuts(x, y) -> list[float]:
    """A plain transcription of Weka's Discretize.cutPointsForSubset (MDL, worse encoding), one
    scan per subset: the slow, obviously-faithful version the vectorised one must agree with."""
    order = np.argsort(x, kind="stable")
    x, codes = np.asarray(x, dtype=float)[order], np.unique(y, return_inverse=True)[1][order]
    n_classes = codes.max() + 1

    def subset(first, last_plus_one):
        if last_plus_one - first < 2:
            return []
        right = np.bincount(codes[first:last_plus_one], minlength=n_classes).astype(float)
        prior, left = right.copy(), np.zeros(n_classes)
        best_entropy, best = entropy(prior), None
        for i in range(first, last_plus_one - 1):
            left[codes[i]] += 1
            right[codes[i]] -= 1
            if x[i] < x[i + 1]:
                split_entropy = (left.sum() * entropy(left) + right.sum() * entropy(right)) / prior.sum()
                if split_entropy < best_entropy - 1e-12:
                    best_entropy, best = split_entropy, (i, left.copy(), right.copy())
        if best is None or not mdl_accepts(prior, best[1], best[2]):
            return []
        i = best[0]
        return subset(first, i + 1) + [(x[i] + x[i + 1]) / 2] + subset(i + 1, last_plus_one)

    return subset(0, len(x))


def weka_fixture():
    """150 rows, 3 classes, values rounded to 0.1 (so with ties): column 0 strongly informative,
    column 1 weakly, column 2 noise."""
    rng = np.random.default_rng(2011)
    y = np.repeat(["a", "b", "c"], 50)
    shift = np.repeat([0.0, 1.0, 2.0], 50)
    X = np.round(np.column_stack([rng.normal(size=150) + 2.5 * shift, rng.normal(size=150) + 0.6 * shift,
                                  rng.normal(size=150)]), 1)
    return X, y


# --- the cuts ---------------------------------------------------------------------------------

def test_a_perfect_two_class_separation_gets_one_cut_at_the_midpoint():
    x = np.tile([1.0, 2.0, 3.0, 4.0], 3)
    y = np.where(x < 2.5, "jazz", "rock")
    assert cuts_of(x, y).tolist() == [2.5]


def test_three_classes_with_two_boundaries_get_two_cuts():
    x = np.arange(30.0)
    y = np.repeat(["folk", "jazz", "rock"], 10)  # changes between 9|10 and 19|20
    assert cuts_of(x, y).tolist() == [9.5, 19.5]


def test_pure_noise_with_few_samples_gets_no_cut():
    # Splitting here does gain information (the best cut leaves "aaa" apart), but far too little
    # for 8 samples: the MDL criterion refuses.
    x = np.arange(8.0)
    y = np.array(list("aaababba"))
    assert cuts_of(x, y).size == 0
    gain = entropy([5, 3]) - 5 * entropy([2, 3]) / 8  # of the cut after "aaa"
    assert gain > 0 and not mdl_accepts([5, 3], [3, 0], [2, 3])


def test_mdl_threshold_accepts_and_refuses_at_its_boundary_as_computed_by_hand():
    # One "a" then n - 1 "b": the pure cut gains Ent(S) = H(1/n) bits (both halves are pure,
    # k = 2, k1 = k2 = 1), against (log2(n - 1) + log2(3^2 - 2) - 2 H(1/n)) / n.
    # n = 6: gain = (1/6) log2 6 + (5/6) log2(6/5) = 0.650022;
    #        threshold = (log2 5 + log2 7 - 2 * 0.650022) / 6 = (2.321928 + 2.807355 - 1.300045) / 6
    #        = 0.638206 -> accepted (by 0.0118).
    # n = 7: gain = (1/7) log2 7 + (6/7) log2(7/6) = 0.591673;
    #        threshold = (log2 6 + log2 7 - 2 * 0.591673) / 7 = (2.584963 + 2.807355 - 1.183346) / 7
    #        = 0.601282 -> refused (by 0.0096).
    # Weka 3.9.7's supervised Discretize makes the same decisions on these two columns.
    assert mdl_accepts([1, 5], [1, 0], [0, 5])
    assert not mdl_accepts([1, 6], [1, 0], [0, 6])
    assert cuts_of(np.arange(6.0), list("abbbbb")).tolist() == [0.5]
    assert cuts_of(np.arange(7.0), list("abbbbbb")).size == 0


def test_cuts_only_between_distinct_values():
    # Every x = 1 row is "a", every x = 2 row "b", but x = 1 also has a "b": the cut still falls
    # between the distinct values 1 and 2, never inside a run of equal values.
    x = np.array([0.0] * 6 + [1.0] * 6 + [2.0] * 6)
    y = np.array(["a"] * 6 + ["a"] * 5 + ["b"] + ["b"] * 6)
    assert cuts_of(x, y).tolist() == [1.5]


def test_cuts_match_weka_on_a_fixed_data_set():
    # Cut points printed by Weka 3.9.7's weka.filters.supervised.attribute.Discretize (defaults)
    # for weka_fixture() written to ARFF: column 0 [1.45, 4.0], column 1 [0.75], column 2 none.
    X, y = weka_fixture()
    model = MDLPDiscretizer().fit(X, y)
    weka = [[1.45, 4.0], [0.75], []]
    for ours, theirs in zip(model.cut_points_, weka):
        np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-12)
    assert model.n_bins_.tolist() == [3, 2, 1]


@pytest.mark.parametrize("seed", range(6))
def test_vectorised_cuts_agree_with_a_plain_transcription_of_weka(seed):
    rng = np.random.default_rng(seed)
    n, n_classes = int(rng.integers(20, 120)), int(rng.integers(2, 5))
    y = rng.integers(0, n_classes, n)
    x = np.round(rng.normal(size=n) + rng.uniform(0.5, 2.0) * y, int(rng.integers(0, 2)))  # ties
    np.testing.assert_allclose(cuts_of(x, y), weka_reference_cuts(x, y), rtol=0, atol=1e-12)


def test_cuts_do_not_depend_on_row_order():
    X, y = weka_fixture()
    shuffled = np.random.default_rng(0).permutation(len(y))
    a, b = MDLPDiscretizer().fit(X, y), MDLPDiscretizer().fit(X[shuffled], y[shuffled])
    for ca, cb in zip(a.cut_points_, b.cut_points_):
        np.testing.assert_array_equal(ca, cb)


def test_a_single_class_or_constant_column_gets_one_bin():
    X = np.column_stack([np.arange(10.0), np.full(10, 3.0)])
    assert MDLPDiscretizer().fit(X, np.zeros(10)).n_bins_.tolist() == [1, 1]
    assert MDLPDiscretizer().fit(X, np.arange(10) >= 5).n_bins_.tolist() == [2, 1]


# --- the bins ---------------------------------------------------------------------------------

def test_a_value_equal_to_a_cut_goes_to_the_lower_bin_and_out_of_range_values_to_the_end_bins():
    x = np.arange(30.0)
    model = MDLPDiscretizer().fit(x.reshape(-1, 1), np.repeat(["folk", "jazz", "rock"], 10))
    assert model.cut_points_[0].tolist() == [9.5, 19.5]
    probe = np.array([[-1e9], [9.5], [np.nextafter(9.5, 10)], [19.5], [19.6], [1e9]])
    bins = model.transform(probe)
    assert bins.shape == (6, 1) and np.issubdtype(bins.dtype, np.integer)
    assert bins[:, 0].tolist() == [0, 0, 1, 1, 2, 2]


def test_transform_bins_every_column_by_its_own_cuts():
    X, y = weka_fixture()
    model = MDLPDiscretizer().fit(X, y)
    bins = model.transform(X)
    for j, cuts in enumerate(model.cut_points_):
        expected = (X[:, j, None] > cuts[None, :]).sum(axis=1)  # number of cuts strictly below
        np.testing.assert_array_equal(bins[:, j], expected)
        assert bins[:, j].max() == model.n_bins_[j] - 1
    assert np.all(model.transform(np.full_like(X, -99.0)) == 0)


def test_transform_checks_the_number_of_columns():
    X, y = weka_fixture()
    with pytest.raises(ValueError):
        MDLPDiscretizer().fit(X, y).transform(X[:, :2])


# --- naive Bayes on the bins -------------------------------------------------------------------

def test_naive_bayes_gives_weka_laplace_probabilities_computed_by_hand():
    # 4 "a" at x in {1, 2}, 8 "b" at x in {3, 4}: one cut at 2.5 (gain H(1/3) = 0.918 bits,
    # threshold (log2 11 + log2 7 - 2 * 0.918) / 12 = 0.369). Laplace everywhere, as Weka:
    # P(a) = (4 + 1) / (12 + 2) = 5/14, P(b) = 9/14; P(low | a) = (4 + 1) / (4 + 2) = 5/6,
    # P(low | b) = (0 + 1) / (8 + 2) = 1/10. So P(a | low) = (5/14 * 5/6) / (5/14 * 5/6 + 9/14 * 1/10)
    # = 125/152, and P(a | high) = (5/14 * 1/6) / (5/14 * 1/6 + 9/14 * 9/10) = 25/268.
    x = np.array([1.0, 2, 1, 2, 3, 4, 3, 4, 3, 4, 3, 4]).reshape(-1, 1)
    y = np.array(["a"] * 4 + ["b"] * 8)
    model = DiscretisedNaiveBayes().fit(x, y)
    assert model.classes_.tolist() == ["a", "b"]
    proba = model.predict_proba(np.array([[1.0], [4.0]]))
    np.testing.assert_allclose(proba[:, 0], [125 / 152, 25 / 268], rtol=1e-12)
    assert model.predict(np.array([[0.0], [99.0]])).tolist() == ["a", "b"]


def easy_problem(n=300, seed=0):
    """Two classes; two informative columns, one noise column."""
    rng = np.random.default_rng(seed)
    y = rng.choice(["jazz", "rock"], size=n, p=[0.4, 0.6])
    shift = (y == "rock").astype(float)
    X = np.column_stack([rng.normal(size=n) + 2.0 * shift, rng.normal(size=n) - 1.5 * shift, rng.normal(size=n)])
    return X, y


def test_naive_bayes_beats_the_majority_baseline_with_probabilities_summing_to_one():
    X, y = easy_problem(seed=0)
    X_test, y_test = easy_problem(seed=1)
    model = DiscretisedNaiveBayes().fit(X, y)
    proba = model.predict_proba(X_test)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    majority = max(np.mean(y_test == c) for c in model.classes_)
    assert np.mean(model.predict(X_test) == y_test) > majority + 0.2


def test_naive_bayes_ignores_a_column_with_no_cuts():
    X, y = easy_problem()
    constant = np.column_stack([X, np.full(len(y), 7.0)])
    with_constant, without = DiscretisedNaiveBayes().fit(constant, y), DiscretisedNaiveBayes().fit(X, y)
    assert with_constant.discretizer_.n_bins_[-1] == 1
    np.testing.assert_allclose(with_constant.predict_proba(constant), without.predict_proba(X), rtol=1e-12)


def test_naive_bayes_handles_bins_left_empty_by_the_training_data():
    # Every cut has rows on both sides in training, but a class can miss a bin: a test value
    # there must get the smoothed, non-zero probability rather than fail.
    X, y = easy_problem()
    model = DiscretisedNaiveBayes().fit(X, y)
    extreme = np.array([[-50.0, 50.0, 0.0], [50.0, -50.0, 0.0]])
    proba = model.predict_proba(extreme)
    assert np.all(proba > 0) and np.allclose(proba.sum(axis=1), 1.0)


# --- the estimator contract --------------------------------------------------------------------

@pytest.mark.parametrize("make", [MDLPDiscretizer, DiscretisedNaiveBayes])
def test_clone_and_pickle_give_identical_results(make):
    X, y = easy_problem()
    fitted = make().fit(X, y)

    def output(model):
        return model.transform(X) if isinstance(model, MDLPDiscretizer) else model.predict_proba(X)

    for other in (clone(fitted).fit(X, y), pickle.loads(pickle.dumps(fitted))):
        np.testing.assert_array_equal(output(other), output(fitted))
    assert clone(fitted).get_params() == fitted.get_params()
