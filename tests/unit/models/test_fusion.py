"""Fusion methods on synthetic data: audio carries the class, video is noise, text is weak."""

from __future__ import annotations

import pickle
from math import comb

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

from musicfusion.models.fusion import LateFusion, simplex_grid
from musicfusion.models.methods import REGISTRY, build_method, learner_names, learner_units

from fusion_cases import CLASSES, MODS, SEED, build, fit_predict, make_split
from small_learners import LEARNERS


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(SEED)
    return {name: make_split(n, rng) for name, n in [("train", 150), ("val", 150), ("test", 300)]}


def accuracy(method, data) -> float:
    X, y, _ = data["test"]
    return float(np.mean(method.predict(X) == y))


def test_single_modality_informative_vs_noise(data):
    audio = fit_predict(build("single_modality", ["audio"]), data)
    video = fit_predict(build("single_modality", ["video"]), data)
    assert accuracy(audio, data) > 0.75  # chance is 1/3
    assert accuracy(video, data) < 0.45
    assert list(audio.classes_) == list(CLASSES)
    assert audio.predict_proba(data["test"][0]).shape == (300, 3)


def test_single_modality_needs_exactly_one_modality(data):
    with pytest.raises(ValueError, match="exactly one"):
        fit_predict(build("single_modality", ["audio", "text"]), data)


def test_missing_modality_is_named(data):
    method = build("early_fusion", ["audio", "lyrics"])
    with pytest.raises(ValueError, match="lyrics"):
        fit_predict(method, data)


@pytest.mark.parametrize("kind", ["early_fusion", "late_fusion", "stacking"])
def test_fusion_beats_chance(kind, data):
    method = fit_predict(build(kind), data)
    assert accuracy(method, data) > 0.7
    proba = method.predict_proba(data["test"][0])
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)


def test_late_fusion_weights_on_grid_favour_informative_modality(data):
    step = 0.1
    method = fit_predict(build("late_fusion", weight_step=step), data)
    w = method.weights_
    assert list(w) == MODS
    assert sum(w.values()) == pytest.approx(1.0)
    counts = np.array(list(w.values())) / step
    np.testing.assert_allclose(counts, np.round(counts), atol=1e-9)
    assert max(w, key=w.get) == "audio"
    assert 0.0 <= method.val_score_ <= 1.0


def test_each_method_reports_what_it_learned(data):
    late = fit_predict(build("late_fusion", weight_step=0.1), data)
    assert late.learned_params() == {"weights": pytest.approx(late.weights_), "val_score": late.val_score_}
    X, y, _ = data["train"]
    keep = np.r_[np.flatnonzero(y != "c"), np.flatnonzero(y == "c")[:3]]
    stacking = build("stacking", cv_folds=5)
    stacking.fit({m: x[keep] for m, x in X.items()}, y[keep])
    assert stacking.learned_params() == {"n_folds": 3}
    early = fit_predict(build("early_fusion"), data)
    assert early.learned_params() == {}
    with pytest.raises(NotFittedError):
        LateFusion(modalities=MODS).learned_params()


def test_late_fusion_ties_prefer_uniform_weights(data):
    X, y, _ = data["train"]
    same = {m: X["audio"] for m in MODS}  # identical modalities: every weighting predicts alike
    method = build("late_fusion", weight_step=0.1)
    method.fit(same, y, same, y)
    # Most uniform grid points are permutations of (.3, .3, .4); the first in grid order wins.
    assert method.weights_ == pytest.approx({"audio": 0.3, "video": 0.3, "text": 0.4})


def test_late_fusion_requires_validation_data(data):
    X, y, _ = data["train"]
    with pytest.raises(ValueError, match="X_val"):
        build("late_fusion").fit(X, y)


