"""Supervised discretisation (Fayyad & Irani MDL) and the naive Bayes that learns on its bins.

Cuthbert, Ariza & Friedland (ISMIR 2011) ran Weka's ``NaiveBayes -D``: every numeric feature is
first cut into bins by ``weka.filters.supervised.attribute.Discretize`` with its defaults, and naive
Bayes then counts bins with Laplace estimates. This module reproduces both for the paper's
baselines, with scikit-learn's estimator contract (``clone``, pickling, ``classes_``).

``MDLPDiscretizer`` follows Weka's defaults exactly: Fayyad & Irani's (1993) recursive
minimum-description-length criterion (not Kononenko's), with the "worse" encoding
(``useBetterEncoding`` false: the cost of choosing a cut counts all N - 1 gaps of the subset, not
only those between distinct values). Cut points are midpoints between consecutive distinct values,
and a value equal to a cut falls in the lower bin, as in Weka.

Missing values are not handled (NaN is rejected): impute them first.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, TransformerMixin
from sklearn.naive_bayes import CategoricalNB
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

# Two entropies closer than this are taken as equal when choosing a cut, so that exact ties (equal
# in exact arithmetic, differing in the last bits of the vectorised sums) go to the lowest cut,
# as Weka's scan (which replaces the best only on a strictly lower entropy) gives them.
ENTROPY_TIE = 1e-12


def _xlog2x(counts: np.ndarray) -> np.ndarray:
    """c * log2(c), with 0 for c == 0 (the limit), elementwise."""
    counts = np.asarray(counts, dtype=np.float64)
    safe = np.where(counts > 0, counts, 1.0)
    return counts * np.log2(safe)


def entropy(counts: np.ndarray) -> float:
    """Entropy in bits of a vector of class counts (0 for an empty vector), as Weka's
    ``ContingencyTables.entropy``."""
    total = float(np.sum(counts))
    if total <= 0:
        return 0.0
    return float((_xlog2x(total) - _xlog2x(counts).sum()) / total)


def mdl_accepts(prior_counts, left_counts, right_counts) -> bool:
    """Fayyad & Irani's MDL criterion: is the cut of a set with class counts ``prior_counts`` into
    ``left_counts`` and ``right_counts`` worth its description length?

    Accept when gain > (log2(N - 1) + log2(3^k - 2) - (k Ent(S) - k1 Ent(S1) - k2 Ent(S2))) / N,
    k, k1, k2 the numbers of classes present in S, S1, S2 (Weka's ``FayyadAndIranisMDL`` with
    ``numCutPoints = N - 1``, the worse encoding it uses by default).
    """
    prior_counts = np.asarray(prior_counts, dtype=np.float64)
    left_counts = np.asarray(left_counts, dtype=np.float64)
    right_counts = np.asarray(right_counts, dtype=np.float64)
    n = prior_counts.sum()
    n_left, n_right = left_counts.sum(), right_counts.sum()
    ent, ent_left, ent_right = entropy(prior_counts), entropy(left_counts), entropy(right_counts)
    gain = ent - (n_left * ent_left + n_right * ent_right) / n
    if gain <= 0:  # Weka refuses a cut that gains nothing before asking the criterion
        return False
    k, k_left, k_right = (int(np.count_nonzero(c)) for c in (prior_counts, left_counts, right_counts))
    delta = np.log2(3.0**k - 2) - (k * ent - k_left * ent_left - k_right * ent_right)
    return bool(gain > (np.log2(n - 1) + delta) / n)


def _column_cuts(values: np.ndarray, codes: np.ndarray, n_classes: int) -> np.ndarray:
    """The sorted MDL cut points of one column, ``codes`` its rows' class indices."""
    order = np.argsort(values, kind="stable")
    sorted_values = values[order]
    # cumulative[i] = class counts of the first i sorted rows, so any run [a, b) counts
    # cumulative[b] - cumulative[a]: each subset's candidate cuts come out in one vectorised step.
    onehot = np.zeros((len(values), n_classes))
    onehot[np.arange(len(values)), codes[order]] = 1.0
    cumulative = np.vstack([np.zeros((1, n_classes)), np.cumsum(onehot, axis=0)])
    # A cut can follow sorted row i only where the next row has a larger value.
    distinct_after = sorted_values[:-1] < sorted_values[1:]

    cuts: list[float] = []
    pending = [(0, len(values))]  # subsets [first, last_plus_one) of the sorted rows still to cut
    while pending:
        first, last_plus_one = pending.pop()
        n = last_plus_one - first
        if n < 2:
            continue
        # Candidate boundaries: after sorted row i, for first <= i < last_plus_one - 1.
        candidates = first + np.flatnonzero(distinct_after[first:last_plus_one - 1])
        if candidates.size == 0:
            continue
        prior = cumulative[last_plus_one] - cumulative[first]
        left = cumulative[candidates + 1] - cumulative[first]
        right = prior - left
        n_left = (candidates + 1 - first).astype(np.float64)
        n_right = n - n_left
        # Class-information entropy of each partition: sum over sides of n_side * Ent(side) / n,
        # with n_side * Ent(side) = n_side log2 n_side - sum_c c log2 c.
        weighted = (_xlog2x(n_left) - _xlog2x(left).sum(axis=1)
                    + _xlog2x(n_right) - _xlog2x(right).sum(axis=1)) / n
        best = int(np.flatnonzero(weighted <= weighted.min() + ENTROPY_TIE)[0])
        boundary = int(candidates[best])
        if not mdl_accepts(prior, left[best], right[best]):
            continue
        cuts.append((sorted_values[boundary] + sorted_values[boundary + 1]) / 2.0)
        pending.append((first, boundary + 1))
        pending.append((boundary + 1, last_plus_one))
    return np.sort(np.asarray(cuts, dtype=np.float64))


