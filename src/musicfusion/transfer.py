"""Cross-modal transfer: map one modality's features onto another's, and score retrieval.

A *mapping* learns, from aligned training rows of a source modality ``X`` (n, d_src) and a
target modality ``Y`` (n, d_tgt), to put both into one comparable space:

* regression mappings (``ridge``, ``kernel_ridge``, ``random_forest``, ``mlp``) predict the
  target's reduced representation from the source: ``embed_source(X)`` is the prediction and
  ``embed_target(Y)`` the true target in the same space;
* shared-space mappings (``cca``, ``pls``) project both sides onto canonical components:
  ``embed_source(X)`` and ``embed_target(Y)`` are the two projections.

Every mapping follows the scikit-learn estimator contract (hyper-parameters only in
``__init__``, learned state in attributes ending with ``_``), so it can be cloned, pickled
and compared like any other estimator. Mappings are built from a ``transfer.methods`` entry
of params.yaml by :func:`build_mapping`, dispatched on its ``type`` key through
:data:`REGISTRY`.

Preprocessing, fitted on the training rows only and shared by all mappings:

1. each side is standardised (``StandardScaler``);
2. each side is reduced by PCA to ``pca_components`` (capped at
   ``min(n_samples - 1, n_features)``; ``svd_solver='full'`` so it is deterministic);
3. the source's PCA scores are divided by one scalar so that their mean per-component
   variance is 1. This keeps the PCA geometry (unlike whitening, which would inflate the
   low-variance, noisy directions) and puts inputs on the scale that ``KernelRidge``'s
   default ``gamma = 1 / n_features`` and the MLP's initialisation expect.

The standardised, PCA-reduced *target* space (step 2, no rescaling) is where regression
mappings predict and where :func:`mapping_metrics` is computed for them.

Retrieval (:func:`retrieval_ranks`, :func:`retrieval_metrics`, :func:`rank_gallery`) uses
cosine similarity between query and gallery embeddings.
"""

from __future__ import annotations

import warnings

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.cross_decomposition import CCA, PLSCanonical
from sklearn.decomposition import PCA
from sklearn.ensemble import RandomForestRegressor
from sklearn.exceptions import ConvergenceWarning
from sklearn.kernel_ridge import KernelRidge
from sklearn.linear_model import Ridge
from sklearn.metrics import r2_score
from sklearn.neural_network import MLPRegressor
from sklearn.preprocessing import StandardScaler
from sklearn.utils.validation import check_array, check_is_fitted


_EPS = 1e-12


# --------------------------------------------------------------------------------------------
# Shared preprocessing
# --------------------------------------------------------------------------------------------


def _as_2d(a, name: str) -> np.ndarray:
    """Validate a feature matrix and return it as float64 (1-d input becomes one column)."""
    a = np.asarray(a)
    if a.ndim == 1:
        a = a.reshape(-1, 1)
    return check_array(a, dtype=np.float64, input_name=name)


def _fit_reducer(a: np.ndarray, pca_components: int, seed: int) -> tuple[StandardScaler, PCA]:
    n_samples, n_features = a.shape
    k = max(1, min(int(pca_components), n_samples - 1, n_features))
    scaler = StandardScaler().fit(a)
    pca = PCA(n_components=k, svd_solver="full", random_state=seed).fit(scaler.transform(a))
    return scaler, pca


