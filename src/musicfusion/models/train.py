"""Train: tune and fit one registered fusion method on each fold, predict validation and test clips.

In every fold the method's learner settings are searched (musicfusion.models.tuning) by fitting on the
fold's training clips and scoring its validation clips; the chosen configuration, and the
untuned one beside it, are then refitted on training and validation clips together (the whole
training fold) and score the test clips once.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from musicfusion.evaluation.metrics import score
from musicfusion.models.fusion import decide, presence
from musicfusion.models.methods import MethodSpec
from musicfusion.models.tuning import search

PREDICTION_COLUMNS = ["clip_id", "split", "configuration", "task", "true", "predicted", "confidence"]
CONFIGURATIONS = ("tuned", "untuned")
CONFIDENCE_DECIMALS = 6
# Integer columns of predictions.csv (read back as text by musicfusion.plumbing.files.read_table).
INTEGER_COLUMNS = ("repetition", "fold", "n_train")


def typed_predictions(frame: pd.DataFrame, configuration: str = "tuned") -> pd.DataFrame:
    """The rows of one configuration (``tuned`` or ``untuned``) of a predictions.csv as read from
    disk, its integer columns as integers."""
    if configuration not in CONFIGURATIONS:
        raise ValueError(f"configuration must be one of {CONFIGURATIONS}, got {configuration!r}")
    rows = frame[frame["configuration"] == configuration]
    return rows.astype({column: int for column in INTEGER_COLUMNS}).reset_index(drop=True)


def _subset(X: dict, mask: np.ndarray) -> dict:
    return {m: x[mask] for m, x in X.items()}


@dataclass(frozen=True)
class Tuning:
    """How every method is tuned: the trial budget and the selection metric (params.yaml
    ``tuning`` and ``evaluate.selection_metric``)."""

    n_trials: int
    startup_trials: int
    selection_metric: str


def _build(spec: MethodSpec, seed: int, tuning: Tuning, values=None, fixed=None):
    model = spec.build(seed, values, fixed)
    if "selection_metric" in model.get_params():
        model.set_params(selection_metric=tuning.selection_metric)  # evaluate.selection_metric in params.yaml
    return model


def labelled(clips: pd.DataFrame, tasks) -> np.ndarray:
    """Clips labelled for every one of ``tasks`` (an empty label means unlabelled)."""
    return np.logical_and.reduce([(clips[task] != "").to_numpy() for task in tasks])


def task_probas(model, X: dict, tasks: list[str]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Per task: (probabilities, classes) of a fitted model (a multi-task model has all tasks)."""
    if getattr(model, "multitask", False):
        return {task: (p, c) for task, p, c in zip(tasks, model.predict_proba(X), model.classes_)}
    return {tasks[0]: (model.predict_proba(X), model.classes_)}


def prediction_rows(probas: dict, clips: pd.DataFrame, split: str, configuration: str) -> pd.DataFrame:
    """Rows of predictions.csv from each task's (probabilities, classes) for ``clips``; a clip
    the method had nothing to predict from gets NO_PREDICTION (empty) and no confidence."""
    frames = []
    for task, (proba, classes) in probas.items():
        predicted, confidence = decide(proba, classes)
        frames.append(pd.DataFrame({
            "clip_id": clips["clip_id"].to_numpy(), "split": split, "configuration": configuration, "task": task,
            "true": clips[task].to_numpy(), "predicted": predicted,
            "confidence": np.round(confidence, CONFIDENCE_DECIMALS)}))
    return pd.concat(frames, ignore_index=True)


@dataclass
class FoldResult:
    models: dict  # task -> the tuned model refitted on the whole training fold
    predictions: pd.DataFrame
    trials: pd.DataFrame


