"""A C4.5-style pruned decision tree: the closest scikit-learn equivalent of Weka's J48.

Cuthbert, Ariza & Friedland (ISMIR 2011) ran Weka's J48 (C4.5 revision 8) with its defaults
``-C 0.25 -M 2``. ``PrunedTree`` grows scikit-learn's entropy tree with at least ``min_samples_leaf``
samples per leaf and then prunes it as J48 does: first J48's collapse (a subtree whose leaves make
no fewer training errors than its root would alone becomes a leaf), then C4.5's pessimistic
error-based pruning by subtree replacement, bottom-up. A node's estimated errors as a leaf are
``e + add_errs(N, e, confidence)`` (``e`` the training errors of its majority class among the ``N``
training samples reaching it); a subtree's are the sum over its leaves; the node becomes a leaf when
its estimate is at most the subtree's + 0.1 (Weka's ``C45PruneableClassifierTree.prune``).

Known differences from J48, all in growing the tree, none in pruning by replacement:

- no subtree raising (J48's default ``-S`` off): J48 may also replace a node by its largest
  branch; this tree only replaces subtrees by leaves;
- splits are chosen by information gain, not C4.5's gain ratio, and without revision 8's
  ``log2(#cuts) / N`` penalty on numeric splits or J48's minimum gain and minimum split size;
- splits are binary thresholds on numeric features (as C4.5's are on numeric data), at the
  midpoint between training values where J48 moves the threshold down to the largest training
  value below it (predictions differ only for values strictly between the two).

The pruned tree is the fitted ``DecisionTreeClassifier`` in ``tree_model_`` with the pruned nodes
made leaves in place (its ``tree_`` arrays are writable views), so its ``predict_proba`` gives a
pruned node's training class distribution. The nodes cut off stay in its arrays, unreachable:
``tree_model_.get_n_leaves()`` and ``get_depth()`` count them, ``n_leaves_`` does not.
"""

from __future__ import annotations

import numpy as np
from scipy.stats import norm
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.tree import DecisionTreeClassifier
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

# scikit-learn's marker for "no child" in tree_.children_left / children_right.
TREE_LEAF = -1
# Weka's C45PruneableClassifierTree keeps a subtree only if it beats the leaf by more than this
# many estimated errors.
PRUNING_SLACK = 0.1
# Weka's Utils.SMALL: its comparisons (smOrEq) treat values this close as equal.
WEKA_SMALL = 1e-6
# J48's collapse keeps a subtree only if it makes at least this many fewer training errors.
COLLAPSE_TOLERANCE = 1e-3
# Weka's addErrs gives no estimate (returns 0) for a confidence above this.
MAX_CONFIDENCE = 0.5


def add_errs(n: float, e: float, confidence: float) -> float:
    """Weka's ``weka.classifiers.trees.j48.Stats.addErrs``: the extra errors to add to ``e``
    observed errors among ``n`` samples for the upper ``confidence`` limit of the error count.

    The normal approximation to the binomial with continuity correction; for e < 1 the exact
    zero-error limit ``n (1 - CF^(1/n))`` interpolated linearly towards e = 1; for e + 0.5 >= n
    just ``max(n - e, 0)``; 0 (no estimate) for a confidence above 0.5, as in Weka.
    """
    # Weka takes CF as a Java float and computes 1 - CF in float: round as it does.
    cf = float(np.float32(confidence))
    if cf > MAX_CONFIDENCE:
        return 0.0
    if e < 1:
        # Base case e == 0 (Documenta Geigy Scientific Tables, 6th ed., p. 185, as Weka cites).
        base = n * (1.0 - cf ** (1.0 / n))
        if e == 0:
            return base
        return base + e * (add_errs(n, 1.0, confidence) - base)
    if e + 0.5 >= n:
        return max(n - e, 0.0)
    z = float(norm.ppf(float(np.float32(1.0) - np.float32(cf))))
    f = (e + 0.5) / n
    upper = (f + z * z / (2 * n) + z * np.sqrt(f / n - f * f / n + z * z / (4 * n * n))) / (1 + z * z / n)
    return float(upper * n - e)


def _leaf_estimate(counts: np.ndarray, confidence: float) -> float:
    """Pessimistic errors of a node as a leaf (Weka's getEstimatedErrorsForDistribution)."""
    n = float(counts.sum())
    if n == 0:
        return 0.0
    errors = n - float(counts.max())
    return errors + add_errs(n, errors, confidence)


