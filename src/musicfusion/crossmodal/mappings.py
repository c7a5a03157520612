"""Cross-modal mappings: map one modality's features onto another's (retrieval metrics:
:mod:`musicfusion.crossmodal.retrieval`).

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
mappings predict and where ``retrieval.mapping_metrics`` is computed for them.
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
from sklearn.neural_network import MLPRegressor
from sklearn.preprocessing import StandardScaler
from sklearn.utils.validation import check_is_fitted

from musicfusion.crossmodal.retrieval import EPS, as_matrix

# --------------------------------------------------------------------------------------------
# Shared preprocessing
# --------------------------------------------------------------------------------------------


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
        X = as_matrix(X_src, "X_src")
        Y = as_matrix(Y_tgt, "Y_tgt")
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
        self.src_scale_ = float(np.sqrt(max(Xs.var(axis=0).mean(), EPS)))
        return Xs / self.src_scale_, self.tgt_pca_.transform(self.tgt_scaler_.transform(Y))

    def _reduce_source(self, X_src) -> np.ndarray:
        check_is_fitted(self, "src_pca_")
        X = as_matrix(X_src, "X_src")
        if X.shape[1] != self.n_features_in_:
            raise ValueError(f"X_src has {X.shape[1]} features, fitted on {self.n_features_in_}")
        return self.src_pca_.transform(self.src_scaler_.transform(X)) / self.src_scale_

    def _reduce_target(self, Y_tgt) -> np.ndarray:
        check_is_fitted(self, "tgt_pca_")
        Y = as_matrix(Y_tgt, "Y_tgt")
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