def test_late_fusion_keeps_given_weights_without_validation_data(data):
    """Weights chosen on validation (validation_choices) are kept when the method is refitted on
    training and validation clips together, which leaves no validation split to choose on."""
    chosen = fit_predict(build("late_fusion", weight_step=0.1), data)
    choices = chosen.validation_choices()
    assert choices == {"weights": chosen.weights_}
    X, y, _ = data["train"]
    refit = build("late_fusion", weight_step=0.1, fixed=choices).fit(X, y)  # no X_val, y_val
    assert refit.weights_ == choices["weights"] and refit.val_score_ is None
    assert refit.validation_choices() == choices
    Xt = data["test"][0]
    weighted = sum(choices["weights"][m] * refit.models_[m].predict_proba(Xt[m].astype(np.float64)) for m in MODS)
    np.testing.assert_allclose(refit.predict_proba(Xt), weighted)
    # same training data and weights: the same model as the one that chose them
    np.testing.assert_array_equal(refit.predict_proba(Xt), chosen.predict_proba(Xt))
    with pytest.raises(ValueError, match="do not name"):
        build("late_fusion", fixed={"weights": {"audio": 1.0}}).fit(X, y)
    with pytest.raises(NotFittedError):
        LateFusion(modalities=MODS).validation_choices()
    assert build("early_fusion").fit(X, y).validation_choices() == {}


def test_simplex_grid():
    grid = simplex_grid(3, 0.1)
    assert grid.shape == (comb(12, 2), 3)  # compositions of 10 into 3 parts
    np.testing.assert_allclose(grid.sum(axis=1), 1.0)
    assert len({tuple(row) for row in grid}) == len(grid)
    assert simplex_grid(1, 0.25).tolist() == [[1.0]]
    with pytest.raises(ValueError, match="weight_step"):
        simplex_grid(3, 0.3)


def test_stacking_falls_back_to_fewer_folds(data):
    X, y, _ = data["train"]
    keep = np.r_[np.flatnonzero(y != "c"), np.flatnonzero(y == "c")[:3]]
    method = build("stacking", cv_folds=5)
    method.fit({m: x[keep] for m, x in X.items()}, y[keep])
    assert method.n_folds_ == 3


def test_stacking_meta_regularisation_is_meta_C(data):
    strong = fit_predict(build("stacking", cv_folds=3, meta_C=0.001), data)
    weak = fit_predict(build("stacking", cv_folds=3), data)
    assert strong.meta_.C == 0.001 and weak.meta_.C == 1.0
    Xt = data["test"][0]
    # heavier regularisation pulls the meta model's probabilities towards uniform
    assert strong.predict_proba(Xt).max(axis=1).mean() < weak.predict_proba(Xt).max(axis=1).mean()


def test_mlp_single_task(data):
    """The single-task network: early fusion with the mlp learner, one softmax head."""
    method = fit_predict(build("early_fusion", learner="mlp"), data)
    assert method.multitask is False
    assert accuracy(method, data) > 0.6
    assert method.predict(data["test"][0]).shape == (300,)
    network = method.model_[-1]
    assert network.n_tasks_ == 1 and len(network.head_weights_) == 1
    assert network.hidden_units == LEARNERS["mlp"]["settings"]["hidden_units"]


def test_mlp_multitask_predicts_every_task(data):
    method = build("multitask", learner="mlp")
    assert method.multitask is True
    fit_predict(method, data, multitask=True)
    X, y, z = data["test"]
    proba = method.predict_proba(X)
    assert [p.shape for p in proba] == [(300, 3), (300, 2)]
    for p in proba:
        np.testing.assert_allclose(p.sum(axis=1), 1.0)
    assert [list(c) for c in method.classes_] == [list(CLASSES), ["loud", "quiet"]]
    pred = method.predict(X)
    assert pred.shape == (300, 2)
    assert np.mean(pred[:, 0] == y) > 0.6 and np.mean(pred[:, 1] == z) > 0.6
    # One network: a shared hidden layer on all the joined columns and one softmax head per task
    # (not one multi-label output layer), the same size as the single-task network's.
    network = method.model_[-1]
    hidden = LEARNERS["mlp"]["settings"]["hidden_units"]
    width = sum(x.shape[1] for x in X.values())
    assert network.n_tasks_ == 2
    assert network.hidden_weights_.shape == (width, hidden)
    assert [w.shape for w in network.head_weights_] == [(hidden, 3), (hidden, 2)]
    single = fit_predict(build("early_fusion", learner="mlp"), data)
    assert single.model_[-1].hidden_weights_.shape == network.hidden_weights_.shape
    with pytest.raises(ValueError, match="n_tasks"):
        method.fit(X, y)


def test_multitask_needs_a_learner_that_fits_several_tasks(data):
    with pytest.raises(ValueError, match="several tasks.*'logistic'"):
        fit_predict(build("multitask", learner="logistic"), data, multitask=True)