def node_class_counts(tree) -> np.ndarray:
    """(n_nodes, n_classes) training class counts of a fitted single-output sklearn ``tree_``.

    ``tree_.value`` holds class fractions or (weighted) counts depending on the scikit-learn
    version; normalised and scaled by ``n_node_samples`` it is the counts either way (fitted
    without sample weights), rounded so that an error count of 0 is exactly 0.
    """
    value = np.asarray(tree.value[:, 0, :], dtype=np.float64)
    fractions = value / value.sum(axis=1, keepdims=True)
    return np.rint(fractions * tree.n_node_samples[:, None])


def _collapse(left: np.ndarray, right: np.ndarray, counts: np.ndarray) -> None:
    """J48's collapse, top-down and in place: make a node a leaf when its subtree's leaves make no
    fewer training errors (within COLLAPSE_TOLERANCE) than the node would as a leaf."""
    errors = counts.sum(axis=1) - counts.max(axis=1)

    def subtree_errors(node: int) -> float:
        stack, total = [node], 0.0
        while stack:
            current = stack.pop()
            if left[current] == TREE_LEAF:
                total += errors[current]
            else:
                stack.extend((left[current], right[current]))
        return total

    stack = [0]
    while stack:
        node = stack.pop()
        if left[node] == TREE_LEAF:
            continue
        if subtree_errors(node) >= errors[node] - COLLAPSE_TOLERANCE:
            left[node] = right[node] = TREE_LEAF
        else:
            stack.extend((left[node], right[node]))


def _postorder(left: np.ndarray, right: np.ndarray) -> list[int]:
    """The nodes reachable from the root, every node after its children."""
    order, stack = [], [0]
    while stack:
        node = stack.pop()
        order.append(node)
        if left[node] != TREE_LEAF:
            stack.extend((left[node], right[node]))
    return order[::-1]


def _prune(left: np.ndarray, right: np.ndarray, counts: np.ndarray, confidence: float) -> None:
    """C4.5 pessimistic pruning by subtree replacement, bottom-up and in place (Weka's
    C45PruneableClassifierTree.prune without subtree raising)."""
    # estimate[node] = pessimistic errors of the node's subtree as pruned so far.
    estimate = np.zeros(len(left))
    for node in _postorder(left, right):
        as_leaf = _leaf_estimate(counts[node], confidence)
        if left[node] == TREE_LEAF:
            estimate[node] = as_leaf
            continue
        as_subtree = estimate[left[node]] + estimate[right[node]]
        if as_leaf - (as_subtree + PRUNING_SLACK) < WEKA_SMALL:  # Weka's Utils.smOrEq
            left[node] = right[node] = TREE_LEAF
            estimate[node] = as_leaf
        else:
            estimate[node] = as_subtree


class PrunedTree(ClassifierMixin, BaseEstimator):
    """Entropy decision tree with J48's collapse and C4.5 pessimistic pruning (Weka's J48
    ``-C confidence -M min_samples_leaf`` without subtree raising; see the module docstring).

    Attributes: ``tree_model_`` (the pruned DecisionTreeClassifier), ``classes_``, ``n_leaves_``
    (leaves reachable after pruning), ``n_features_in_``.
    """

    def __init__(self, confidence=0.25, min_samples_leaf=2, random_state=None):
        self.confidence = confidence
        self.min_samples_leaf = min_samples_leaf
        self.random_state = random_state

    def fit(self, X, y):
        if not 0.0 < self.confidence <= MAX_CONFIDENCE:
            raise ValueError(f"confidence must be in (0, {MAX_CONFIDENCE}], got {self.confidence}")
        X, y = validate_data(self, X, y, dtype=np.float32)
        check_classification_targets(y)
        model = DecisionTreeClassifier(criterion="entropy", min_samples_leaf=self.min_samples_leaf,
                                       random_state=self.random_state).fit(X, y)
        tree = model.tree_
        left, right = tree.children_left, tree.children_right  # writable views into the tree
        counts = node_class_counts(tree)
        _collapse(left, right, counts)
        _prune(left, right, counts, float(self.confidence))
        self.tree_model_ = model
        self.classes_ = model.classes_
        self.n_leaves_ = sum(1 for node in _postorder(left, right) if left[node] == TREE_LEAF)
        return self

    def predict_proba(self, X):
        check_is_fitted(self, "tree_model_")
        X = validate_data(self, X, dtype=np.float32, reset=False)
        return self.tree_model_.predict_proba(X)

    def predict(self, X):
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]
