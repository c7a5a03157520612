"""Learners: every configured classifier builds from its spec, fits and gives probabilities."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from musicfusion.models.learners import LEARNERS as REGISTERED
from musicfusion.models.learners import CalibratedSVM, make_learner

from small_learners import LEARNERS

CLASSES = np.array(["folk", "jazz", "rock"])


def three_classes(sizes=(20, 20, 20), seed: int = 0):
    """A small 3-class problem: each class shifts its own feature; one noise column."""
    rng = np.random.default_rng(seed)
    y = np.repeat(CLASSES[: len(sizes)], sizes)
    codes = np.searchsorted(CLASSES, y)
    X = rng.normal(size=(len(y), 4)) + np.hstack([3.0 * np.eye(3)[codes], np.zeros((len(y), 1))])
    return (10.0 * X + 5.0).astype(np.float32), y  # off scale: the learner standardises


def spec(name: str, **settings) -> dict:
    return {"name": name, **LEARNERS[name]["settings"], **settings}


def test_the_tests_cover_every_registered_learner():
    assert set(LEARNERS) == set(REGISTERED)


@pytest.mark.parametrize("name", sorted(LEARNERS))
def test_every_learner_fits_three_classes_with_probabilities(name):
    X, y = three_classes()
    model = make_learner(spec(name), random_state=0)
    assert isinstance(model, Pipeline) and isinstance(model[0], StandardScaler)
    model.fit(X, y)
    assert list(model.classes_) == list(CLASSES)
    proba = model.predict_proba(X)
    assert proba.shape == (len(y), 3)
    assert (proba >= 0).all()
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-6)
    assert np.mean(model.predict(X) == y) > 0.8  # separable classes, training clips
    np.testing.assert_array_equal(model.predict(X), model.classes_[proba.argmax(axis=1)])
    # the seed fixes the fit: a clone refitted gives the same probabilities
    np.testing.assert_array_equal(clone(model).fit(X, y).predict_proba(X), proba)


@pytest.mark.parametrize("name", sorted(LEARNERS))
def test_settings_reach_the_classifier(name):
    settings = LEARNERS[name]["settings"]
    bare = make_learner(spec(name), random_state=7, scale=False)
    assert not isinstance(bare, Pipeline)
    got = bare.get_params()
    assert {key: got[key] for key in settings} == settings
    assert got["random_state"] == 7


def test_svm_probabilities_come_from_calibration():
    X, y = three_classes()
    model = make_learner(spec("svm"), random_state=0)[-1]
    assert isinstance(model, CalibratedSVM)
    model.fit(StandardScaler().fit_transform(X), y)
    assert model.model_.method == "sigmoid" and model.model_.cv == LEARNERS["svm"]["settings"]["calibration_folds"]
    assert model.model_.estimator.kernel == "rbf"


def test_random_forest_uses_one_thread():
    assert make_learner(spec("random_forest"), 0, scale=False).n_jobs == 1


def test_unknown_learner_is_named():
    with pytest.raises(ValueError, match=r"unknown learner 'boosting'.*'logistic'"):
        make_learner({"name": "boosting", "depth": 3}, 0)
    with pytest.raises(ValueError, match="unknown learner None"):
        make_learner({"C": 1.0}, 0)


@pytest.mark.parametrize("name", sorted(LEARNERS))
def test_a_bad_setting_names_the_learner(name):
    with pytest.raises(ValueError, match=f"learner '{name}'.*no_such_setting"):
        make_learner(spec(name, no_such_setting=1), 0)


@pytest.mark.parametrize("sizes", [(10, 10, 1), (4, 3, 1)])  # the second: every class below 5 members
def test_calibrated_svm_calibrates_in_sample_when_a_class_has_one_example(caplog, sizes):
    X, y = three_classes(sizes)
    with caplog.at_level("WARNING"):
        model = CalibratedSVM(random_state=0).fit(X, y)
    assert "calibrating in-sample" in caplog.text
    assert list(model.classes_) == list(CLASSES)
    proba = model.predict_proba(X)
    assert proba.shape == (sum(sizes), 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)


def test_calibrated_svm_shrinks_its_calibration_folds_to_the_smallest_class():
    X, y = three_classes((10, 10, 2))
    model = CalibratedSVM(calibration_folds=3, random_state=0).fit(X, y)
    assert model.model_.cv == 2
    assert list(model.classes_) == list(CLASSES)
    np.testing.assert_allclose(model.predict_proba(X).sum(axis=1), 1.0)
    assert CalibratedSVM(calibration_folds=3, random_state=0).fit(*three_classes((10, 10, 5))).model_.cv == 3