class MDLPDiscretizer(TransformerMixin, BaseEstimator):
    """Supervised discretisation of every column by Fayyad & Irani's recursive MDL entropy
    splitting, as Weka's ``supervised.attribute.Discretize`` with its defaults.

    Attributes: ``cut_points_`` (one sorted 1-D float array per column; empty = one bin),
    ``n_bins_`` (int array, ``len(cuts) + 1`` per column), ``classes_``, ``n_features_in_``.
    ``transform`` gives each value's bin index (int64): the number of cuts strictly below it, so a
    value equal to a cut is in the lower bin and values beyond the training range are in the
    first or last bin.
    """

    def fit(self, X, y):
        X, y = validate_data(self, X, y, dtype=np.float64)
        check_classification_targets(y)
        self.classes_, codes = np.unique(y, return_inverse=True)
        codes = codes.reshape(-1)
        self.cut_points_ = [_column_cuts(X[:, j], codes, len(self.classes_)) for j in range(X.shape[1])]
        self.n_bins_ = np.array([len(c) + 1 for c in self.cut_points_], dtype=np.int64)
        return self

    def transform(self, X):
        check_is_fitted(self, "cut_points_")
        X = validate_data(self, X, dtype=np.float64, reset=False)
        # side="left": the index of the first cut >= x, i.e. x <= cut goes below the cut (Weka).
        return np.column_stack([np.searchsorted(cuts, X[:, j], side="left")
                                for j, cuts in enumerate(self.cut_points_)]).astype(np.int64)


class DiscretisedNaiveBayes(ClassifierMixin, BaseEstimator):
    """Weka's ``NaiveBayes -D``: MDL discretisation, then naive Bayes over the bins.

    Every probability has ``alpha`` added to each count (Laplace at 1.0, Weka's
    ``DiscreteEstimator(n, true)``): a bin's P(bin | class) = (count + alpha) / (n_class + alpha *
    n_bins), and, as Weka also smooths the class prior, P(class) = (n_class + alpha) / (n + alpha *
    n_classes). Attributes: ``discretizer_``, ``model_`` (the fitted CategoricalNB), ``classes_``.
    """

    def __init__(self, alpha=1.0):
        self.alpha = alpha

    def fit(self, X, y):
        X, y = validate_data(self, X, y, dtype=np.float64)
        check_classification_targets(y)
        self.discretizer_ = MDLPDiscretizer().fit(X, y)
        bins = self.discretizer_.transform(X)
        classes, class_counts = np.unique(y, return_counts=True)
        class_prior = (class_counts + self.alpha) / (class_counts.sum() + self.alpha * len(classes))
        # min_categories: every bin of the training data's cuts exists for the model even if the
        # data leave it empty, so unseen bins at predict time still get the smoothed estimate.
        self.model_ = CategoricalNB(alpha=self.alpha, class_prior=class_prior,
                                    min_categories=self.discretizer_.n_bins_).fit(bins, y)
        self.classes_ = self.model_.classes_
        return self

    def predict_proba(self, X):
        check_is_fitted(self, "model_")
        X = validate_data(self, X, dtype=np.float64, reset=False)
        return self.model_.predict_proba(self.discretizer_.transform(X))

    def predict(self, X):
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]