class _CrossModalMapping(BaseEstimator):
    """Standardise + PCA both modalities (fitted on train); subclasses add the mapping.

    Subclasses declare every hyper-parameter, including ``pca_components`` and
    ``random_state``, in their own ``__init__`` (the scikit-learn contract).
    """

    def _fit_preprocessing(self, X_src, Y_tgt) -> tuple[np.ndarray, np.ndarray]:
        X = _as_2d(X_src, "X_src")
        Y = _as_2d(Y_tgt, "Y_tgt")
        if X.shape[0] != Y.shape[0]:
            raise ValueError(
                f"X_src and Y_tgt must have the same rows (clips): {X.shape[0]} != {Y.shape[0]}"
            )
        if X.shape[0] < 2:
            raise ValueError(f"need at least 2 training rows, got {X.shape[0]}")
        if int(self.pca_components) < 1:
            raise ValueError(f"pca_components must be >= 1, got {self.pca_components}")
        self.n_features_in_ = X.shape[1]
        self.n_targets_in_ = Y.shape[1]
        self.src_scaler_, self.src_pca_ = _fit_reducer(X, self.pca_components, self.random_state)
        self.tgt_scaler_, self.tgt_pca_ = _fit_reducer(Y, self.pca_components, self.random_state)
        Xs = self.src_pca_.transform(self.src_scaler_.transform(X))
        self.src_scale_ = float(np.sqrt(max(Xs.var(axis=0).mean(), _EPS)))
        return Xs / self.src_scale_, self.tgt_pca_.transform(self.tgt_scaler_.transform(Y))

    def _reduce_source(self, X_src) -> np.ndarray:
        check_is_fitted(self, "src_pca_")
        X = _as_2d(X_src, "X_src")
        if X.shape[1] != self.n_features_in_:
            raise ValueError(f"X_src has {X.shape[1]} features, fitted on {self.n_features_in_}")
        return self.src_pca_.transform(self.src_scaler_.transform(X)) / self.src_scale_

    def _reduce_target(self, Y_tgt) -> np.ndarray:
        check_is_fitted(self, "tgt_pca_")
        Y = _as_2d(Y_tgt, "Y_tgt")
        if Y.shape[1] != self.n_targets_in_:
            raise ValueError(f"Y_tgt has {Y.shape[1]} features, fitted on {self.n_targets_in_}")
        return self.tgt_pca_.transform(self.tgt_scaler_.transform(Y))


# --------------------------------------------------------------------------------------------
# Regression mappings: predict the reduced target from the source
# --------------------------------------------------------------------------------------------


class _RegressionMapping(_CrossModalMapping):
    """y_reduced = f(x_reduced); embeddings live in the reduced, standardised target space."""

    def _make_regressor(self):  # pragma: no cover - abstract
        raise NotImplementedError

    def _fit_regressor(self, regressor, Xr: np.ndarray, Yr: np.ndarray):
        return regressor.fit(Xr, Yr)

    def fit(self, X_src, Y_tgt):
        Xr, Yr = self._fit_preprocessing(X_src, Y_tgt)
        self.regressor_ = self._fit_regressor(self._make_regressor(), Xr, Yr)
        return self

    def embed_source(self, X_src) -> np.ndarray:
        """The predicted target, in the reduced target space: shape (n, n_target_components)."""
        check_is_fitted(self, "regressor_")
        Z = self.regressor_.predict(self._reduce_source(X_src))
        return np.asarray(Z, dtype=np.float64).reshape(Z.shape[0], -1)

    def embed_target(self, Y_tgt) -> np.ndarray:
        """The true target, in the reduced target space: shape (n, n_target_components)."""
        return self._reduce_target(Y_tgt)

    def predict(self, X_src) -> np.ndarray:
        """Same as :meth:`embed_source`."""
        return self.embed_source(X_src)


class RidgeMapping(_RegressionMapping):
    """Linear map y = a x + b (``sklearn.linear_model.Ridge``)."""

    def __init__(self, pca_components=32, alpha=1.0, random_state=0):
        self.pca_components = pca_components
        self.alpha = alpha
        self.random_state = random_state

    def _make_regressor(self):
        return Ridge(alpha=self.alpha)


class KernelRidgeMapping(_RegressionMapping):
    """Nonlinear map y = f(x) (``sklearn.kernel_ridge.KernelRidge``).

    ``gamma=None`` means 1 / n_features, which suits the unit-mean-variance source inputs.
    """

    def __init__(
        self, pca_components=32, kernel="rbf", alpha=1.0, gamma=None, degree=3, coef0=1,
        random_state=0,
    ):
        self.pca_components = pca_components
        self.kernel = kernel
        self.alpha = alpha
        self.gamma = gamma
        self.degree = degree
        self.coef0 = coef0
        self.random_state = random_state

    def _make_regressor(self):
        return KernelRidge(
            kernel=self.kernel, alpha=self.alpha, gamma=self.gamma, degree=self.degree,
            coef0=self.coef0,
        )


