"""A paper's learners: Weka's classifiers as scikit-learn pipelines, built by name."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.base import clone

from musicfusion.models.paper_learners import PAPER_LEARNERS, make_paper_learner

SETTINGS = {"majority": {}, "naive_bayes": {}, "naive_bayes_discretised": {"alpha": 1.0},
            "decision_tree": {"confidence": 0.25, "min_samples_leaf": 2}, "logistic": {"ridge": 1e-8, "max_iter": 1000},
            "knn": {"n_neighbors": 3}}


def two_classes(n=120, seed=0):
    rng = np.random.default_rng(seed)
    y = np.repeat(["a", "b"], n // 2)
    X = np.column_stack([rng.normal(size=n) + 2.5 * (y == "b"), rng.normal(size=n), np.full(n, 7.0)])
    return X, y


@pytest.mark.parametrize("name", sorted(PAPER_LEARNERS))
def test_every_learner_drops_constant_columns_and_learns(name):
    X, y = two_classes()
    model = make_paper_learner(name, SETTINGS[name], seed=1).fit(X[::2], y[::2])
    assert model[0].get_support().tolist() == [True, True, False]  # RemoveUseless: the constant column
    accuracy = (model.predict(X[1::2]) == y[1::2]).mean()
    assert accuracy == 0.5 if name == "majority" else accuracy > 0.8
    again = clone(make_paper_learner(name, SETTINGS[name], seed=1)).fit(X[::2], y[::2])
    assert np.array_equal(again.predict_proba(X[1::2]), model.predict_proba(X[1::2]))


def test_wekas_ridge_is_scikit_learns_inverse_C():
    model = make_paper_learner("logistic", {"ridge": 0.25}, seed=0)
    assert model[-1][-1].C == 2.0  # ridge * ||w||^2 == ||w||^2 / (2 C)
    with pytest.raises(ValueError, match="ridge must be > 0"):
        make_paper_learner("logistic", {"ridge": 0.0}, seed=0)


def test_knn_is_blind_to_the_scale_of_a_feature():
    X, y = two_classes()
    scaled = X * np.array([1000.0, 0.001, 1.0])
    plain = make_paper_learner("knn", {"n_neighbors": 3}, 0).fit(X[::2], y[::2]).predict(X[1::2])
    stretched = make_paper_learner("knn", {"n_neighbors": 3}, 0).fit(scaled[::2], y[::2]).predict(scaled[1::2])
    assert np.array_equal(plain, stretched)


def test_unknown_learners_and_settings_are_named():
    with pytest.raises(ValueError, match="unknown paper learner 'j48'"):
        make_paper_learner("j48", {}, 0)
    with pytest.raises(ValueError, match="paper learner 'knn'"):
        make_paper_learner("knn", {"k": 3}, 0)
