"""Splits: which clips train, which choose (validation) and which test.

Repeat 0 is the dataset's own split (the manifest's ``split`` column); repeat r re-splits the
same clips with seed + r, so results can be reported as a mean and interval over repeats.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def stratified_splits(labels: pd.Series, fractions: dict, seed: int) -> pd.Series:
    """Assign train/validation/test per class, in the given proportions, fixed by the seed."""
    rng = np.random.default_rng(seed)
    total = sum(fractions.values())
    split = pd.Series("", index=labels.index, dtype=object)
    for label in sorted(labels.unique()):
        idx = labels.index[labels == label].to_numpy()
        idx = idx[rng.permutation(len(idx))]
        n_test = max(1, int(round(len(idx) * fractions["test"] / total)))
        n_val = max(1, int(round(len(idx) * fractions["validation"] / total)))
        split[idx[:n_test]] = "test"
        split[idx[n_test:n_test + n_val]] = "validation"
        split[idx[n_test + n_val:]] = "train"
    return split


def resplit(clips: pd.DataFrame, fractions: dict, seed: int, stratify_by: str = "style") -> pd.DataFrame:
    """The same clips re-split into train/validation/test, stratified by a label, fixed by the seed."""
    clips = clips.copy()
    clips["split"] = stratified_splits(clips[stratify_by], fractions, seed).to_numpy()
    return clips
