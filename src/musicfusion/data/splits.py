"""Splits: which clips train, which choose (validation) and which test, by group.

Clips of one group (the movements of a mass, the settings of a chorale, duplicates) never
straddle splits: a model must not be tested on a work it has heard in training.

- :func:`dataset_split` gives a dataset its own train/validation/test split (the manifest's
  ``split`` column, used by cross-modal transfer and the kept models);
- :func:`cv_split` is fold ``i`` of repeated stratified group k-fold: repetition ``i // k``,
  test fold ``i % k``. Every clip is tested exactly once per repetition, and validation (for
  every choice a method makes) is carved out of that fold's training clips, as a group fold
  of the same size as a test fold.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from sklearn.model_selection import StratifiedGroupKFold

from musicfusion.data.manifest import SPLITS


def strata(clips: pd.DataFrame, tasks: list[str], n_folds: int) -> np.ndarray:
    """The label to stratify by: every task's label joined, so each task's classes spread evenly.

    When no such stratum has ``n_folds`` clips (a small dataset with many label combinations),
    the last task is dropped, and so on; with no task left, the folds are only grouped.
    """
    for n_tasks in range(len(tasks), 0, -1):
        labels = clips[list(tasks[:n_tasks])].astype(str).agg("|".join, axis=1).to_numpy()
        if np.unique(labels, return_counts=True)[1].max() >= n_folds:
            return labels
    return np.zeros(len(clips), dtype=int).astype(str)


def groups_of(clips: pd.DataFrame) -> np.ndarray:
    """The ``group`` column, or each clip its own group when the dataset declares none."""
    if "group" in clips.columns:
        groups = clips["group"].astype(str).to_numpy()
        return np.where(groups == "", clips["clip_id"].astype(str).to_numpy(), groups)
    return clips["clip_id"].astype(str).to_numpy()


def _one_group_fold(labels: np.ndarray, groups: np.ndarray, n_folds: int, fold: int, seed: int) -> np.ndarray:
    """A boolean mask of fold ``fold`` of a seeded stratified group k-fold over the items."""
    n_groups = len(np.unique(groups))
    if n_folds < 2 or n_folds > n_groups:
        raise ValueError(f"cannot make {n_folds} group folds of {n_groups} group(s): need 2 <= folds <= groups")
    splitter = StratifiedGroupKFold(n_splits=n_folds, shuffle=True, random_state=seed)
    with warnings.catch_warnings():
        # A class smaller than the number of folds is allowed (it is then absent from some folds).
        warnings.filterwarnings("ignore", message="The least populated class", category=UserWarning)
        for i, (_, chosen) in enumerate(splitter.split(np.zeros(len(labels)), labels, groups)):
            if i == fold:
                mask = np.zeros(len(labels), dtype=bool)
                mask[chosen] = True
                return mask
    raise ValueError(f"fold {fold} does not exist among {n_folds} folds")


def fold_split(labels, groups, n_folds: int, fold: int, seed: int, n_validation_folds: int | None = None) -> np.ndarray:
    """train/validation/test per item: fold ``fold`` of ``n_folds`` is the test set, and
    validation is one of ``n_validation_folds`` group folds of the rest (by default
    ``n_folds - 1``: the size of a test fold)."""
    labels, groups = np.asarray(labels), np.asarray(groups)
    test = _one_group_fold(labels, groups, n_folds, fold, seed)
    rest = np.flatnonzero(~test)
    validation = np.zeros(len(labels), dtype=bool)
    inner = n_folds - 1 if n_validation_folds is None else n_validation_folds
    validation[rest[_one_group_fold(labels[rest], groups[rest], inner, 0, seed)]] = True
    return np.where(test, "test", np.where(validation, "validation", "train")).astype(object)


def dataset_split(clips: pd.DataFrame, tasks: list[str], fractions: dict, seed: int) -> np.ndarray:
    """A dataset's own stratified, grouped split in about the given train/validation/test fractions.

    The test fraction sets the number of group folds (0.2 -> 5 folds, one of them the test set),
    and the validation fraction that of the rest (0.2 of 0.8 -> 4 folds, one of them validation).
    """
    total = float(sum(fractions[name] for name in SPLITS))
    n_folds = int(round(total / fractions["test"]))
    n_validation_folds = int(round((total - fractions["test"]) / fractions["validation"]))
    if min(n_folds, n_validation_folds) < 2:
        raise ValueError(f"split fractions {dict(fractions)}: test must be at most half of all clips and "
                         "validation at most half of the rest")
    return fold_split(strata(clips, tasks, n_folds), groups_of(clips), n_folds, 0, seed, n_validation_folds)


def cv_split(clips: pd.DataFrame, tasks: list[str], n_folds: int, index: int, seed: int) -> pd.DataFrame:
    """The clip table with ``split`` set for fold ``index`` of repeated stratified group k-fold.

    Repetition ``index // n_folds`` shuffles with ``seed + repetition``; its fold
    ``index % n_folds`` is the test set. Adds ``repetition`` and ``fold`` columns.
    """
    repetition, fold = divmod(int(index), int(n_folds))
    clips = clips.copy()
    clips["split"] = fold_split(strata(clips, tasks, n_folds), groups_of(clips), n_folds, fold, seed + repetition)
    clips["repetition"], clips["fold"] = repetition, fold
    return clips


def straddling_groups(clips: pd.DataFrame) -> list[str]:
    """Groups whose clips sit in more than one split (none, for a grouped split)."""
    frame = pd.DataFrame({"group": groups_of(clips), "split": clips["split"].to_numpy()})
    counts = frame.groupby("group")["split"].nunique()
    return sorted(counts.index[counts > 1])
