"""Fusion methods: one scikit-learn-style classifier per method, registered by its params type.

Every method takes ``X`` as a dict mapping modality name to a (n_clips, d) feature matrix (rows
aligned across modalities), standardises each modality on the training data, and follows the
scikit-learn estimator contract (``clone``, pickling, ``classes_``, ``predict_proba``). ``fit``
also accepts the validation split; only methods that choose something on it use it.

Adding a method: write one class here and add one line to REGISTRY.
"""

from __future__ import annotations

import inspect
import itertools
import logging
import warnings
from collections.abc import Mapping

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, TransformerMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import KFold, StratifiedKFold, cross_val_predict
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.validation import check_is_fitted

from musicfusion import MODALITIES
from musicfusion.metrics import score

log = logging.getLogger(__name__)

# Default cap on L-BFGS iterations: standardised features with L2 converge well before it.
LR_MAX_ITER = 1000
# Learned weights are reported to this many decimals (grid steps are far coarser).
LEARNED_DECIMALS = 6


def _logistic(C: float, max_iter: int, random_state) -> Pipeline:
    """Standardise (fitted on train) + logistic regression: the base classifier of every method."""
    return make_pipeline(StandardScaler(),
                         LogisticRegression(C=C, max_iter=max_iter, random_state=random_state))


def _select(X, modalities) -> list[np.ndarray]:
    """The matrices of ``modalities`` from ``X``, as float64, checked for shape and alignment."""
    if not isinstance(X, Mapping):
        raise TypeError(f"X must be a dict modality -> features, got {type(X).__name__}")
    modalities = list(modalities or [])
    if not modalities or len(set(modalities)) != len(modalities):
        raise ValueError(f"modalities must be a non-empty list without repeats, got {modalities}")
    missing = [m for m in modalities if m not in X]
    if missing:
        raise ValueError(f"X has no features for modality {missing}; it has {sorted(X)}")
    arrays = [np.asarray(X[m], dtype=np.float64) for m in modalities]
    for m, a in zip(modalities, arrays):
        if a.ndim != 2 or a.shape[0] != arrays[0].shape[0]:
            raise ValueError(f"modality {m!r}: expected a 2-D matrix with {arrays[0].shape[0]} "
                             f"rows aligned with {modalities[0]!r}, got shape {a.shape}")
    return arrays


def _labels_1d(y) -> np.ndarray:
    y = np.asarray(y)
    if y.ndim != 1:
        raise ValueError(f"y must be 1-D (one task), got shape {y.shape}")
    return y


def simplex_grid(n_parts: int, step: float) -> np.ndarray:
    """All weight vectors of ``n_parts`` entries, multiples of ``step``, summing to 1.

    Rows in lexicographic order of their integer counts (the grid order used for tie-breaking).
    """
    n = int(round(1 / step)) if step > 0 else 0
    if n < 1 or not np.isclose(n * step, 1.0):
        raise ValueError(f"weight_step must be 1/k for a positive integer k, got {step}")
    counts = [c + (n - sum(c),) for c in itertools.product(range(n + 1), repeat=n_parts - 1)
              if sum(c) <= n]
    return np.array(counts, dtype=np.int64).reshape(-1, n_parts) / n


class _Fusion(ClassifierMixin, BaseEstimator):
    """Shared plumbing. Subclasses set ``classes_`` in ``fit`` and define ``predict_proba``."""

    # True only for estimators that take a 2-D y (n_clips, n_tasks) and predict all tasks.
    multitask = False
    # The features the method reads (musicfusion.featurestore.FEATURE_SETS).
    feature_set = "content"

    def _fit_per_modality(self, X, y) -> None:
        """One standardised logistic regression per modality, in ``models_``."""
        self.models_ = {m: _logistic(self.C, self.max_iter, self.random_state).fit(x, y)
                        for m, x in zip(self.modalities, _select(X, self.modalities))}
        self.classes_ = self.models_[self.modalities[0]].classes_

    def _proba_per_modality(self, X) -> list[np.ndarray]:
        check_is_fitted(self, "models_")
        return [self.models_[m].predict_proba(x)
                for m, x in zip(self.modalities, _select(X, self.modalities))]

    def predict(self, X) -> np.ndarray:
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]

    def learned_params(self) -> dict:
        """What fitting chose that a reader wants beside the metrics (logged to MLflow)."""
        return {}