class RandomForestMapping(_RegressionMapping):
    """Nonlinear map by a random forest (``sklearn.ensemble.RandomForestRegressor``)."""

    def __init__(self, pca_components=32, n_estimators=200, max_depth=None, random_state=0):
        self.pca_components = pca_components
        self.n_estimators = n_estimators
        self.max_depth = max_depth
        self.random_state = random_state

    def _make_regressor(self):
        return RandomForestRegressor(
            n_estimators=self.n_estimators, max_depth=self.max_depth,
            random_state=self.random_state, n_jobs=1,
        )


class MLPMapping(_RegressionMapping):
    """Deep map y = g(x; θ) (``sklearn.neural_network.MLPRegressor``, no early stopping).

    A ``ConvergenceWarning`` when ``max_iter`` is reached is silenced inside :meth:`fit` only.
    """

    def __init__(
        self, pca_components=32, hidden_layer_sizes=(128,), alpha=1e-4, max_iter=500,
        learning_rate_init=1e-3, random_state=0,
    ):
        self.pca_components = pca_components
        self.hidden_layer_sizes = hidden_layer_sizes
        self.alpha = alpha
        self.max_iter = max_iter
        self.learning_rate_init = learning_rate_init
        self.random_state = random_state

    def _make_regressor(self):
        return MLPRegressor(
            hidden_layer_sizes=tuple(int(h) for h in self.hidden_layer_sizes),
            alpha=self.alpha, max_iter=self.max_iter,
            learning_rate_init=self.learning_rate_init, early_stopping=False,
            random_state=self.random_state,
        )

    def _fit_regressor(self, regressor, Xr, Yr):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", category=ConvergenceWarning)
            return regressor.fit(Xr, Yr)


# --------------------------------------------------------------------------------------------
# Shared-space mappings: project both modalities onto canonical components
# --------------------------------------------------------------------------------------------


class _SharedSpaceMapping(_CrossModalMapping):
    """Both sides are projected onto ``n_components`` canonical components.

    The projections are standardised per component with the training rows' mean and standard
    deviation, so each component weighs the same in cosine similarity and the two sides are on
    one scale (for unit-variance u, v with correlation ρ, r2(v, u) = 2ρ - 1).
    ``n_components_`` is ``n_components`` capped at both reduced dimensions.
    """

    def _make_model(self, n_components: int):  # pragma: no cover - abstract
        raise NotImplementedError

    def fit(self, X_src, Y_tgt):
        Xr, Yr = self._fit_preprocessing(X_src, Y_tgt)
        if int(self.n_components) < 1:
            raise ValueError(f"n_components must be >= 1, got {self.n_components}")
        self.n_components_ = int(min(self.n_components, Xr.shape[1], Yr.shape[1], Xr.shape[0]))
        self.model_ = self._make_model(self.n_components_).fit(Xr, Yr)
        u, v = self.model_.transform(Xr, Yr)
        self.src_score_scaler_ = StandardScaler().fit(u)
        self.tgt_score_scaler_ = StandardScaler().fit(v)
        return self

    def embed_source(self, X_src) -> np.ndarray:
        """The source's canonical projection: shape (n, n_components_)."""
        check_is_fitted(self, "model_")
        u = self.model_.transform(self._reduce_source(X_src))
        return self.src_score_scaler_.transform(u)

    def embed_target(self, Y_tgt) -> np.ndarray:
        """The target's canonical projection: shape (n, n_components_)."""
        check_is_fitted(self, "model_")
        Yr = self._reduce_target(Y_tgt)
        # transform() needs an X; the y-scores do not depend on it.
        _, v = self.model_.transform(np.zeros((Yr.shape[0], self.model_.n_features_in_)), Yr)
        return self.tgt_score_scaler_.transform(v)


class CCAMapping(_SharedSpaceMapping):
    """Canonical correlation analysis (``sklearn.cross_decomposition.CCA``)."""

    def __init__(self, pca_components=32, n_components=8, max_iter=500, tol=1e-6, random_state=0):
        self.pca_components = pca_components
        self.n_components = n_components
        self.max_iter = max_iter
        self.tol = tol
        self.random_state = random_state

    def _make_model(self, n_components):
        return CCA(n_components=n_components, max_iter=self.max_iter, tol=self.tol)


