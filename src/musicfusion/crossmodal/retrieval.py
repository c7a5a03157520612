"""Retrieval between modalities: ranks, recall@K, MRR and class-level precision of query
embeddings against a gallery (cosine similarity), and how well a mapping fits its target.
"""

from __future__ import annotations

import numpy as np
from sklearn.metrics import r2_score
from sklearn.utils.validation import check_array

# Floor of a norm or a variance that divides.
EPS = 1e-12


def as_matrix(a, name: str) -> np.ndarray:
    """Validate a feature matrix and return it as float64 (1-d input becomes one column)."""
    a = np.asarray(a)
    if a.ndim == 1:
        a = a.reshape(-1, 1)
    return check_array(a, dtype=np.float64, input_name=name)


def _cosine_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Cosine similarity of every row of ``a`` with every row of ``b`` (zero rows give 0)."""
    a = as_matrix(a, "query_emb")
    b = as_matrix(b, "gallery_emb")
    if a.shape[1] != b.shape[1]:
        raise ValueError(f"embedding sizes differ: {a.shape[1]} != {b.shape[1]}")
    a = a / np.maximum(np.linalg.norm(a, axis=1, keepdims=True), EPS)
    b = b / np.maximum(np.linalg.norm(b, axis=1, keepdims=True), EPS)
    return a @ b.T


def mapping_metrics(Z_true, Z_pred) -> dict:
    """How well predicted embeddings match the true ones, row by row.

    ``r2``: ``sklearn.metrics.r2_score(Z_true, Z_pred, multioutput='variance_weighted')``;
    ``cosine_mean``: mean over rows of the cosine similarity between ``Z_pred[i]`` and
    ``Z_true[i]``. For regression mappings pass ``embed_target(Y)`` and ``embed_source(X)``
    (true and predicted reduced targets). For ``cca``/``pls`` pass the two canonical
    projections (``embed_target(Y)`` as ``Z_true``, ``embed_source(X)`` as ``Z_pred``); the
    numbers then measure their agreement (see :class:`_SharedSpaceMapping`).
    """
    Z_true = as_matrix(Z_true, "Z_true")
    Z_pred = as_matrix(Z_pred, "Z_pred")
    if Z_true.shape != Z_pred.shape:
        raise ValueError(f"shapes differ: {Z_true.shape} != {Z_pred.shape}")
    t = Z_true / np.maximum(np.linalg.norm(Z_true, axis=1, keepdims=True), EPS)
    p = Z_pred / np.maximum(np.linalg.norm(Z_pred, axis=1, keepdims=True), EPS)
    return {
        "r2": float(r2_score(Z_true, Z_pred, multioutput="variance_weighted")),
        "cosine_mean": float(np.mean(np.sum(t * p, axis=1))),
    }


def canonical_correlations(Z_src, Z_tgt) -> np.ndarray:
    """Pearson correlation of each column of ``Z_src`` with the same column of ``Z_tgt``."""
    a = as_matrix(Z_src, "Z_src")
    b = as_matrix(Z_tgt, "Z_tgt")
    if a.shape != b.shape:
        raise ValueError(f"shapes differ: {a.shape} != {b.shape}")
    a = a - a.mean(axis=0)
    b = b - b.mean(axis=0)
    denom = np.maximum(np.linalg.norm(a, axis=0) * np.linalg.norm(b, axis=0), EPS)
    return np.sum(a * b, axis=0) / denom


# --------------------------------------------------------------------------------------------
# Retrieval
# --------------------------------------------------------------------------------------------


def rank_matrix(query_emb, gallery_emb) -> np.ndarray:
    """``R[i, j]``: the 1-based rank of gallery item j for query i by cosine similarity.

    Ties are resolved pessimistically: an item is ranked after every item with equal
    similarity, so its rank is the number of gallery items whose similarity is >= its own.
    """
    sim = _cosine_matrix(query_emb, gallery_emb)
    ordered = np.sort(sim, axis=1)
    n = sim.shape[1]
    return np.stack([n - np.searchsorted(row_sorted, row, side="left")
                     for row_sorted, row in zip(ordered, sim)]).astype(np.int64)


def retrieval_ranks(query_emb, gallery_emb) -> np.ndarray:
    """1-based rank of gallery item i for query i, by cosine similarity (descending).

    Row i of ``query_emb`` and row i of ``gallery_emb`` are the same clip: the ranks are the
    diagonal of :func:`rank_matrix`, ties pessimistic, so a constant (or all-zero) embedding
    gets rank n for every query.
    """
    ranks = rank_matrix(query_emb, gallery_emb)
    if ranks.shape[0] != ranks.shape[1]:
        raise ValueError(f"query and gallery must hold the same clips in the same order: {ranks.shape}")
    return np.diag(ranks).copy()


def retrieval_metrics(ranks, ks, n_gallery: int | None = None) -> dict:
    """Recall@K, median rank and MRR of ``ranks``, with their chance levels.

    ``n_gallery`` defaults to ``len(ranks)`` (every query's true item is in one gallery of that
    size). Chance levels for a gallery of n items: ``chance_recall@K = min(K, n) / n``,
    ``chance_median_rank = (n + 1) / 2``, ``chance_mrr = (1/n) * sum_{r=1..n} 1/r``.
    All values are Python floats.
    """
    ranks = np.asarray(ranks, dtype=np.int64).ravel()
    if ranks.size == 0:
        raise ValueError("no ranks")
    n = int(n_gallery if n_gallery is not None else ranks.size)
    if ranks.min() < 1 or ranks.max() > n:
        raise ValueError(f"ranks must lie in 1..{n}")
    out: dict[str, float] = {}
    for k in ks:
        k = int(k)
        out[f"recall@{k}"] = float(np.mean(ranks <= k))
    out["median_rank"] = float(np.median(ranks))
    out["mrr"] = float(np.mean(1.0 / ranks))
    for k in ks:
        k = int(k)
        out[f"chance_recall@{k}"] = float(min(k, n) / n)
    out["chance_median_rank"] = float((n + 1) / 2)
    out["chance_mrr"] = float(np.sum(1.0 / np.arange(1, n + 1)) / n)
    return out


def recall_curve(ranks, max_k: int) -> np.ndarray:
    """Recall@k for k = 1..max_k, as a float64 array of length ``max_k``."""
    ranks = np.asarray(ranks, dtype=np.int64).ravel()
    ks = np.arange(1, int(max_k) + 1)
    return (ranks[None, :] <= ks[:, None]).mean(axis=1)


def rank_gallery(query_emb, gallery_emb, top: int) -> tuple[np.ndarray, np.ndarray]:
    """Top-``top`` gallery items for each query by cosine similarity.

    Returns ``(indices, scores)``, both of shape (n_queries, min(top, n_gallery)), sorted by
    decreasing score; equal scores keep gallery order (lower index first).
    """
    sim = _cosine_matrix(query_emb, gallery_emb)
    top = min(int(top), sim.shape[1])
    if top < 1:
        raise ValueError(f"top must be >= 1, got {top}")
    order = np.argsort(-sim, axis=1, kind="stable")[:, :top]
    return order, np.take_along_axis(sim, order, axis=1)


def label_precision(query_emb, gallery_emb, query_labels, gallery_labels, ks, name: str) -> dict:
    """Class-level retrieval: the share of each query's top-K gallery items with the query's label.

    Query i and gallery item i are the same clip, and that item is left out of query i's
    results: finding its own pair is what recall@K measures, not that it *fits* (same style).
    Chance is the share of the other gallery items with the query's label, averaged over
    queries. An empty label is unknown: such a query is not scored, such an item never counts
    as sharing a label. Keys: ``{name}_precision@K`` and ``chance_{name}_precision@K``.
    """
    query_labels, gallery_labels = np.asarray(query_labels), np.asarray(gallery_labels)
    sim = _cosine_matrix(query_emb, gallery_emb)
    if sim.shape[0] != sim.shape[1] or sim.shape[1] < 2:
        raise ValueError(f"query and gallery must hold the same clips, at least 2, in the same order: {sim.shape}")
    np.fill_diagonal(sim, -np.inf)  # the query's own item never counts
    order = np.argsort(-sim, axis=1, kind="stable")
    known = query_labels.astype(str) != ""
    if not known.any():
        raise ValueError("no query has a label: class-level precision cannot be measured")
    same = (gallery_labels[None, :] == query_labels[:, None]) & known[:, None]
    others = same.sum(axis=1) - same[np.arange(len(same)), np.arange(len(same))]
    chance = float(np.mean(others[known] / (sim.shape[1] - 1)))
    out = {}
    for k in ks:
        top = order[:, :min(int(k), sim.shape[1] - 1)]
        hits = np.take_along_axis(same, top, axis=1)
        out[f"{name}_precision@{k}"] = float(np.mean(hits[known]))
        out[f"chance_{name}_precision@{k}"] = chance
    return out
