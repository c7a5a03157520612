"""Fusion methods: one scikit-learn-style classifier per method, registered by its params type.

Every method takes ``X`` as a dict mapping modality name to a (n_clips, d) feature matrix (rows
aligned across modalities), standardises each modality on the training data, and follows the
scikit-learn estimator contract (``clone``, pickling, ``classes_``, ``predict_proba``). ``fit``
also accepts the validation split; only methods that choose something on it use it.

What a method learns with is its ``learners``: a learner spec (musicfusion.models.learners) per
modality, or one under ``joint`` for methods that learn from the joined modalities.

A clip without a modality has a row of NaN in that modality's matrix (musicfusion.data.clip_table
loads natural absences so; musicfusion.evaluation.robustness removes modalities so). Every method handles
it by design: a per-modality learner is fitted on the clips that have its modality; a
single-modality baseline gives no prediction (a row of NaN probabilities, musicfusion.evaluation.metrics
.NO_PREDICTION) for a clip without it; late fusion renormalises its weights over the modalities
a clip has; early fusion (and the networks) impute the training mean with an absence indicator
per modality; stacking gives its meta-learner each absent modality's training prior and an
absence indicator. ``modality_dropout`` trains early fusion and stacking's meta-learner on
extra copies of the training clips with modalities removed at random, so the indicators are
learned from; without absences in training a constant indicator would teach nothing, and none
is added.

Adding a method: write one class here and register it in musicfusion.models.methods.REGISTRY.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Mapping

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, TransformerMixin
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import KFold, StratifiedKFold, cross_val_predict
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.validation import check_is_fitted

from musicfusion import MODALITIES
from musicfusion.evaluation.metrics import NO_PREDICTION, score
from musicfusion.models.learners import MULTITASK_LEARNERS, make_learner

log = logging.getLogger(__name__)

# The learner key of methods that fit one model on the joined modalities.
JOINT = "joint"
# Cap on the stacking meta-regression's L-BFGS iterations (a few dozen columns: far more than enough).
META_MAX_ITER = 1000
# Learned weights are reported to this many decimals (grid steps are far coarser).
LEARNED_DECIMALS = 6


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
        finite = np.isfinite(a)
        partial = finite.any(axis=1) & ~finite.all(axis=1)
        if partial.any() or (np.isinf(a).any()):
            row = int(np.flatnonzero(partial | np.isinf(a).any(axis=1))[0])
            raise ValueError(f"modality {m!r}, row {row}: features must be finite, or NaN across the "
                             "whole row for a clip without the modality")
    return arrays


def presence(arrays: list[np.ndarray]) -> np.ndarray:
    """(n_clips, n_modalities) booleans: which clips have each modality (a row not all NaN)."""
    return np.column_stack([~np.isnan(a).all(axis=1) if a.shape[1] else np.ones(len(a), bool) for a in arrays])


def decide(proba: np.ndarray, classes) -> tuple[np.ndarray, np.ndarray]:
    """The predicted class and its probability per row; a row of NaN (nothing to predict from)
    gives NO_PREDICTION and a NaN confidence."""
    proba = np.asarray(proba, dtype=np.float64)
    missing = np.isnan(proba).any(axis=1)
    best = np.argmax(np.where(missing[:, None], 0.0, proba), axis=1)
    predicted = np.asarray(classes, dtype=object)[best]
    predicted[missing] = NO_PREDICTION
    confidence = np.where(missing, np.nan, proba[np.arange(len(best)), best])
    return predicted, confidence


def drop_modalities(n_clips: int, n_modalities: int, rate: float, random_state) -> np.ndarray:
    """Presence of the extra training copies of modality dropout: each modality of each clip
    removed with probability ``rate``; copies that lose nothing are left out (they would only
    repeat clips), and a copy never loses every modality (one drawn at random is kept).

    Returns an (n_copies, n_modalities) boolean mask and the index of each copy's source clip."""
    rng = np.random.default_rng(random_state)
    kept = rng.random((n_clips, n_modalities)) >= rate
    rescued = rng.integers(n_modalities, size=n_clips)
    nothing = ~kept.any(axis=1)
    kept[nothing, rescued[nothing]] = True
    lost = ~kept.all(axis=1)
    return kept[lost], np.flatnonzero(lost)