class PLSMapping(CCAMapping):
    """Partial least squares, symmetric mode (``sklearn.cross_decomposition.PLSCanonical``);
    the same hyper-parameters as CCA."""

    def _make_model(self, n_components):
        return PLSCanonical(n_components=n_components, max_iter=self.max_iter, tol=self.tol)


REGISTRY: dict[str, type[_CrossModalMapping]] = {
    "ridge": RidgeMapping,
    "kernel_ridge": KernelRidgeMapping,
    "random_forest": RandomForestMapping,
    "mlp": MLPMapping,
    "cca": CCAMapping,
    "pls": PLSMapping,
}
"""``transfer.methods[*].type`` -> mapping class."""

_INJECTED = ("pca_components", "random_state")  # set by build_mapping, not by a method entry


def build_mapping(method_params: dict, pca_components: int, seed: int) -> _CrossModalMapping:
    """Build an unfitted mapping from one ``transfer.methods`` entry of params.yaml.

    ``method_params`` holds ``type`` and that type's hyper-parameters (e.g. ``alpha``); a
    ``cca``/``pls`` entry's ``n_components`` is the number of canonical components.
    ``pca_components`` (``transfer.pca_components``) is the PCA size of both sides and ``seed``
    the random state. An unknown type or key raises ``ValueError`` naming it.
    """
    params = dict(method_params)
    kind = params.pop("type", None)
    if kind is None:
        raise ValueError(
            f"transfer method has no 'type' (one of {sorted(REGISTRY)}): {method_params}"
        )
    if kind not in REGISTRY:
        raise ValueError(f"unknown transfer method type {kind!r}; known: {sorted(REGISTRY)}")
    cls = REGISTRY[kind]
    allowed = sorted(set(cls().get_params()) - set(_INJECTED))
    unknown = sorted(set(params) - set(allowed))
    if unknown:
        raise ValueError(
            f"unknown key(s) {unknown} for transfer method type {kind!r}; allowed: {allowed}"
        )
    return cls(pca_components=int(pca_components), random_state=int(seed), **params)


# --------------------------------------------------------------------------------------------
# Mapping quality
# --------------------------------------------------------------------------------------------


def _cosine_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Cosine similarity of every row of ``a`` with every row of ``b`` (zero rows give 0)."""
    a = _as_2d(a, "query_emb")
    b = _as_2d(b, "gallery_emb")
    if a.shape[1] != b.shape[1]:
        raise ValueError(f"embedding sizes differ: {a.shape[1]} != {b.shape[1]}")
    a = a / np.maximum(np.linalg.norm(a, axis=1, keepdims=True), _EPS)
    b = b / np.maximum(np.linalg.norm(b, axis=1, keepdims=True), _EPS)
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
    Z_true = _as_2d(Z_true, "Z_true")
    Z_pred = _as_2d(Z_pred, "Z_pred")
    if Z_true.shape != Z_pred.shape:
        raise ValueError(f"shapes differ: {Z_true.shape} != {Z_pred.shape}")
    t = Z_true / np.maximum(np.linalg.norm(Z_true, axis=1, keepdims=True), _EPS)
    p = Z_pred / np.maximum(np.linalg.norm(Z_pred, axis=1, keepdims=True), _EPS)
    return {
        "r2": float(r2_score(Z_true, Z_pred, multioutput="variance_weighted")),
        "cosine_mean": float(np.mean(np.sum(t * p, axis=1))),
    }


def canonical_correlations(Z_src, Z_tgt) -> np.ndarray:
    """Pearson correlation of each column of ``Z_src`` with the same column of ``Z_tgt``."""
    a = _as_2d(Z_src, "Z_src")
    b = _as_2d(Z_tgt, "Z_tgt")
    if a.shape != b.shape:
        raise ValueError(f"shapes differ: {a.shape} != {b.shape}")
    a = a - a.mean(axis=0)
    b = b - b.mean(axis=0)
    denom = np.maximum(np.linalg.norm(a, axis=0) * np.linalg.norm(b, axis=0), _EPS)
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


def label_precision(query_emb, gallery_emb, query_labels, gallery_labels, ks, name: str = "style") -> dict:
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
