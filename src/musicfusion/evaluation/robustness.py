"""Robustness: every trained method under absent and noisy modalities, on its own test folds.

Two sweeps re-score each fold's tuned model (trained on clean clips, musicfusion.models.train) on that
fold's test clips:

- **absent**: a modality removed from a fraction of the test clips (``robustness.
  absent_fractions``). The clips are drawn per fold and modality from a seeded permutation, so
  the clips removed at 25% are also removed at 50% (the curve is not jittered by the draw).
- **noise**: a modality's media degraded (musicfusion.evaluation.perturb) and its features extracted again,
  at each level of ``robustness.noise`` (musicfusion.evaluation.perturbed_features). Level 0 is the
  clean clip.

Clips whose modality is naturally absent (a user dataset's empty manifest path) are scored in a
row of their own: perturbation ``natural_absence``, the test clips lacking that modality.

A method that does not read a modality is unaffected by it, and its rows say so by repeating its
clean score. Every row carries the four metrics and ``coverage``, the share of clips the method
gave a prediction for (a single-modality baseline gives none without its modality: an error for
every metric, musicfusion.evaluation.metrics.NO_PREDICTION).

Means and intervals over the folds use the corrected resampled t (as the summary does).
*Relative robustness* is the area under a method's curve (score against severity, severity
spaced evenly from clean, 0, to the last level, 1) divided by its clean score: 1 is unaffected,
and the score's share kept on average over the sweep otherwise.
"""

from __future__ import annotations

import copy
import hashlib

import numpy as np
import pandas as pd

from musicfusion.data.clip_table import has_modality
from musicfusion.evaluation.metrics import METRICS, NO_PREDICTION, classification_metrics
from musicfusion.evaluation.perturb import CLEAN_LEVEL, condition_key, curve_levels, keyed_rng, perturbations_of
from musicfusion.evaluation.stats import corrected_resampled_t
from musicfusion.features.matrices import rows_of
from musicfusion.features.registry import per_shard
from musicfusion.models.train import labelled, prediction_rows, task_probas

ABSENT = "absent"
NATURAL_ABSENCE = "natural_absence"
FOLD_COLUMNS = ["method", "task", "perturbation", "modality", "level", "repetition", "fold", "n_test", "n_train",
                *METRICS, "coverage"]
SCORES = (*METRICS, "coverage")
ROBUSTNESS_COLUMNS = ["method", "task", "perturbation", "modality", "level", "n_folds", "n_test",
                   *[f"{m}{suffix}" for m in SCORES for suffix in ("", "_ci_low", "_ci_high")]]
RELATIVE_COLUMNS = ["method", "task", "perturbation", "modality", "clean", "worst", "area", "relative_robustness"]


def absence_order(seed: int, fold: int, modality: str, n: int) -> np.ndarray:
    """The seeded order in which one fold's ``n`` test clips lose ``modality``."""
    return keyed_rng(seed, ABSENT, fold, modality).permutation(n)


def _scores(frame: pd.DataFrame, remembered: dict | None = None) -> dict:
    """The metrics and coverage of one task's predictions; with ``remembered``, predictions scored
    before (the same true and predicted labels, in order: most perturbations change none or few of
    a fold's predictions) are not scored again."""
    true, predicted = frame["true"].to_numpy(), frame["predicted"].to_numpy()
    key = (tuple(true), tuple(predicted))
    if remembered is not None and key in remembered:
        return dict(remembered[key])
    scores = {**classification_metrics(true, predicted), "coverage": float(np.mean(predicted != NO_PREDICTION))}
    if remembered is not None:
        remembered[key] = dict(scores)
    return scores


class _RememberedProba:
    """A fitted per-modality learner whose ``predict_proba`` is remembered by the bytes of its input.

    A sweep scores a fusion model again under every perturbation of every modality, and each time
    its other modalities' learners see the same rows: they give the same probabilities, so they are
    computed once and returned as they were then (a copy), bit for bit what computing them again
    gives."""

    def __init__(self, learner):
        self.learner = learner
        self.classes_ = learner.classes_
        self._seen: dict = {}

    def predict_proba(self, X):
        X = np.ascontiguousarray(X)
        key = (X.shape, X.dtype.str, hashlib.blake2b(X.view(np.uint8), digest_size=16).digest())
        if key not in self._seen:
            self._seen[key] = self.learner.predict_proba(X)
        return self._seen[key].copy()