class BlockWeights(BaseEstimator, TransformerMixin):
    """Scale each modality's block of standardised columns in inverse proportion to sqrt(width).

    Concatenated as they are, a 5,000-column text block outweighs a 120-column audio block in
    any L2-penalised model; after this scaling every modality carries the same total variance
    (the 'block scaling' of multiblock analysis), so none wins by its width alone. The factor
    sqrt(total / (n_blocks * width)) keeps the mean column variance at 1, so C, alpha and the
    MLP's learning rate keep their usual scale.
    """

    def __init__(self, block_sizes=()):
        self.block_sizes = block_sizes

    def fit(self, X, y=None):
        total, n_blocks = sum(int(n) for n in self.block_sizes), len(self.block_sizes)
        self.weights_ = np.concatenate([np.full(int(n), np.sqrt(total / (n_blocks * n)))
                                        for n in self.block_sizes])
        if X.shape[1] != len(self.weights_):
            raise ValueError(f"blocks of {list(self.block_sizes)} columns do not add up to {X.shape[1]}")
        return self

    def transform(self, X):
        check_is_fitted(self, "weights_")
        return X * self.weights_


def _concatenated_pipeline(arrays: list[np.ndarray], block_scaling: bool, model) -> Pipeline:
    """Standardise the concatenated modalities (optionally block-scaled), then ``model``."""
    steps = [StandardScaler()]
    if block_scaling:
        steps.append(BlockWeights(tuple(a.shape[1] for a in arrays)))
    return make_pipeline(*steps, model)


class SingleModality(_Fusion):
    """Baseline: a logistic regression on one modality's standardised features."""

    def __init__(self, modalities=("audio",), C=1.0, max_iter=LR_MAX_ITER, random_state=None):
        self.modalities = modalities
        self.C = C
        self.max_iter = max_iter
        self.random_state = random_state

    def fit(self, X, y, X_val=None, y_val=None):
        if len(self.modalities) != 1:
            raise ValueError(f"single_modality takes exactly one modality, got {self.modalities}")
        self._fit_per_modality(X, _labels_1d(y))
        return self

    def predict_proba(self, X) -> np.ndarray:
        return self._proba_per_modality(X)[0]


class ShortcutControl(SingleModality):
    """Control: the single-modality learner on a modality's trivial features (its shortcut
    controls: length, loudness, voices...), so a reader sees what a shortcut alone achieves.

    The estimator is SingleModality's; only the features it is given differ
    (:func:`feature_set_of`).
    """

    feature_set = "control"


class EarlyFusion(_Fusion):
    """Feature-level fusion: concatenated modalities -> one logistic regression.

    A StandardScaler on the concatenation standardises each column with its training mean and
    deviation, exactly as scaling each modality separately would.
    """

    def __init__(self, modalities=MODALITIES, C=1.0, max_iter=LR_MAX_ITER, block_scaling=True,
                 random_state=None):
        self.modalities = modalities
        self.C = C
        self.max_iter = max_iter
        self.block_scaling = block_scaling
        self.random_state = random_state

    def fit(self, X, y, X_val=None, y_val=None):
        arrays = _select(X, self.modalities)
        self.model_ = _concatenated_pipeline(arrays, self.block_scaling, LogisticRegression(
            C=self.C, max_iter=self.max_iter, random_state=self.random_state))
        self.model_.fit(np.hstack(arrays), _labels_1d(y))
        self.classes_ = self.model_.classes_
        return self

    def predict_proba(self, X) -> np.ndarray:
        check_is_fitted(self, "model_")
        return self.model_.predict_proba(np.hstack(_select(X, self.modalities)))