def _with_dropout(arrays: list[np.ndarray], y, rate: float, random_state) -> tuple[list[np.ndarray], np.ndarray]:
    """The training clips followed by their modality-dropout copies (NaN rows where removed)."""
    if not rate:
        return arrays, np.asarray(y)
    kept, source = drop_modalities(len(arrays[0]), len(arrays), rate, random_state)
    copies = [np.where(kept[:, [j]], a[source], np.nan) for j, a in enumerate(arrays)]
    y = np.asarray(y)
    return [np.vstack([a, c]) for a, c in zip(arrays, copies)], np.concatenate([y, y[source]])


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
    # True for methods with one learner on the joined modalities (``learners[JOINT]``).
    joint = False
    # The features the method reads (musicfusion.plumbing.paths.FEATURE_KINDS).
    feature_kind = "content"

    def _learner(self, unit: str, scale: bool = True):
        if unit not in (self.learners or {}):
            raise ValueError(f"no learner for {unit!r}: learners has {sorted(self.learners or {})}")
        return make_learner(self.learners[unit], self.random_state, scale=scale)

    def _fit_per_modality(self, X, y) -> None:
        """One standardised learner per modality, in ``models_``, fitted on the clips that have it."""
        arrays, y = _select(X, self.modalities), np.asarray(y)
        have = presence(arrays)
        self.classes_ = np.unique(y)
        self.models_ = {}
        for j, (m, x) in enumerate(zip(self.modalities, arrays)):
            if not have[:, j].any():
                raise ValueError(f"no training clip has modality {m!r}: its learner cannot be fitted")
            self.models_[m] = self._learner(m).fit(x[have[:, j]], y[have[:, j]])

    def _proba_per_modality(self, X) -> list[np.ndarray]:
        """Each modality's probabilities over ``classes_`` (a class its learner never saw: 0),
        a row of NaN for a clip without the modality."""
        check_is_fitted(self, "models_")
        out = []
        for m, x in zip(self.modalities, _select(X, self.modalities)):
            model, proba = self.models_[m], np.full((len(x), len(self.classes_)), np.nan)
            have = presence([x])[:, 0]
            if have.any():
                columns = np.searchsorted(self.classes_, model.classes_)
                proba[have] = 0.0
                proba[np.ix_(have, columns)] = model.predict_proba(x[have])
            out.append(proba)
        return out

    def predict(self, X) -> np.ndarray:
        return decide(self.predict_proba(X), self.classes_)[0]

    def learned_params(self) -> dict:
        """What fitting chose that a reader wants beside the metrics (logged to MLflow)."""
        return {}

    def validation_choices(self) -> dict:
        """Settings that fitting chose on the validation split, to keep when the method is refitted
        on training and validation clips together (which leaves no validation to choose on)."""
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


class AbsenceImputer(BaseEstimator, TransformerMixin):
    """Fill an absent modality's block (NaN after standardisation) with 0, its training mean,
    and append one absence indicator (1 = absent) per modality that training clips lacked.

    A modality every training clip had gets no indicator: the column would be constant, and
    the clean-data model stays exactly the model without this step.
    """

    def __init__(self, block_sizes=()):
        self.block_sizes = block_sizes

    def _absent(self, X) -> np.ndarray:
        edges = np.cumsum([0, *(int(n) for n in self.block_sizes)])
        if X.shape[1] != edges[-1]:
            raise ValueError(f"blocks of {list(self.block_sizes)} columns do not add up to {X.shape[1]}")
        return np.column_stack([np.isnan(X[:, a:b]).all(axis=1) if b > a else np.zeros(len(X), bool)
                                for a, b in zip(edges[:-1], edges[1:])])

    def fit(self, X, y=None):
        self.indicated_ = np.flatnonzero(self._absent(X).any(axis=0))
        return self

    def transform(self, X):
        check_is_fitted(self, "indicated_")
        absent = self._absent(X)
        filled = np.where(np.isnan(X), 0.0, X)
        if not len(self.indicated_):
            return filled
        return np.hstack([filled, absent[:, self.indicated_].astype(filled.dtype)])