def remembering(model):
    """``model`` with each per-modality learner's probabilities remembered (a shallow copy: the fitted
    model is untouched); a model without per-modality learners as it is."""
    learners = getattr(model, "models_", None)
    if not isinstance(learners, dict):
        return model
    remembered = copy.copy(model)
    remembered.models_ = {m: _RememberedProba(learner) for m, learner in learners.items()}
    return remembered


def sweep_fold(models: dict, X: dict, clips: pd.DataFrame, tasks: list[str], method_modalities, *,
               modalities, absent_fractions, noisy: dict, seed: int, fold: int) -> pd.DataFrame:
    """One fold's rows of both sweeps for one method.

    ``models`` maps each task to the fold's tuned model (a multi-task model under every task);
    ``X`` and ``clips`` are the fold's clean features (NaN rows for absent modalities) and clip
    table; ``modalities`` are the dataset's (each is swept, whether the method reads it or not);
    ``noisy`` maps (perturbation, modality, level) to that modality's degraded matrix, rows as
    in ``clips`` (None for a modality the method does not read).
    """
    test = (clips["split"] == "test").to_numpy()
    n_train = int(clips["split"].isin(["train", "validation"]).sum())
    repetition = int(clips["repetition"].iloc[0]) if "repetition" in clips.columns else 0
    rows, done = [], set()
    for task in tasks:
        model = models[task]
        group = list(tasks) if getattr(model, "multitask", False) else [task]
        if id(model) in done:
            continue
        done.add(id(model))
        model, scored = remembering(model), {}
        mask = test & labelled(clips, group)
        part = clips[mask].reset_index(drop=True)
        X_test = {m: np.asarray(x, dtype=np.float64)[mask] for m, x in X.items()}

        def score(features: dict, chosen=None) -> dict[str, dict]:
            """Per task of the group: scores of the model on ``features`` (restricted to ``chosen``)."""
            predictions = prediction_rows(task_probas(model, features, group), part, "test", "robustness")
            if chosen is not None:
                predictions = predictions[np.tile(chosen, len(group))]
            return {t: _scores(g, scored) for t, g in predictions.groupby("task", sort=False)}

        def emit(perturbation, modality, level, scores, n):
            for t, values in scores.items():
                rows.append({"task": t, "perturbation": perturbation, "modality": modality, "level": float(level),
                             "repetition": repetition, "fold": fold, "n_test": n, "n_train": n_train, **values})

        clean = score(X_test)
        n_test = len(part)
        for modality in modalities:
            order = absence_order(seed, fold, modality, n_test)
            for fraction in sorted({0.0, *map(float, absent_fractions)}):
                if modality not in method_modalities or fraction == 0:
                    emit(ABSENT, modality, fraction, clean, n_test)
                    continue
                removed = {m: x.copy() for m, x in X_test.items()}
                removed[modality][order[: int(round(fraction * n_test))]] = np.nan
                emit(ABSENT, modality, fraction, score(removed), n_test)
            lacking = ~has_modality(part, modality)
            if lacking.any():
                emit(NATURAL_ABSENCE, modality, 1.0, score(X_test, lacking), int(lacking.sum()))
        for (perturbation, modality, level), matrix in noisy.items():
            if modality not in method_modalities:
                emit(perturbation, modality, level, clean, n_test)
                continue
            degraded = {**X_test, modality: np.asarray(matrix, dtype=np.float64)[mask]}
            emit(perturbation, modality, level, score(degraded), n_test)
        for perturbation, modality in sorted({(p, m) for p, m, _ in noisy}):
            emit(perturbation, modality, CLEAN_LEVEL[perturbation], clean, n_test)
    return pd.DataFrame(rows)


# --- summaries ----------------------------------------------------------------------------------

def summarize_robustness(per_fold: pd.DataFrame, confidence: float) -> pd.DataFrame:
    """Mean and corrected interval over the folds of every score, per method, task and condition."""
    keys = ["method", "task", "perturbation", "modality", "level"]
    out = []
    for key, group in per_fold.groupby(keys, sort=False):
        ratio = float((group["n_test"] / group["n_train"]).mean())
        row = dict(zip(keys, key))
        row.update(n_folds=int(group["fold"].nunique()), n_test=int(group["n_test"].sum()))
        for name in SCORES:
            stats = corrected_resampled_t(group[name].to_numpy(dtype=float), ratio, confidence)
            row.update({name: stats["mean"], f"{name}_ci_low": stats["ci_low"], f"{name}_ci_high": stats["ci_high"]})
        out.append(row)
    return pd.DataFrame(out, columns=ROBUSTNESS_COLUMNS)


