"""Learners: the classifiers a fusion method fits, per modality or on the joined modalities.

A learner is named in params.yaml (``learners``: its untuned settings and its search space;
``methods.<name>.learner``: which learner a method uses). A *spec* is one learner's name and
settings, e.g. ``{"name": "svm", "kernel": "rbf", "C": 1.0}``; :func:`make_learner` turns it
into an unfitted scikit-learn classifier behind a StandardScaler fitted on the training data.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.calibration import CalibratedClassifierCV
from sklearn.ensemble import RandomForestClassifier
from sklearn.frozen import FrozenEstimator
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import KFold
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC
from sklearn.utils.validation import check_is_fitted

log = logging.getLogger(__name__)


class CalibratedSVM(ClassifierMixin, BaseEstimator):
    """A support vector machine with probabilities from sigmoid calibration on held-out folds.

    scikit-learn 1.9 deprecates ``SVC(probability=True)`` in favour of CalibratedClassifierCV;
    with ``ensemble=False`` one SVC is fitted on all the data and the calibration learns from
    cross-validated decision values. The calibration folds shrink to the smallest class size,
    so small user datasets still fit; a class seen once is calibrated in-sample.
    """

    def __init__(self, kernel="rbf", C=1.0, gamma="scale", calibration_folds=3, random_state=None):
        self.kernel = kernel
        self.C = C
        self.gamma = gamma
        self.calibration_folds = calibration_folds
        self.random_state = random_state

    def fit(self, X, y):
        smallest = int(np.unique(y, return_counts=True)[1].min())
        svc = SVC(kernel=self.kernel, C=self.C, gamma=self.gamma, random_state=self.random_state)
        if smallest >= 2:
            folds = min(int(self.calibration_folds), smallest)
            self.model_ = CalibratedClassifierCV(svc, method="sigmoid", cv=folds, ensemble=False).fit(X, y)
        else:
            # A class seen once cannot be held out: calibrate on the training data itself
            # (overconfident, but every class keeps a probability).
            log.warning("svm: the smallest class has %d training example; calibrating in-sample", smallest)
            # The frozen SVC ignores the folds, which only route its decision values to the
            # calibration; the data twice over gives every class a member in both folds.
            frozen = FrozenEstimator(svc.fit(X, y))
            self.model_ = CalibratedClassifierCV(frozen, method="sigmoid", cv=KFold(2)).fit(
                np.concatenate([X, X]), np.concatenate([y, y]))
        self.classes_ = self.model_.classes_
        return self

    def predict_proba(self, X):
        check_is_fitted(self, "model_")
        return self.model_.predict_proba(X)

    def predict(self, X):
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]


def _logistic(settings: dict, random_state) -> BaseEstimator:
    return LogisticRegression(**settings, random_state=random_state)


def _svm(settings: dict, random_state) -> BaseEstimator:
    return CalibratedSVM(**settings, random_state=random_state)


def _random_forest(settings: dict, random_state) -> BaseEstimator:
    # One thread: Snakemake runs jobs side by side on the cores.
    return RandomForestClassifier(**settings, n_jobs=1, random_state=random_state)


def _mlp(settings: dict, random_state) -> BaseEstimator:
    # Imported here: JAX takes about a second to import, and only the network needs it (not the
    # evaluate, compare or track jobs, nor methods with other learners).
    from musicfusion.models.network import NeuralNetwork

    return NeuralNetwork(**settings, random_state=random_state)


LEARNERS = {"logistic": _logistic, "svm": _svm, "random_forest": _random_forest, "mlp": _mlp}
# Learners that fit several tasks at once (y of shape (n_clips, n_tasks)).
MULTITASK_LEARNERS = ("mlp",)


def check_spec(spec: Mapping) -> None:
    if not isinstance(spec, Mapping) or spec.get("name") not in LEARNERS:
        name = spec.get("name") if isinstance(spec, Mapping) else spec
        raise ValueError(f"unknown learner {name!r}; known: {sorted(LEARNERS)}")


def make_learner(spec: Mapping, random_state, scale: bool = True) -> Pipeline | BaseEstimator:
    """The unfitted classifier of ``spec``, after a StandardScaler when ``scale``."""
    check_spec(spec)
    settings = {k: (tuple(v) if isinstance(v, list) else v) for k, v in spec.items() if k != "name"}
    try:
        model = LEARNERS[spec["name"]](settings, random_state)
    except TypeError as err:
        raise ValueError(f"learner {spec['name']!r}: {err}") from None
    return make_pipeline(StandardScaler(), model) if scale else model
