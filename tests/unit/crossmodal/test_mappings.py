"""Cross-modal mappings and retrieval metrics (musicfusion.crossmodal.mappings)."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import yaml
from scipy.stats import rankdata
from sklearn.base import clone

from musicfusion.crossmodal import mappings as transfer
from musicfusion.crossmodal.mappings import REGISTRY, build_mapping
from musicfusion.crossmodal.retrieval import (
    canonical_correlations,
    label_precision,
    mapping_metrics,
    rank_gallery,
    rank_matrix,
    recall_curve,
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

# Gallery = the four unit vectors e_0..e_3, so cosine(query i, gallery j) = q_i[j] / |q_i|.
QUERIES = np.array(
    [
        [3.0, 1.0, 0.0, 0.0],  # true item 0 is the most similar       -> rank 1
        [2.0, 1.0, 0.0, 0.0],  # item 0 beats the true item 1           -> rank 2
        [0.0, 1.0, 1.0, 0.0],  # item 1 ties the true item 2 (pessimist)-> rank 2
        [1.0, 1.0, 1.0, 1.0],  # all four tie with the true item 3      -> rank 4
    ]
)
GALLERY = np.eye(4)
SIMILARITY = np.array(
    [
        [3 / np.sqrt(10), 1 / np.sqrt(10), 0.0, 0.0],
        [2 / np.sqrt(5), 1 / np.sqrt(5), 0.0, 0.0],
        [0.0, 1 / np.sqrt(2), 1 / np.sqrt(2), 0.0],
        [0.5, 0.5, 0.5, 0.5],
    ]
)


def test_retrieval_ranks_by_hand_with_pessimistic_ties():
    _, scores = rank_gallery(QUERIES, GALLERY, top=4)
    np.testing.assert_allclose(np.sort(scores, axis=1), np.sort(SIMILARITY, axis=1))
    ranks = retrieval_ranks(QUERIES, GALLERY)
    assert ranks.tolist() == [1, 2, 2, 4]


def test_retrieval_metrics_by_hand_and_chance_for_n4():
    m = retrieval_metrics(np.array([1, 2, 2, 4]), [1, 2, 3, 5])
    assert m["recall@1"] == 0.25
    assert m["recall@2"] == 0.75
    assert m["recall@3"] == 0.75
    assert m["recall@5"] == 1.0
    assert m["median_rank"] == 2.0
    assert m["mrr"] == pytest.approx((1 + 1 / 2 + 1 / 2 + 1 / 4) / 4)  # 0.5625
    assert m["chance_recall@1"] == 0.25
    assert m["chance_recall@2"] == 0.5
    assert m["chance_recall@3"] == 0.75
    assert m["chance_recall@5"] == 1.0  # min(K, n) / n
    assert m["chance_median_rank"] == 2.5
    assert m["chance_mrr"] == pytest.approx((1 + 1 / 2 + 1 / 3 + 1 / 4) / 4)  # 25/48
    assert all(type(v) is float for v in m.values())


def test_constant_embedding_gets_the_worst_rank():
    Z = np.ones((5, 3))
    assert retrieval_ranks(Z, Z).tolist() == [5] * 5
    assert retrieval_ranks(np.zeros((5, 3)), np.zeros((5, 3))).tolist() == [5] * 5
    m = retrieval_metrics(retrieval_ranks(Z, Z), [1])
    assert m["recall@1"] == 0.0 < m["chance_recall@1"]


def test_identical_embeddings_rank_first():
    Z = np.random.default_rng(0).normal(size=(20, 6))
    assert retrieval_ranks(Z, Z).tolist() == [1] * 20


def test_recall_curve_matches_retrieval_metrics():
    ranks = np.array([1, 2, 2, 4])
    curve = recall_curve(ranks, 5)
    np.testing.assert_array_equal(curve, [0.25, 0.75, 0.75, 1.0, 1.0])
    m = retrieval_metrics(ranks, range(1, 6))
    assert curve.tolist() == [m[f"recall@{k}"] for k in range(1, 6)]


def test_rank_gallery_returns_top_items_by_decreasing_score():
    idx, scores = rank_gallery(QUERIES, GALLERY, top=2)
    assert idx.shape == scores.shape == (4, 2)
    assert idx[0].tolist() == [0, 1]
    assert idx[1].tolist() == [0, 1]
    assert sorted(idx[2].tolist()) == [1, 2]
    rng = np.random.default_rng(1)
    q, g = rng.normal(size=(7, 5)), rng.normal(size=(30, 5))
    idx, scores = rank_gallery(q, g, top=10)
    assert idx.shape == (7, 10)
    assert np.all(np.diff(scores, axis=1) <= 0)
    full = (q / np.linalg.norm(q, axis=1, keepdims=True)) @ (
        g / np.linalg.norm(g, axis=1, keepdims=True)
    ).T
    np.testing.assert_allclose(scores[:, 0], full.max(axis=1))
    np.testing.assert_allclose(np.take_along_axis(full, idx, axis=1), scores)
    assert rank_gallery(q, g[:3], top=10)[0].shape == (7, 3)  # capped at the gallery size


def test_label_precision_by_hand():
    # Similarities (gallery = unit vectors): q0 -> g0 .995, g1 .0995, g2 0; q1 -> g1 .995, g0 .0995,
    # g2 0; q2 -> g2 1, g0 0, g1 0. Each query's own item (g_i for q_i) is the nearest, but it is
    # LEFT OUT of the results, so the ranked lists are q0: g1, g2; q1: g0, g2; q2: g0, g1 (tie at 0
    # keeps gallery order).
    queries = np.array([[1.0, 0.1, 0.0], [0.1, 1.0, 0.0], [0.0, 0.0, 1.0]])
    gallery = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    labels = np.array(["a", "b", "b"])
    got = label_precision(queries, gallery, labels, labels, [1, 2, 5], name="style")
    # top-1: q0 g1:b (query a) -> 0; q1 g0:a -> 0; q2 g0:a -> 0. (1.0 if the own item counted.)
    assert got["style_precision@1"] == 0.0
    # top-2: q0 {g1:b, g2:b} -> 0; q1 {g0:a, g2:b} -> 1/2; q2 {g0:a, g1:b} -> 1/2
    assert got["style_precision@2"] == pytest.approx(1 / 3)
    # K = 5 is capped at the n - 1 = 2 other items: the same as K = 2.
    assert got["style_precision@5"] == pytest.approx(1 / 3)
    # Chance: share of the OTHER gallery items with the query's label: q0 0/2, q1 1/2, q2 1/2.
    for k in (1, 2, 5):
        assert got[f"chance_style_precision@{k}"] == pytest.approx((0 + 1 / 2 + 1 / 2) / 3)
    assert set(got) == {f"{prefix}style_precision@{k}" for prefix in ("", "chance_") for k in (1, 2, 5)}


def test_label_precision_by_hand_four_clips_and_a_custom_name():
    # Gallery = unit vectors e_0..e_3, labels a a b b; own item left out of each list:
    # q0 -> g1 .5 (a), g2 .2 (b), g3 0 (b)   q1 -> g3 .6 (b), g0 .3 (a), g2 0 (b)
    # q2 -> g1 .4 (a), g3 .4 (b) (tie: gallery order), g0 0 (a)   q3 -> g2 .7 (b), g0 0, g1 0 (a)
    queries = np.array([[1.0, 0.5, 0.2, 0.0], [0.3, 1.0, 0.0, 0.6], [0.0, 0.4, 1.0, 0.4], [0.0, 0.0, 0.7, 1.0]])
    labels = np.array(["a", "a", "b", "b"])
    got = label_precision(queries, np.eye(4), labels, labels, [1, 2, 3], name="genre")
    assert got["genre_precision@1"] == pytest.approx((1 + 0 + 0 + 1) / 4)
    assert got["genre_precision@2"] == pytest.approx(0.5)
    assert got["genre_precision@3"] == pytest.approx(1 / 3)  # all 3 others: exactly chance
    assert got["chance_genre_precision@1"] == pytest.approx(1 / 3)  # 1 of the 3 others shares the label


def test_label_precision_leaves_the_query_own_item_out():
    # Ten points evenly around the circle, labels alternating: every query's nearest gallery item
    # is its own (identical) embedding, the next two are its neighbours on the circle, whose label
    # is always the other one. Counting the own item would give precision@1 = 1.0 trivially.
    angles = 2 * np.pi * np.arange(10) / 10
    Z = np.stack([np.cos(angles), np.sin(angles)], axis=1)
    assert retrieval_ranks(Z, Z).tolist() == [1] * 10
    labels = np.array(["a", "b"] * 5)
    got = label_precision(Z, Z, labels, labels, [1, 2], name="style")
    assert got["style_precision@1"] == 0.0
    assert got["style_precision@2"] == 0.0  # both neighbours have the other label
    assert got["chance_style_precision@1"] == pytest.approx(4 / 9)  # 4 of the 9 others share it
    # One label for all: every other item fits, so precision and chance are both 1.
    same = label_precision(Z, Z, ["a"] * 10, ["a"] * 10, [1, 3], name="style")
    assert same["style_precision@1"] == same["style_precision@3"] == same["chance_style_precision@1"] == 1.0


def test_label_precision_matches_a_brute_force_count_without_the_own_item():
    rng = np.random.default_rng(3)
    n, ks = 25, [1, 3, 10]
    queries, gallery = rng.normal(size=(n, 5)), rng.normal(size=(n, 5))
    labels = rng.choice(list("xyz"), n)
    got = label_precision(queries, gallery, labels, labels, ks, name="style")
    q = queries / np.linalg.norm(queries, axis=1, keepdims=True)
    g = gallery / np.linalg.norm(gallery, axis=1, keepdims=True)
    sim = q @ g.T
    for k in ks:
        precisions = []
        for i in range(n):
            others = [j for j in np.argsort(-sim[i], kind="stable") if j != i][:k]
            precisions.append(np.mean(labels[others] == labels[i]))
        assert got[f"style_precision@{k}"] == pytest.approx(np.mean(precisions))
    chance = np.mean([(np.sum(labels == labels[i]) - 1) / (n - 1) for i in range(n)])
    assert got["chance_style_precision@1"] == pytest.approx(chance)


def test_label_precision_needs_aligned_query_and_gallery_of_at_least_two():
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="same clips"):
        label_precision(rng.normal(size=(4, 3)), rng.normal(size=(5, 3)), list("abcd"), list("abcde"), [1], name="style")
    with pytest.raises(ValueError, match="at least 2"):
        label_precision(rng.normal(size=(1, 3)), rng.normal(size=(1, 3)), ["a"], ["a"], [1], name="style")


# ------------------------------------------------------------------------------ rank matrix


def test_rank_matrix_by_hand_with_pessimistic_ties():
    # SIMILARITY rows: q0 .949 .316 0 0; q1 .894 .447 0 0; q2 0 .707 .707 0 (tie); q3 all .5 (tie).
    # R[i, j] = number of gallery items at least as similar to query i as item j.
    R = rank_matrix(QUERIES, GALLERY)
    assert R.dtype == np.int64
    assert R.tolist() == [
        [1, 2, 4, 4],
        [1, 2, 4, 4],
        [4, 2, 2, 4],
        [4, 4, 4, 4],
    ]
    assert np.diag(R).tolist() == retrieval_ranks(QUERIES, GALLERY).tolist() == [1, 2, 2, 4]


def test_rank_matrix_diagonal_is_retrieval_ranks():
    rng = np.random.default_rng(5)
    for n in (2, 7, 40):
        q, g = rng.normal(size=(n, 6)), rng.normal(size=(n, 6))
        np.testing.assert_array_equal(np.diag(rank_matrix(q, g)), retrieval_ranks(q, g))
        np.testing.assert_array_equal(np.diag(rank_matrix(q, q + 0.1 * g)), retrieval_ranks(q, q + 0.1 * g))
    Z = np.ones((5, 3))  # everything ties: the worst rank everywhere, as retrieval_ranks
    assert rank_matrix(Z, Z).tolist() == [[5] * 5] * 5


def test_rank_matrix_rows_are_consistent_rankings():
    rng = np.random.default_rng(6)
    q, g = rng.normal(size=(9, 4)), rng.normal(size=(30, 4))  # more gallery items than queries
    R = rank_matrix(q, g)
    assert R.shape == (9, 30)
    # Without ties every row is a permutation of 1..n, ordered as the similarities.
    assert all(sorted(row) == list(range(1, 31)) for row in R.tolist())
    order, _ = rank_gallery(q, g, top=30)  # gallery items by decreasing similarity
    np.testing.assert_array_equal(np.take_along_axis(R, order, axis=1), np.tile(np.arange(1, 31), (9, 1)))

    # Exact ties: each gallery row appears twice or three times, so equal items get equal
    # (pessimistic: the last position of their group) ranks, as scipy's rankdata(method="max").
    base = rng.integers(-3, 4, size=(6, 4)).astype(float)
    gallery = np.concatenate([base, base[:3], base[:1]])  # 10 items, 4 tie groups
    queries = rng.integers(-3, 4, size=(5, 4)).astype(float)
    R = rank_matrix(queries, gallery)
    unit = lambda a: a / np.linalg.norm(a, axis=1, keepdims=True)
    sim = unit(queries) @ unit(gallery).T
    np.testing.assert_array_equal(R, rankdata(-sim, method="max", axis=1).astype(int))
    for i in range(len(queries)):
        for j, k in [(0, 6), (1, 7), (2, 8), (0, 9)]:  # duplicates of the same item rank equally
            assert R[i, j] == R[i, k]
        assert R[i].max() == 10 and R[i].min() >= 1
        more_similar = sim[i][:, None] > sim[i][None, :]
        assert np.all((R[i][:, None] < R[i][None, :]) == more_similar)  # strictly more similar = better rank
