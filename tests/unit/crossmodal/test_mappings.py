"""Cross-modal mappings and retrieval metrics (musicfusion.crossmodal.mappings)."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import yaml
from sklearn.base import clone

from musicfusion.crossmodal import mappings as transfer
from musicfusion.crossmodal.mappings import REGISTRY, build_mapping
from musicfusion.crossmodal.retrieval import (
    canonical_correlations,
    mapping_metrics,
    retrieval_metrics,
    retrieval_ranks,
)

from support import PROJECT_ROOT

PARAMS_PATH = PROJECT_ROOT / "params.yaml"


def split(n_train: int, *arrays):
    return [a[:n_train] for a in arrays], [a[n_train:] for a in arrays]


def linear_data(n=300, d_src=12, d_tgt=8, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d_src))
    A = rng.normal(size=(d_src, d_tgt))
    b = rng.normal(size=d_tgt) * 5
    Y = X @ A + b + 1e-3 * rng.normal(size=(n, d_tgt))
    return X.astype(np.float32), Y.astype(np.float32)


def shared_latent_data(n=400, k=4, d_x=20, d_y=15, noise=0.3, seed=0):
    rng = np.random.default_rng(seed)
    z = rng.normal(size=(n, k))
    X = z @ rng.normal(size=(k, d_x)) + noise * rng.normal(size=(n, d_x))
    Y = z @ rng.normal(size=(k, d_y)) + noise * rng.normal(size=(n, d_y))
    return X.astype(np.float32), Y.astype(np.float32)


def fit_and_score(model, X, Y, n_train):
    (Xtr, Ytr), (Xte, Yte) = split(n_train, X, Y)
    model.fit(Xtr, Ytr)
    Zs, Zt = model.embed_source(Xte), model.embed_target(Yte)
    return Zs, Zt, mapping_metrics(Zt, Zs)


# ------------------------------------------------------------------------------ mappings


def test_ridge_recovers_a_linear_relation_on_held_out_rows():
    X, Y = linear_data()
    model = build_mapping({"type": "ridge", "alpha": 1e-3}, pca_components=32, seed=0)
    Zs, Zt, m = fit_and_score(model, X, Y, n_train=200)
    assert m["r2"] > 0.99
    assert m["cosine_mean"] > 0.99
    assert Zs.shape == Zt.shape == (100, 8)  # PCA capped at d_tgt
    np.testing.assert_array_equal(model.predict(X[200:]), Zs)
    ranks = retrieval_ranks(Zs, Zt)
    assert retrieval_metrics(ranks, [1])["recall@1"] == 1.0


def test_pca_is_capped_and_fitted_on_training_rows():
    X, Y = linear_data(n=30, d_src=50, d_tgt=40)
    model = build_mapping({"type": "ridge"}, pca_components=32, seed=0).fit(X[:20], Y[:20])
    assert model.src_pca_.n_components_ == 19  # min(n_samples - 1, n_features)
    assert model.tgt_pca_.n_components_ == 19
    np.testing.assert_allclose(model.src_scaler_.mean_, X[:20].mean(axis=0), rtol=1e-5, atol=1e-6)


def test_kernel_ridge_beats_ridge_on_a_nonlinear_relation():
    rng = np.random.default_rng(1)
    X = rng.uniform(-1.5, 1.5, size=(400, 4)).astype(np.float32)
    Y = np.sin(3 * X).astype(np.float32)
    ridge = build_mapping({"type": "ridge", "alpha": 1.0}, 32, 0)
    kr = build_mapping(
        {"type": "kernel_ridge", "kernel": "rbf", "alpha": 0.01, "gamma": 1.0}, 32, 0
    )
    r2_ridge = fit_and_score(ridge, X, Y, 300)[2]["r2"]
    r2_kr = fit_and_score(kr, X, Y, 300)[2]["r2"]
    assert r2_ridge < 0.3  # sin(3x) is nearly uncorrelated with x
    assert r2_kr > 0.8
    assert r2_kr > r2_ridge + 0.5


def test_random_forest_learns_a_nonlinear_relation():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(300, 3)).astype(np.float32)
    Y = np.abs(X).astype(np.float32)
    rf = build_mapping({"type": "random_forest", "n_estimators": 30, "max_depth": 8}, 32, 0)
    assert fit_and_score(rf, X, Y, 200)[2]["r2"] > 0.5


def test_mlp_improves_over_a_constant_predictor():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(400, 6)).astype(np.float32)
    Y = np.tanh(X @ rng.normal(size=(6, 5))).astype(np.float32)
    mlp = build_mapping(
        {"type": "mlp", "hidden_layer_sizes": [64], "alpha": 0.01, "max_iter": 300}, 32, 0
    )
    Zs, Zt, m = fit_and_score(mlp, X, Y, 300)
    constant = np.broadcast_to(mlp.embed_target(Y[:300]).mean(axis=0), Zt.shape)  # train mean
    assert mapping_metrics(Zt, constant)["r2"] < 0.05
    assert m["r2"] > 0.7
    assert mlp.regressor_.early_stopping is False


def test_cca_finds_a_shared_latent_and_retrieves_well_above_chance():
    X, Y = shared_latent_data()
    cca = build_mapping({"type": "cca", "n_components": 4}, 32, 0)
    Zs, Zt, m = fit_and_score(cca, X, Y, 300)
    assert Zs.shape == Zt.shape == (100, 4)
    corr = canonical_correlations(Zs, Zt)
    assert corr.min() > 0.9
    assert m["r2"] > 0.8 and m["cosine_mean"] > 0.9
    metrics = retrieval_metrics(retrieval_ranks(Zs, Zt), [1, 5])
    assert metrics["recall@1"] > 20 * metrics["chance_recall@1"]  # chance is 0.01
    assert metrics["recall@5"] > 0.8
    assert metrics["median_rank"] < 5 < metrics["chance_median_rank"]


def test_cca_on_independent_noise_retrieves_at_chance():
    rng = np.random.default_rng(4)
    X = rng.normal(size=(600, 10)).astype(np.float32)
    Y = rng.normal(size=(600, 10)).astype(np.float32)
    cca = build_mapping({"type": "cca", "n_components": 4}, 32, 0)
    Zs, Zt, _ = fit_and_score(cca, X, Y, 300)
    metrics = retrieval_metrics(retrieval_ranks(Zs, Zt), [1, 10])
    # chance recall@1 = 1/300; allow sampling slack but far below the shared-latent case.
    assert metrics["recall@1"] <= 0.03
    assert metrics["recall@10"] <= 0.1
    assert abs(metrics["median_rank"] - metrics["chance_median_rank"]) < 40
    assert np.abs(canonical_correlations(Zs, Zt)).max() < 0.3


def test_pls_shared_space_also_works():
    X, Y = shared_latent_data(seed=5)
    pls = build_mapping({"type": "pls", "n_components": 4}, 32, 0)
    Zs, Zt, _ = fit_and_score(pls, X, Y, 300)
    assert retrieval_metrics(retrieval_ranks(Zs, Zt), [5])["recall@5"] > 0.5


def test_cca_components_are_capped_by_reduced_dimensions():
    X, Y = shared_latent_data(n=100, d_x=6, d_y=3)
    cca = build_mapping({"type": "cca", "n_components": 8}, 32, 0).fit(X, Y)
    assert cca.n_components_ == 3
    assert cca.embed_source(X).shape == (100, 3)


# ------------------------------------------------------------------------------ contract


@pytest.mark.parametrize(
    "method",
    [
        {"type": "ridge", "alpha": 1.0},
        {"type": "kernel_ridge", "kernel": "rbf", "alpha": 1.0},
        {"type": "random_forest", "n_estimators": 10, "max_depth": 4},
        {"type": "mlp", "hidden_layer_sizes": [16], "alpha": 0.01, "max_iter": 50},
        {"type": "cca", "n_components": 3},
        {"type": "pls", "n_components": 3},
    ],
    ids=lambda m: m["type"],
)
def test_clone_pickle_and_refit_give_identical_embeddings(method):
    X, Y = shared_latent_data(n=120, seed=6)
    model = build_mapping(method, pca_components=8, seed=7)
    params_before = model.get_params()
    model.fit(X[:80], Y[:80])
    assert model.get_params() == params_before  # fit does not touch hyper-parameters
    Zs, Zt = model.embed_source(X[80:]), model.embed_target(Y[80:])
    assert Zs.dtype == np.float64 and Zs.shape == Zt.shape

    restored = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(restored.embed_source(X[80:]), Zs)
    np.testing.assert_array_equal(restored.embed_target(Y[80:]), Zt)

    refit = clone(model)
    assert not hasattr(refit, "src_pca_")
    refit.fit(X[:80], Y[:80])
    np.testing.assert_array_equal(refit.embed_source(X[80:]), Zs)
    np.testing.assert_array_equal(refit.embed_target(Y[80:]), Zt)


def test_mlp_fit_does_not_leak_warning_filters():
    import warnings

    X, Y = linear_data(n=60)
    before = list(warnings.filters)
    with warnings.catch_warnings(record=True):
        build_mapping({"type": "mlp", "max_iter": 2}, 8, 0).fit(X, Y)
    assert list(warnings.filters) == before


def test_unknown_type_or_key_raises_naming_it():
    with pytest.raises(ValueError, match="transformer_xl"):
        build_mapping({"type": "transformer_xl"}, 8, 0)
    with pytest.raises(ValueError, match="n_estimators"):
        build_mapping({"type": "ridge", "n_estimators": 3}, 8, 0)
    with pytest.raises(ValueError, match="type"):
        build_mapping({"alpha": 1.0}, 8, 0)


def test_build_mapping_injects_pca_size_and_seed_and_keeps_yaml_values():
    model = build_mapping({"type": "mlp", "hidden_layer_sizes": [128], "alpha": 0.01}, 32, 5)
    assert isinstance(model, transfer.MLPMapping)
    assert model.get_params()["pca_components"] == 32
    assert model.random_state == 5
    assert model.hidden_layer_sizes == [128]
    cca = build_mapping({"type": "cca", "n_components": 8}, 32, 0)
    assert (cca.pca_components, cca.n_components) == (32, 8)


def test_every_method_in_params_yaml_builds():
    params = yaml.safe_load(PARAMS_PATH.read_text(encoding="utf-8"))["transfer"]
    for name, method in params["methods"].items():
        model = build_mapping(method, params["pca_components"], seed=0)
        assert isinstance(model, REGISTRY[method["type"]]), name


def test_mismatched_rows_or_features_raise():
    X, Y = linear_data(n=50)
    model = build_mapping({"type": "ridge"}, 8, 0)
    with pytest.raises(ValueError, match="same rows"):
        model.fit(X, Y[:-1])
    model.fit(X, Y)
    with pytest.raises(ValueError, match="features"):
        model.embed_source(X[:, :-1])


# ------------------------------------------------------------------------------ retrieval


# ------------------------------------------------------------------------------ rank matrix