def severity(levels: list[float], perturbation: str) -> np.ndarray:
    """Positions of a curve's levels from clean (0) to the last level (1): the fractions
    themselves for the absent sweep, evenly spaced ranks for the noise sweeps (whose levels are
    listed from mild to severe after the clean level, musicfusion.evaluation.perturb.CLEAN_LEVEL)."""
    levels = np.asarray(levels, dtype=float)
    if perturbation == ABSENT:
        return levels / levels.max() if levels.max() > 0 else levels
    return np.arange(len(levels)) / max(len(levels) - 1, 1)


def relative_robustness(summary: pd.DataFrame, metric: str, noise: dict) -> pd.DataFrame:
    """Per method, task and curve: clean and worst score, the area under the curve (trapezoids
    over :func:`severity`) and that area relative to the clean score."""
    rows = []
    curves = summary[summary["perturbation"] != NATURAL_ABSENCE]
    for (method, task, perturbation, modality), curve in curves.groupby(
            ["method", "task", "perturbation", "modality"], sort=False):
        if perturbation == ABSENT:
            curve = curve.sort_values("level")
        else:  # clean first, then the configured levels in their order (mild to severe)
            order = curve_levels(perturbation, noise)
            curve = curve.set_index("level").loc[order].reset_index()
        x, y = severity(curve["level"].tolist(), perturbation), curve[metric].to_numpy(dtype=float)
        area = float(np.sum((x[1:] - x[:-1]) * (y[1:] + y[:-1]) / 2.0))
        clean = float(y[0])
        rows.append({"method": method, "task": task, "perturbation": perturbation, "modality": modality,
                     "clean": clean, "worst": float(y[-1]), "area": area,
                     "relative_robustness": area / clean if clean > 0 else float("nan")})
    return pd.DataFrame(rows, columns=RELATIVE_COLUMNS)


def noisy_features(perturbed: dict[str, dict], clips: pd.DataFrame, method_modalities, feature_kind: str,
                   noise: dict, text_vectorizer=None) -> dict:
    """(perturbation, modality, level) -> the degraded matrix of one of the method's modalities,
    rows as in ``clips``. ``perturbed`` maps each modality to its gathered perturbed npz; text
    content is the fold's TF-IDF (``text_vectorizer``, fitted on the fold's clean training texts)
    of the degraded documents."""
    from musicfusion.features import text

    out = {}
    for modality in method_modalities:
        for perturbation, levels in perturbations_of(modality, noise).items():
            for index, level in enumerate(levels):
                documents = feature_kind == "content" and not per_shard(modality)  # degraded texts, not features
                key = condition_key("text" if documents else feature_kind, perturbation, index)
                matrix = perturbed[modality][key]
                if documents:
                    matrix = text.transform(text_vectorizer, [str(d) for d in matrix])[0]
                out[(perturbation, modality, level)] = rows_of(clips, modality, perturbed[modality]["clip_ids"],
                                                               matrix, where=f"perturbed {key}")
    return out


def method_sweep(method: str, method_params: dict, fold_models: list[dict], folds, tasks: list[str], *,
                 modalities, perturbed: dict[str, dict], noise: dict, absent_fractions, seed: int,
                 text_vectorizer_of=None) -> pd.DataFrame:
    """Both sweeps of one method over every fold: FOLD_COLUMNS rows.

    ``folds`` yields each fold's clean (X, clips) as training read them (every clip, NaN rows
    for absent modalities); ``fold_models`` are the fold's tuned models (musicfusion.models.train);
    ``text_vectorizer_of(clips)`` fits a fold's TF-IDF when the method reads text.
    """
    from musicfusion.models.methods import feature_kind_of

    feature_kind, frames = feature_kind_of(method_params), []
    reads = list(method_params["modalities"])
    for index, (X, clips) in enumerate(folds):
        vectorizer = (text_vectorizer_of(clips) if feature_kind == "content" and "text" in reads
                      and perturbations_of("text", noise) else None)
        noisy = noisy_features(perturbed, clips, [m for m in reads if m in perturbed], feature_kind, noise, vectorizer)
        # The curves of modalities the method does not read: its clean score at every level.
        noisy.update({(p, m, level): None for m in modalities if m not in reads
                      for p, levels in perturbations_of(m, noise).items() for level in levels})
        frames.append(sweep_fold(fold_models[index], X, clips, tasks, reads, modalities=modalities,
                                 absent_fractions=absent_fractions, noisy=noisy, seed=seed, fold=index))
    table = pd.concat(frames, ignore_index=True)
    table.insert(0, "method", method)
    return table[FOLD_COLUMNS]
