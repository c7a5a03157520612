import pickle
import warnings

import numpy as np
import pytest
from sklearn.base import clone

from musicfusion.models.network import NeuralNetwork

N, D = 120, 20


@pytest.fixture(scope="module")
def data():
    """Task A depends on features 0-1 only, task B on features 2-3 only."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((N, D)).astype(np.float32)
    task_a = np.where(X[:, 0] + X[:, 1] > 0, "rock", "jazz")
    task_b = np.array(["low", "mid", "high"])[np.digitize(X[:, 2] - X[:, 3], [-0.6, 0.6])]
    return X, np.column_stack([task_a, task_b])


def fit(X, y, **kw):
    params = dict(hidden_units=32, epochs=200, learning_rate=1e-2, random_state=0) | kw
    return NeuralNetwork(**params).fit(X, y)


def test_learns_single_task_with_string_labels(data):
    X, Y = data
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # fitting must not warn
        model = fit(X, Y[:, 0])
    assert model.n_tasks_ == 1
    assert list(model.classes_) == ["jazz", "rock"]
    proba = model.predict_proba(X)
    assert proba.shape == (N, 2) and proba.dtype == np.float64
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert model.predict(X).shape == (N,)
    assert model.score(X, Y[:, 0]) > 0.9
    assert model.loss_curve_.shape == (200,) and model.loss_curve_[-1] < 0.5 * model.loss_curve_[0]


def test_multi_task_shapes_and_learns_both_tasks(data):
    X, Y = data
    model = fit(X, Y)
    assert model.n_tasks_ == 2
    assert [list(c) for c in model.classes_] == [["jazz", "rock"], ["high", "low", "mid"]]
    proba = model.predict_proba(X)
    assert isinstance(proba, list) and [p.shape for p in proba] == [(N, 2), (N, 3)]
    for p in proba:
        assert p.dtype == np.float64
        np.testing.assert_allclose(p.sum(axis=1), 1.0)
    pred = model.predict(X)
    assert pred.shape == (N, 2)
    assert (pred[:, 0] == Y[:, 0]).mean() > 0.9
    assert (pred[:, 1] == Y[:, 1]).mean() > 0.8
    # Each column is predicted from its own head: column 1 holds only task B's labels.
    assert set(pred[:, 1]) <= {"low", "mid", "high"}


def test_heads_share_one_hidden_layer(data):
    X, Y = data
    model = fit(X, Y, hidden_units=16, epochs=5)
    assert model.hidden_weights_.shape == (D, 16) and model.hidden_bias_.shape == (16,)
    assert [W.shape for W in model.head_weights_] == [(16, 2), (16, 3)]
    assert [b.shape for b in model.head_biases_] == [(2,), (3,)]
    # Single-task = the same network with one head.
    single = fit(X, Y[:, 1], hidden_units=16, epochs=5)
    assert single.hidden_weights_.shape == (D, 16) and len(single.head_weights_) == 1


def test_sharing_couples_the_tasks(data):
    """Adding task B changes what the shared layer learns, hence task A's predictions."""
    X, Y = data
    single = fit(X, Y[:, 0])
    multi = fit(X, Y)
    assert not np.array_equal(single.predict_proba(X), multi.predict_proba(X)[0])


def test_deterministic_given_seed(data):
    X, Y = data
    a, b = fit(X, Y, random_state=3), fit(X, Y, random_state=3)
    for pa, pb in zip(a.predict_proba(X), b.predict_proba(X)):
        assert np.array_equal(pa, pb)
    c = fit(X, Y, random_state=4)
    assert not np.array_equal(a.predict_proba(X)[0], c.predict_proba(X)[0])


def test_dropout_changes_results_and_stays_deterministic(data):
    X, Y = data
    plain = fit(X, Y[:, 0])
    d1, d2 = fit(X, Y[:, 0], dropout=0.5), fit(X, Y[:, 0], dropout=0.5)
    assert np.array_equal(d1.predict_proba(X), d2.predict_proba(X))
    assert not np.array_equal(plain.predict_proba(X), d1.predict_proba(X))