CONFIGS = {
    "single_modality": {"type": "single_modality", "modalities": ["audio"], "learner": "logistic"},
    "control": {"type": "control", "modalities": ["audio"], "learner": "logistic"},
    "early_fusion": {"type": "early_fusion", "modalities": MODS, "learner": "logistic"},
    "early_fusion_mlp": {"type": "early_fusion", "modalities": MODS, "learner": "mlp"},
    "late_fusion": {"type": "late_fusion", "modalities": MODS, "learner": "logistic", "weight_step": 0.25},
    "late_fusion_mixed": {"type": "late_fusion", "modalities": MODS, "weight_step": 0.25,
                          "learner": {"audio": "svm", "video": "random_forest", "text": "logistic"}},
    "stacking": {"type": "stacking", "modalities": MODS, "learner": "logistic", "cv_folds": 3},
    "multitask": {"type": "multitask", "modalities": MODS, "learner": "mlp"},
}



def test_every_registered_type_is_tested():
    assert set(REGISTRY) <= {config["type"] for config in CONFIGS.values()}


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_clone_pickle_and_determinism(name, data):
    multitask = CONFIGS[name]["type"] == "multitask"
    first = fit_predict(build_method(CONFIGS[name], SEED, LEARNERS), data, multitask)
    again = clone(first)
    assert not hasattr(again, "classes_")
    fit_predict(again, data, multitask)
    restored = pickle.loads(pickle.dumps(first))
    X = data["test"][0]
    expected = first.predict_proba(X)
    for other in (again, restored):  # same seed and data: bit-identical probabilities
        got = other.predict_proba(X)
        for e, g in zip(*(([expected], [got]) if not multitask else (expected, got))):
            assert np.array_equal(e, g)
        assert np.array_equal(first.predict(X), other.predict(X))


def test_each_modality_can_have_its_own_learner(data):
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.linear_model import LogisticRegression

    from musicfusion.models.learners import CalibratedSVM

    params = CONFIGS["late_fusion_mixed"]
    assert learner_units(params) == MODS
    assert learner_names(params) == {"audio": "svm", "video": "random_forest", "text": "logistic"}
    method = fit_predict(build_method(params, SEED, LEARNERS), data)
    kinds = {m: type(method.models_[m][-1]) for m in MODS}
    assert kinds == {"audio": CalibratedSVM, "video": RandomForestClassifier, "text": LogisticRegression}
    assert method.models_["video"][-1].n_estimators == LEARNERS["random_forest"]["settings"]["n_estimators"]
    assert accuracy(method, data) > 0.7



def test_block_weights_give_every_modality_the_same_total_variance():
    from sklearn.preprocessing import StandardScaler

    from musicfusion.models.fusion import BlockWeights

    rng = np.random.default_rng(0)
    X = StandardScaler().fit_transform(rng.normal(size=(200, 10 + 990)))
    scaled = BlockWeights((10, 990)).fit_transform(X)
    narrow, wide = scaled[:, :10].var(axis=0).sum(), scaled[:, 10:].var(axis=0).sum()
    assert narrow == pytest.approx(wide)
    assert scaled.var(axis=0).mean() == pytest.approx(1.0)  # overall scale kept
    with pytest.raises(ValueError, match="do not add up"):
        BlockWeights((10, 10)).fit(X)


def test_block_scaling_keeps_a_narrow_informative_modality_from_drowning():
    rng = np.random.default_rng(3)
    n = 240
    y = rng.choice(["a", "b", "c"], n)
    signal = rng.normal(size=(n, 5)) + 1.5 * (y[:, None] == np.array(["a", "b", "c", "a", "b"]))
    noise = rng.normal(size=(n, 3000))
    X = {"audio": signal.astype(np.float32), "text": noise.astype(np.float32)}
    train, test = np.arange(n) < 160, np.arange(n) >= 160
    scores = {}
    for scaling in (False, True):
        model = build("early_fusion", ["audio", "text"], block_scaling=scaling)
        model.fit({m: x[train] for m, x in X.items()}, y[train])
        scores[scaling] = np.mean(model.predict({m: x[test] for m, x in X.items()}) == y[test])
    assert scores[True] > scores[False] + 0.1
