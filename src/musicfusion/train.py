"""Train: fit one registered fusion method on each fold's training clips, predict validation and test."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from musicfusion.fusion import build_method

PREDICTION_COLUMNS = ["clip_id", "split", "task", "true", "predicted", "confidence"]
PREDICTED_SPLITS = ("validation", "test")
CONFIDENCE_DECIMALS = 6
# Integer columns of predictions.csv (read back as text by musicfusion.io.read_table).
INTEGER_COLUMNS = ("repetition", "fold", "n_train")


def typed_predictions(frame: pd.DataFrame) -> pd.DataFrame:
    """A predictions.csv as read from disk, its integer columns as integers."""
    return frame.astype({column: int for column in INTEGER_COLUMNS})


def _subset(X: dict, mask: np.ndarray) -> dict:
    return {m: x[mask] for m, x in X.items()}


def _build(method_params: dict, seed: int, selection_metric: str | None):
    model = build_method(method_params, seed)
    if selection_metric and "selection_metric" in model.get_params():
        model.set_params(selection_metric=selection_metric)  # evaluate.selection_metric in params.yaml
    return model


def labelled(clips: pd.DataFrame, tasks) -> np.ndarray:
    """Clips labelled for every one of ``tasks`` (an empty label means unlabelled)."""
    return np.logical_and.reduce([(clips[task] != "").to_numpy() for task in tasks])


def fit_method(method_params: dict, tasks: list[str], X: dict, clips: pd.DataFrame, seed: int,
               selection_metric: str | None = None) -> dict:
    """Fitted models keyed by task (a multi-task model appears under every task).

    Each task learns from the clips labelled for it; a multi-task model from the clips labelled
    for every task.
    """
    probe = _build(method_params, seed, selection_metric)
    if getattr(probe, "multitask", False):
        known = labelled(clips, tasks)
        train, val = known & (clips["split"] == "train").to_numpy(), known & (clips["split"] == "validation").to_numpy()
        Y = clips[list(tasks)].to_numpy()
        probe.fit(_subset(X, train), Y[train], _subset(X, val), Y[val])
        return {task: probe for task in tasks}
    models = {}
    for task in tasks:
        known = labelled(clips, [task])
        train = known & (clips["split"] == "train").to_numpy()
        val = known & (clips["split"] == "validation").to_numpy()
        y = clips[task].to_numpy()
        model = _build(method_params, seed, selection_metric)
        model.fit(_subset(X, train), y[train], _subset(X, val), y[val])
        models[task] = model
    return models


def predict_table(models: dict, tasks: list[str], X: dict, clips: pd.DataFrame) -> pd.DataFrame:
    """Predictions and their probability for every validation and test clip labelled for the task."""
    frames = []
    for t, task in enumerate(tasks):
        mask = clips["split"].isin(PREDICTED_SPLITS).to_numpy() & labelled(clips, [task])
        Xs, rows = _subset(X, mask), clips[mask]
        model = models[task]
        if getattr(model, "multitask", False):  # fitted on Y with one column per task, in order
            proba, classes = model.predict_proba(Xs)[t], model.classes_[t]
        else:
            proba, classes = model.predict_proba(Xs), model.classes_
        best = np.argmax(proba, axis=1)
        frames.append(pd.DataFrame({
            "clip_id": rows["clip_id"].to_numpy(), "split": rows["split"].to_numpy(), "task": task,
            "true": rows[task].to_numpy(), "predicted": np.asarray(classes)[best],
            "confidence": np.round(proba[np.arange(len(best)), best], CONFIDENCE_DECIMALS)}))
    return pd.concat(frames, ignore_index=True)[PREDICTION_COLUMNS]


def train(method_params: dict, tasks: list[str], folds: Iterable[tuple[dict, pd.DataFrame]], seed: int,
          selection_metric: str | None = None) -> tuple[dict, pd.DataFrame]:
    """Fit and predict on every fold of the cross-validation.

    The i-th item of ``folds`` is fold i's features and clip table
    (musicfusion.featurestore.load_features, with ``repetition`` and ``fold`` columns from
    musicfusion.splits.cv_split). Returns the models of fold 0, keyed by task, and the
    predictions of every fold, with its index in ``fold``, its ``repetition`` and its number of
    training clips ``n_train``.

    The model seed is the same in every fold: folds measure how results move with the data.
    """
    frames, kept = [], None
    for index, (X, clips) in enumerate(folds):
        models = fit_method(method_params, tasks, X, clips, seed, selection_metric)
        predictions = predict_table(models, tasks, X, clips)
        predictions.insert(0, "fold", index)
        predictions.insert(0, "repetition", int(clips["repetition"].iloc[0]))
        # The corrected t-test weighs each fold's variance by its test/training size ratio.
        predictions["n_train"] = int((clips["split"] == "train").sum())
        frames.append(predictions)
        if index == 0:
            kept = models
    return kept, pd.concat(frames, ignore_index=True)