def test_alpha_shrinks_weights(data):
    X, Y = data

    def norm(m):
        return np.sum(m.hidden_weights_ ** 2) + sum(np.sum(W ** 2) for W in m.head_weights_)

    assert norm(fit(X, Y, alpha=10.0)) < 0.5 * norm(fit(X, Y, alpha=1e-4))


def test_fitted_attributes_are_numpy_and_round_trip(data):
    X, Y = data
    model = fit(X, Y, epochs=50)
    arrays = [model.hidden_weights_, model.hidden_bias_, model.loss_curve_,
              *model.head_weights_, *model.head_biases_]
    for a in arrays:
        assert type(a) is np.ndarray and a.dtype == np.float32
    expected = model.predict_proba(X)
    restored = pickle.loads(pickle.dumps(model))
    for p, q in zip(expected, restored.predict_proba(X)):
        assert np.array_equal(p, q)
    assert np.array_equal(restored.predict(X), model.predict(X))
    twin = clone(model)
    assert twin.get_params() == model.get_params() and not hasattr(twin, "hidden_weights_")
    for p, q in zip(expected, twin.fit(X, Y).predict_proba(X)):
        assert np.array_equal(p, q)


@pytest.mark.parametrize("multi", [False, True])
def test_skops_round_trip_trusts_only_our_type(data, multi):
    sio = pytest.importorskip("skops.io")
    X, Y = data
    model = fit(X, Y if multi else Y[:, 0].astype(object), epochs=20)
    blob = sio.dumps(model)
    untrusted = sio.get_untrusted_types(data=blob)
    assert untrusted == ["musicfusion.models.network.NeuralNetwork"]
    restored = sio.loads(blob, trusted=untrusted)
    assert np.array_equal(restored.predict(X), model.predict(X))


def test_refit_with_other_hyperparameters_does_not_reuse_state(data):
    X, Y = data
    model = fit(X, Y, epochs=30)
    first = model.predict_proba(X)[0]
    model.set_params(learning_rate=1e-3).fit(X, Y)
    assert not np.array_equal(first, model.predict_proba(X)[0])
    assert model.loss_curve_.shape == (30,)


@pytest.mark.parametrize("make_bad, match", [
    (lambda X, y: (np.where(np.arange(X.size).reshape(X.shape) == 5, np.nan, X), y), "NaN"),
    (lambda X, y: (X, np.full(len(y), "rock")), "at least 2"),
    (lambda X, y: (X, y[:-1]), "different numbers of samples"),
    (lambda X, y: (X[:, 0], y), "2D"),
])
def test_bad_input_raises(data, make_bad, match):
    X, Y = data
    Xb, yb = make_bad(X, Y[:, 0])
    with pytest.raises(ValueError, match=match):
        fit(Xb, yb, epochs=1)


@pytest.mark.parametrize("params", [{"hidden_units": 0}, {"epochs": 0}, {"dropout": 1.0}, {"dropout": -0.1}])
def test_bad_hyperparameters_raise(data, params):
    X, Y = data
    with pytest.raises(ValueError):
        fit(X, Y, **params)


def test_predict_checks_feature_count(data):
    X, Y = data
    model = fit(X, Y, epochs=5)
    with pytest.raises(ValueError, match="features"):
        model.predict(X[:, :5])


def test_float32_whatever_the_global_jax_config(data):
    """Training runs in float32 even if the caller enabled jax's 64-bit mode."""
    import jax

    X, Y = data
    plain = fit(X, Y, epochs=50)
    with jax.enable_x64(True):
        wide = fit(X, Y, epochs=50)
    assert wide.hidden_weights_.dtype == np.float32
    for p, q in zip(plain.predict_proba(X), wide.predict_proba(X)):
        assert np.array_equal(p, q)