class LateFusion(_Fusion):
    """Decision-level fusion: a weighted average of per-modality logistic regressions.

    The weights are the point of the simplex grid (step ``weight_step``) whose fused predictions
    score best on the validation split by ``selection_metric``; ties go to the most uniform
    weights, then to the first in grid order. The per-modality models are trained on the
    training split only (the validation split picks the weights and nothing else), so the
    validation score ``val_score_`` is the one the weights were chosen on.
    """

    def __init__(self, modalities=MODALITIES, C=1.0, max_iter=LR_MAX_ITER, weight_step=0.1,
                 selection_metric="recall_macro", random_state=None):
        self.modalities = modalities
        self.C = C
        self.max_iter = max_iter
        self.weight_step = weight_step
        self.selection_metric = selection_metric
        self.random_state = random_state

    def fit(self, X, y, X_val=None, y_val=None):
        if X_val is None or y_val is None:
            raise ValueError("late_fusion chooses its modality weights on validation data: "
                             "pass X_val and y_val to fit")
        grid = simplex_grid(len(self.modalities), self.weight_step)
        self._fit_per_modality(X, _labels_1d(y))
        probas = np.stack(self._proba_per_modality(X_val))  # (n_modalities, n_val, n_classes)
        y_val = _labels_1d(y_val)
        best_key, best = None, None
        for index, weights in enumerate(grid):
            fused = np.tensordot(weights, probas, axes=1)
            value = score(self.selection_metric, y_val, self.classes_[np.argmax(fused, axis=1)])
            # Rounded so that equal scores reached through different sums compare equal;
            # the sum of squared weights is smallest for the most uniform vector.
            key = (-round(value, 12), round(float(np.sum(weights ** 2)), 12), index)
            if best_key is None or key < best_key:
                best_key, best = key, (weights, value)
        self.weights_ = {m: float(w) for m, w in zip(self.modalities, best[0])}
        self.val_score_ = best[1]
        return self

    def learned_params(self) -> dict:
        check_is_fitted(self, "weights_")
        return {"weights": {m: round(w, LEARNED_DECIMALS) for m, w in self.weights_.items()},
                "val_score": self.val_score_}

    def predict_proba(self, X) -> np.ndarray:
        weights = np.array([self.weights_[m] for m in self.modalities])
        return np.tensordot(weights, np.stack(self._proba_per_modality(X)), axes=1)


class Stacking(_Fusion):
    """Per-modality logistic regressions whose out-of-fold probabilities feed a meta regression.

    The meta model (same C) learns from out-of-fold probabilities on the training split; at
    predict time the base models are the ones refitted on the whole training split.
    """

    def __init__(self, modalities=MODALITIES, C=1.0, max_iter=LR_MAX_ITER, cv_folds=5,
                 random_state=None):
        self.modalities = modalities
        self.C = C
        self.max_iter = max_iter
        self.cv_folds = cv_folds
        self.random_state = random_state

    def fit(self, X, y, X_val=None, y_val=None):
        y = _labels_1d(y)
        smallest = int(np.unique(y, return_counts=True)[1].min())
        # Stratified folds need every class in every fold: with a class smaller than cv_folds
        # we fall back to as many folds as that class has members; a class seen once cannot be
        # stratified at all, so then plain shuffled folds are used (a fold may miss that class,
        # and its out-of-fold probability for it is 0).
        if smallest >= 2:
            self.n_folds_ = min(int(self.cv_folds), smallest)
            folds = StratifiedKFold(self.n_folds_, shuffle=True, random_state=self.random_state)
        else:
            self.n_folds_ = min(int(self.cv_folds), len(y))
            folds = KFold(self.n_folds_, shuffle=True, random_state=self.random_state)
        if self.n_folds_ < self.cv_folds or smallest < 2:
            log.warning("stacking: smallest class has %d examples; using %d %s folds instead of %d",
                        smallest, self.n_folds_, "stratified" if smallest >= 2 else "unstratified",
                        self.cv_folds)
        out_of_fold = [
            cross_val_predict(_logistic(self.C, self.max_iter, self.random_state), x, y,
                              cv=folds, method="predict_proba")
            for x in _select(X, self.modalities)]
        self.meta_ = LogisticRegression(C=self.C, max_iter=self.max_iter,
                                        random_state=self.random_state)
        self.meta_.fit(np.hstack(out_of_fold), y)
        self._fit_per_modality(X, y)
        return self

    def predict_proba(self, X) -> np.ndarray:
        return self.meta_.predict_proba(np.hstack(self._proba_per_modality(X)))

    def learned_params(self) -> dict:
        check_is_fitted(self, "n_folds_")
        return {"n_folds": self.n_folds_}


