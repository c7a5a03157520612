"""Retrieval metrics between modalities: ranks, recall@K, MRR and class-level precision, by hand
and against brute-force counts (musicfusion.crossmodal.retrieval)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import rankdata

from musicfusion.crossmodal.retrieval import (
    label_precision,
    rank_gallery,
    rank_matrix,
    recall_curve,
    retrieval_metrics,
    retrieval_ranks,
)

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