def _concatenated_pipeline(arrays: list[np.ndarray], block_scaling: bool, model) -> Pipeline:
    """Standardise the concatenated modalities (optionally block-scaled; NaN, an absent
    modality, is left out of the statistics), impute absences, then ``model``."""
    sizes = tuple(a.shape[1] for a in arrays)
    steps = [StandardScaler()]
    if block_scaling:
        steps.append(BlockWeights(sizes))
    return make_pipeline(*steps, AbsenceImputer(sizes), model)


class SingleModality(_Fusion):
    """Baseline: one learner on one modality's standardised features."""

    def __init__(self, modalities=("audio",), learners=None, random_state=None):
        self.modalities = modalities
        self.learners = learners
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
    (:func:`feature_kind_of`).
    """

    feature_kind = "control"


class EarlyFusion(_Fusion):
    """Feature-level fusion: concatenated modalities -> one learner (``learners["joint"]``).

    A StandardScaler on the concatenation standardises each column with its training mean and
    deviation, exactly as scaling each modality separately would.
    """

    joint = True

    def __init__(self, modalities=MODALITIES, learners=None, block_scaling=True, modality_dropout=0.0,
                 random_state=None):
        self.modalities = modalities
        self.learners = learners
        self.block_scaling = block_scaling
        self.modality_dropout = modality_dropout
        self.random_state = random_state

    def _fit_joint(self, X, y) -> None:
        arrays, y = _with_dropout(_select(X, self.modalities), y, self.modality_dropout, self.random_state)
        model = self._learner(JOINT, scale=False)
        self.model_ = _concatenated_pipeline(arrays, self.block_scaling, model).fit(np.hstack(arrays), y)

    def fit(self, X, y, X_val=None, y_val=None):
        self._fit_joint(X, _labels_1d(y))
        self.classes_ = self.model_.classes_
        return self

    def predict_proba(self, X):
        check_is_fitted(self, "model_")
        return self.model_.predict_proba(np.hstack(_select(X, self.modalities)))


class MultiTaskFusion(EarlyFusion):
    """Multi-task learning: the concatenated modalities -> one network with a shared hidden
    representation and one softmax head per task (musicfusion.models.network), trained on the sum of
    the per-task cross-entropies.

    y is 2-D (n_clips, n_tasks); ``predict_proba`` returns one array per task, ``predict`` a
    (n_clips, n_tasks) array and ``classes_`` one array of labels per task. The single-task
    counterpart is EarlyFusion with the same learner: the same network with one head.
    """

    multitask = True

    def fit(self, X, y, X_val=None, y_val=None):
        name = (self.learners or {}).get(JOINT, {}).get("name")
        if name not in MULTITASK_LEARNERS:
            raise ValueError(f"multitask needs a learner that fits several tasks at once "
                             f"({list(MULTITASK_LEARNERS)}), got {name!r}")
        y = np.asarray(y)
        if y.ndim != 2:
            raise ValueError(f"multitask needs y of shape (n_clips, n_tasks), got {y.shape}")
        self._fit_joint(X, y)
        self.classes_ = self.model_[-1].classes_
        return self

    def predict(self, X) -> np.ndarray:
        return np.column_stack([c[np.argmax(p, axis=1)] for c, p in zip(self.classes_, self.predict_proba(X))])


class LateFusion(_Fusion):
    """Decision-level fusion: a weighted average of per-modality learners' probabilities.

    Unless ``weights`` are given, the weights are the point of the simplex grid (step
    ``weight_step``) whose fused predictions score best on the validation split by
    ``selection_metric``; ties go to the most uniform weights, then to the first in grid order.
    The per-modality models are then trained on the training split only (the validation split
    picks the weights and nothing else), so ``val_score_`` is the score the weights were chosen
    on. Given ``weights`` (a dict modality -> weight), fitting needs no validation split.
    """

    def __init__(self, modalities=MODALITIES, learners=None, weight_step=0.1, weights=None,
                 selection_metric="recall_macro", random_state=None):
        self.modalities = modalities
        self.learners = learners
        self.weight_step = weight_step
        self.weights = weights
        self.selection_metric = selection_metric
        self.random_state = random_state

    def fit(self, X, y, X_val=None, y_val=None):
        if self.weights is not None:
            if sorted(self.weights) != sorted(self.modalities):
                raise ValueError(f"late_fusion weights {self.weights} do not name the modalities {self.modalities}")
            self._fit_per_modality(X, _labels_1d(y))
            self.weights_, self.val_score_ = {m: float(self.weights[m]) for m in self.modalities}, None
            return self
        if X_val is None or y_val is None:
            raise ValueError("late_fusion chooses its modality weights on validation data: "
                             "pass X_val and y_val to fit")
        grid = simplex_grid(len(self.modalities), self.weight_step)
        self._fit_per_modality(X, _labels_1d(y))
        probas = np.stack(self._proba_per_modality(X_val))  # (n_modalities, n_val, n_classes)
        y_val = _labels_1d(y_val)
        best_key, best = None, None
        for index, weights in enumerate(grid):
            value = score(self.selection_metric, y_val, decide(self._fuse(weights, probas), self.classes_)[0])
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

    def validation_choices(self) -> dict:
        check_is_fitted(self, "weights_")
        return {"weights": dict(self.weights_)}

    @staticmethod
    def _fuse(weights: np.ndarray, probas: np.ndarray) -> np.ndarray:
        """The weighted average of (n_modalities, n_clips, n_classes) probabilities, the weights
        renormalised over the modalities each clip has (equal weights if those all weigh 0; NaN
        for a clip with none)."""
        have = ~np.isnan(probas).any(axis=2)  # (n_modalities, n_clips)
        fused = np.tensordot(weights, np.nan_to_num(probas), axes=1)
        partial = ~have.all(axis=0)
        if partial.any():  # complete clips keep the plain weighted sum, bit for bit
            w = weights[:, None] * have[:, partial]
            total = w.sum(axis=0)
            w = np.where(total > 0, w / np.where(total > 0, total, 1.0), have[:, partial] / np.maximum(have[:, partial].sum(axis=0), 1))
            fused[partial] = np.einsum("mc,mck->ck", w, np.nan_to_num(probas[:, partial]))
            fused[partial & ~have.any(axis=0)] = np.nan
        return fused

    def predict_proba(self, X) -> np.ndarray:
        weights = np.array([self.weights_[m] for m in self.modalities])
        return self._fuse(weights, np.stack(self._proba_per_modality(X)))


class Stacking(_Fusion):
    """Per-modality learners whose out-of-fold probabilities feed a meta logistic regression.

    The meta model (inverse regularisation ``meta_C``) learns from out-of-fold probabilities on
    the training split; at predict time the base models are the ones refitted on the whole
    training split. A clip without a modality gives the meta model that modality's training
    class prior and an absence indicator; ``modality_dropout`` adds copies of the training
    clips' meta inputs with modalities removed at random, so the meta model learns what an
    absence means.
    """

    def __init__(self, modalities=MODALITIES, learners=None, cv_folds=5, meta_C=1.0, modality_dropout=0.0,
                 random_state=None):
        self.modalities = modalities
        self.learners = learners
        self.cv_folds = cv_folds
        self.meta_C = meta_C
        self.modality_dropout = modality_dropout
        self.random_state = random_state

    def _folds(self, y: np.ndarray, warn: bool = False):
        """Stratified folds need every class in every fold: with a class smaller than cv_folds
        we fall back to as many folds as that class has members; a class seen once cannot be
        stratified at all, so then plain shuffled folds are used (a fold may miss that class,
        and its out-of-fold probability for it is 0)."""
        smallest = int(np.unique(y, return_counts=True)[1].min())
        if smallest >= 2:
            n_folds = min(int(self.cv_folds), smallest)
            folds = StratifiedKFold(n_folds, shuffle=True, random_state=self.random_state)
        else:
            n_folds = min(int(self.cv_folds), len(y))
            folds = KFold(n_folds, shuffle=True, random_state=self.random_state)
        if warn and (n_folds < self.cv_folds or smallest < 2):
            log.warning("stacking: smallest class has %d examples; using %d %s folds instead of %d",
                        smallest, n_folds, "stratified" if smallest >= 2 else "unstratified", self.cv_folds)
        return n_folds, folds

    def _out_of_fold(self, modality: str, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Out-of-fold probabilities over ``classes_`` of the clips that have the modality."""
        seen = np.unique(y)
        proba = cross_val_predict(self._learner(modality), x, y, cv=self._folds(y)[1], method="predict_proba")
        out = np.zeros((len(x), len(self.classes_)))
        out[:, np.searchsorted(self.classes_, seen)] = proba
        return out

    def _meta_input(self, probas: list[np.ndarray], have: np.ndarray) -> np.ndarray:
        """Each modality's probabilities (its training prior where absent), then the absence
        indicators of the modalities that training clips lacked."""
        filled = [np.where(have[:, [j]], np.nan_to_num(p), self.priors_[j]) for j, p in enumerate(probas)]
        return np.hstack([*filled, (~have[:, self.indicated_]).astype(np.float64)])

    def fit(self, X, y, X_val=None, y_val=None):
        y = _labels_1d(y)
        arrays = _select(X, self.modalities)
        have = presence(arrays)
        self.classes_ = np.unique(y)
        self.n_folds_ = self._folds(y, warn=True)[0]
        out_of_fold = []
        for j, (m, x) in enumerate(zip(self.modalities, arrays)):
            if not have[:, j].any():
                raise ValueError(f"no training clip has modality {m!r}: its learner cannot be fitted")
            proba = np.full((len(y), len(self.classes_)), np.nan)
            proba[have[:, j]] = self._out_of_fold(m, x[have[:, j]], y[have[:, j]])
            out_of_fold.append(proba)
        self.priors_ = [np.mean(y[have[:, j]][:, None] == self.classes_, axis=0) for j in range(len(arrays))]
        meta_y = y
        if self.modality_dropout:
            kept, source = drop_modalities(len(y), len(arrays), self.modality_dropout, self.random_state)
            out_of_fold = [np.vstack([p, np.where(kept[:, [j]], p[source], np.nan)]) for j, p in enumerate(out_of_fold)]
            have, meta_y = np.vstack([have, kept & have[source]]), np.concatenate([y, y[source]])
        self.indicated_ = np.flatnonzero(~have.all(axis=0))
        self.meta_ = LogisticRegression(C=self.meta_C, max_iter=META_MAX_ITER, random_state=self.random_state)
        self.meta_.fit(self._meta_input(out_of_fold, have), meta_y)
        self._fit_per_modality(X, y)
        return self

    def predict_proba(self, X) -> np.ndarray:
        probas = self._proba_per_modality(X)
        have = np.column_stack([~np.isnan(p).any(axis=1) for p in probas])
        return self.meta_.predict_proba(self._meta_input(probas, have))

    def learned_params(self) -> dict:
        check_is_fitted(self, "n_folds_")
        return {"n_folds": self.n_folds_}
