"""The learners of a reproduced paper: each Weka classifier as its closest scikit-learn equivalent.

Registered by the name params.yaml ``papers.<paper>.learners`` uses; each factory takes that
entry's ``settings`` and the seed. Every learner first drops the columns that are constant on its
training data, as Weka's ``RemoveUseless`` filter drops constant attributes (here inside each
training fold, so no test tune informs the choice).

How each differs from Weka (README: Reproducing a paper):

- ``majority``: Weka's ZeroR. The same.
- ``naive_bayes``: NaiveBayes, one normal density per class and numeric attribute. Weka floors a
  standard deviation at the attribute's precision; scikit-learn adds a small variance (1e-9 of
  the largest) instead.
- ``naive_bayes_discretised``: NaiveBayes -D, on Fayyad-Irani MDL discretisation with Laplace
  estimates (musicfusion.models.discretise).
- ``decision_tree``: J48 (C4.5), with information gain instead of gain ratio and pruning by
  subtree replacement only, no subtree raising (musicfusion.models.pruned_tree).
- ``logistic``: Logistic, a multinomial ridge logistic regression on standardised attributes;
  Weka's penalty ``ridge * ||w||^2`` is scikit-learn's ``C = 1 / (2 * ridge)``. L-BFGS instead of
  Weka's quasi-Newton, stopped by scikit-learn's tolerance.
- ``knn``: IBk, Euclidean distance on attributes min-max normalised on the training data, no
  distance weighting. Ties between equally distant neighbours may be broken differently.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from sklearn.base import BaseEstimator
from sklearn.dummy import DummyClassifier
from sklearn.feature_selection import VarianceThreshold
from sklearn.linear_model import LogisticRegression
from sklearn.naive_bayes import GaussianNB
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import MinMaxScaler, StandardScaler


def _majority(settings: dict, seed: int) -> BaseEstimator:
    return DummyClassifier(strategy="most_frequent", **settings)


def _naive_bayes(settings: dict, seed: int) -> BaseEstimator:
    return GaussianNB(**settings)


def _naive_bayes_discretised(settings: dict, seed: int) -> BaseEstimator:
    from musicfusion.models.discretise import DiscretisedNaiveBayes

    return DiscretisedNaiveBayes(**settings)


def _decision_tree(settings: dict, seed: int) -> BaseEstimator:
    from musicfusion.models.pruned_tree import PrunedTree

    return PrunedTree(**settings, random_state=seed)


def _logistic(settings: dict, seed: int) -> BaseEstimator:
    settings = dict(settings)
    ridge = float(settings.pop("ridge"))
    if ridge <= 0:
        raise ValueError(f"logistic: ridge must be > 0, got {ridge}")
    return make_pipeline(StandardScaler(), LogisticRegression(C=1.0 / (2.0 * ridge), **settings, random_state=seed))


def _knn(settings: dict, seed: int) -> BaseEstimator:
    return make_pipeline(MinMaxScaler(), KNeighborsClassifier(**settings))


PAPER_LEARNERS: dict[str, Callable[[dict, int], BaseEstimator]] = {
    "majority": _majority,
    "naive_bayes": _naive_bayes,
    "naive_bayes_discretised": _naive_bayes_discretised,
    "decision_tree": _decision_tree,
    "logistic": _logistic,
    "knn": _knn,
}


def make_paper_learner(name: str, settings: Mapping, seed: int) -> Pipeline:
    """The unfitted learner ``name`` with ``settings``, after dropping constant columns."""
    if name not in PAPER_LEARNERS:
        raise ValueError(f"unknown paper learner {name!r}; known: {sorted(PAPER_LEARNERS)}")
    try:
        learner = PAPER_LEARNERS[name](dict(settings), seed)
    except TypeError as err:
        raise ValueError(f"paper learner {name!r}: {err}") from None
    return make_pipeline(VarianceThreshold(0.0), learner)