class MLPFusion(_Fusion):
    """A multilayer perceptron on the concatenated standardised modalities.

    ``multitask=False``: y is 1-D; an ordinary softmax MLPClassifier on that one task.
    ``multitask=True``: y is 2-D (n_clips, n_tasks) of labels. One network with a shared hidden
    representation is trained on the concatenation of each task's one-hot block (a multilabel
    indicator, one sigmoid output per class); ``predict_proba`` returns one array per task, each
    block normalised to sum to 1, ``predict`` a (n_clips, n_tasks) array, and ``classes_`` one
    array of labels per task. Both settings share the hidden layers, so they can be compared.
    """

    def __init__(self, modalities=MODALITIES, hidden_layer_sizes=(128,), alpha=1e-3,
                 max_iter=400, multitask=False, block_scaling=True, random_state=None):
        self.modalities = modalities
        self.hidden_layer_sizes = hidden_layer_sizes
        self.alpha = alpha
        self.max_iter = max_iter
        self.multitask = multitask
        self.block_scaling = block_scaling
        self.random_state = random_state

    def fit(self, X, y, X_val=None, y_val=None):
        y = np.asarray(y)
        if self.multitask:
            if y.ndim != 2:
                raise ValueError(f"multitask mlp needs y of shape (n_clips, n_tasks), got {y.shape}")
            classes = [np.unique(column) for column in y.T]
            target = np.hstack([(column[:, None] == c[None, :]).astype(np.int64)
                                for column, c in zip(y.T, classes)])
        else:
            target = _labels_1d(y)
        arrays = _select(X, self.modalities)
        self.model_ = _concatenated_pipeline(arrays, self.block_scaling, MLPClassifier(
            hidden_layer_sizes=tuple(self.hidden_layer_sizes), alpha=self.alpha,
            max_iter=self.max_iter, random_state=self.random_state))
        with warnings.catch_warnings():
            # Stopping at max_iter is a deliberate budget, not a failure.
            warnings.simplefilter("ignore", ConvergenceWarning)
            self.model_.fit(np.hstack(arrays), target)
        self.classes_ = classes if self.multitask else self.model_.classes_
        return self

    def predict_proba(self, X):
        check_is_fitted(self, "model_")
        proba = self.model_.predict_proba(np.hstack(_select(X, self.modalities)))
        if not self.multitask:
            return proba
        bounds = np.cumsum([len(c) for c in self.classes_])[:-1]
        blocks = np.split(proba, bounds, axis=1)
        return [b / np.maximum(b.sum(axis=1, keepdims=True), np.finfo(float).tiny) for b in blocks]

    def predict(self, X) -> np.ndarray:
        if not self.multitask:
            return super().predict(X)
        return np.column_stack([c[np.argmax(p, axis=1)]
                                for c, p in zip(self.classes_, self.predict_proba(X))])


REGISTRY: dict[str, type[_Fusion]] = {
    "single_modality": SingleModality,
    "control": ShortcutControl,
    "early_fusion": EarlyFusion,
    "late_fusion": LateFusion,
    "stacking": Stacking,
    "mlp": MLPFusion,
}


def feature_set_of(method_params: dict) -> str:
    """Which features a ``methods`` entry reads: its modalities' own, or their shortcut controls."""
    return getattr(REGISTRY.get(method_params.get("type")), "feature_set", "content")


def is_control(method_params: dict) -> bool:
    return feature_set_of(method_params) == "control"


def build_method(method_params: dict, seed: int) -> _Fusion:
    """The unfitted estimator for one ``methods`` entry of params.yaml, seeded with ``seed``."""
    settings = dict(method_params)
    kind = settings.pop("type", None)
    if kind not in REGISTRY:
        raise ValueError(f"unknown fusion method type {kind!r}; known: {sorted(REGISTRY)}")
    cls = REGISTRY[kind]
    allowed = set(inspect.signature(cls.__init__).parameters) - {"self", "random_state"}
    unknown = sorted(set(settings) - allowed)
    if unknown:
        raise ValueError(f"fusion method type {kind!r}: unknown setting(s) {unknown}; "
                         f"allowed: {sorted(allowed)} (the seed comes from params.yaml `seed`)")
    return cls(**settings, random_state=seed)