def fit_fold(spec: MethodSpec, tasks: list[str], X: dict, clips: pd.DataFrame, seed: int,
             tuning: Tuning, test: bool = True, final: bool = False) -> FoldResult:
    """Search, refit and predict one fold, for each task (a multi-task method: all tasks at once).

    Each task learns from the clips labelled for it that have at least one of the method's
    modalities; a multi-task model from the clips labelled for every task, and is tuned on the
    mean of its tasks' validation scores. Every labelled clip is validated and tested: a clip
    without the method's modalities is predicted as the method can (musicfusion.models.fusion). ``test=False``
    stops after the search (validation predictions only: for choices made on validation data).
    ``final=True`` refits the tuned configuration on every labelled clip, test clips included, and
    predicts none of them (:func:`fit_final`).
    """
    multitask = spec.multitask
    models, frames, trial_frames = {}, [], []
    usable = presence([np.asarray(x, dtype=np.float64) for x in X.values()]).any(axis=1)
    for group in ([list(tasks)] if multitask else [[task] for task in tasks]):
        known = labelled(clips, group)
        masks = {split: known & (clips["split"] == split).to_numpy() for split in ("train", "validation", "test")}
        fitting = (masks["train"] | masks["validation"] | (masks["test"] & final)) & usable
        learning = masks["train"] & usable
        labels = clips[group].to_numpy() if multitask else clips[group[0]].to_numpy()
        parts = {split: (_subset(X, mask), labels[mask]) for split, mask in masks.items()}
        training = (_subset(X, learning), labels[learning])

        def objective(values, parts=parts, group=group, training=training):
            model = _build(spec, seed, tuning, values)
            model.fit(*training, *parts["validation"])
            probas = task_probas(model, parts["validation"][0], group)
            val = clips[masks["validation"]]
            value = float(np.mean([score(tuning.selection_metric, val[task].to_numpy(), decide(proba, classes)[0])
                                   for task, (proba, classes) in probas.items()]))
            return value, (model.validation_choices(), probas)

        found = search(objective, spec.space, spec.untuned, tuning.n_trials, seed, tuning.startup_trials)
        refitted = {}
        for configuration, values, (fixed, val_probas) in (("tuned", found.chosen, found.chosen_payload),
                                                           ("untuned", found.untuned, found.untuned_payload)):
            frames.append(prediction_rows(val_probas, clips[masks["validation"]], "validation", configuration))
            if not test or (final and configuration == "untuned"):
                continue
            if configuration == "untuned" and found.chose_untuned:
                refitted[configuration] = refitted["tuned"]
            else:
                refitted[configuration] = _build(spec, seed, tuning, values, fixed).fit(
                    _subset(X, fitting), labels[fitting])
            if not final:  # a final model has seen the test clips
                frames.append(prediction_rows(task_probas(refitted[configuration], parts["test"][0], group),
                                              clips[masks["test"]], "test", configuration))
        models.update({task: refitted.get("tuned") for task in group})
        trial_frames.append(found.trials.assign(task="+".join(group), search_seconds=found.seconds))
    return FoldResult(models, pd.concat(frames, ignore_index=True)[PREDICTION_COLUMNS],
                      pd.concat(trial_frames, ignore_index=True))


def fit_final(spec: MethodSpec, tasks: list[str], X: dict, clips: pd.DataFrame, seed: int,
              tuning: Tuning) -> tuple[dict, pd.DataFrame]:
    """The model an application uses: the configuration chosen by the same search as in every fold, on the
    dataset's own split (trained on its training clips, chosen on its validation clips), refitted on every
    labelled clip. Returns the model of each task and the chosen and untuned configurations' validation
    predictions (its test clips are in the fit, so none is scored)."""
    result = fit_fold(spec, tasks, X, clips, seed, tuning, test=True, final=True)
    return result.models, result.predictions


def train(spec: MethodSpec, tasks: list[str], folds: Iterable[tuple[dict, pd.DataFrame]], seed: int,
          tuning: Tuning) -> tuple[list[dict], pd.DataFrame, pd.DataFrame]:
    """Tune, fit and predict on every fold of the cross-validation.

    The i-th item of ``folds`` is fold i's features and clip table
    (musicfusion.features.matrices.load_features, with ``repetition`` and ``fold`` columns from
    musicfusion.data.splits.cv_split). Returns the tuned models of every fold, keyed by task; the
    predictions of every fold, with its index in ``fold``, its ``repetition`` and its number of
    training clips ``n_train``; and every trial of every fold's search.

    The model seed is the same in every fold: folds measure how results move with the data.
    """
    frames, trial_frames, models = [], [], []
    for index, (X, clips) in enumerate(folds):
        result = fit_fold(spec, tasks, X, clips, seed, tuning)
        repetition = int(clips["repetition"].iloc[0])
        predictions = result.predictions
        predictions.insert(0, "fold", index)
        predictions.insert(0, "repetition", repetition)
        # The corrected t-test weighs each fold's variance by its scored/training size ratio:
        # validation clips are scored by models fitted on the training clips, test clips by models
        # refitted on the whole training fold (training and validation clips).
        n_train = int((clips["split"] == "train").sum())
        n_fold = n_train + int((clips["split"] == "validation").sum())
        predictions["n_train"] = np.where(predictions["split"] == "test", n_fold, n_train)
        frames.append(predictions)
        trial_frames.append(result.trials.assign(repetition=repetition, fold=index))
        models.append(result.models)
    return models, pd.concat(frames, ignore_index=True), pd.concat(trial_frames, ignore_index=True)
