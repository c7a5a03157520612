"""Feature matrices loaded aligned with a clip table, one per modality.

Layout under ``data/processed/<dataset>/features/`` (musicfusion.plumbing.paths): one
``<modality>.npz`` per modality (``clip_ids``, ``X``, ``feature_names``) with rows sorted by
clip id, and ``clips.csv`` (musicfusion.data.clip_table) holding the same clips in the same
order. Each fold ``i`` of the cross-validation has its own ``fold-<i>/`` with its split
(``clips.csv``) and the features fitted on it (those of a ``per_fold`` extractor, such as
``text.npz``). ``control/<modality>.npz`` holds the shortcut controls
(:mod:`musicfusion.features.controls`), rows in the same order.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from musicfusion.data.clip_table import clips_with, has_modality
from musicfusion.features.registry import extractor
from musicfusion.plumbing.files import load_npz, read_table
from musicfusion.plumbing.paths import feature_file, fold_dir


def modality_file(feature_dir: str | Path, modality: str, fold: int | None = None,
                  feature_kind: str = "content") -> Path:
    """The npz of one modality's (or feature set's) features of a kind, content or control (a per-fold
    extractor's: the fold's own)."""
    return feature_file(feature_dir, modality, fold, feature_kind, per_fold=extractor(modality).per_fold)


def load_features(feature_dir: str | Path, modalities, fold: int | None = None,
                  feature_kind: str = "content", complete: bool = True) -> tuple[dict[str, np.ndarray], pd.DataFrame]:
    """The matrices of the given modalities, rows aligned, and the clip table of one fold (or,
    for ``fold=None``, of the dataset's own split).

    ``complete=True`` keeps the clips that have every one of ``modalities``; ``complete=False``
    keeps every clip of the table, a row of NaN standing for a modality the clip lacks (how
    musicfusion.models.fusion methods see an absent modality).
    """
    table = read_table(fold_dir(feature_dir, fold) / "clips.csv")
    clips = clips_with(table, modalities) if complete else table.reset_index(drop=True)
    X = {}
    for modality in modalities:
        path = modality_file(feature_dir, modality, fold, feature_kind)
        data = load_npz(path)
        X[modality] = rows_of(clips, modality, data["clip_ids"], data["X"], where=path)
    return X, clips


def rows_of(clips: pd.DataFrame, modality: str, clip_ids: np.ndarray, X: np.ndarray, where) -> np.ndarray:
    """The rows of ``X`` (one per id of ``clip_ids``) in the order of ``clips``, a row of NaN for a
    clip without ``modality``; ``where`` names ``X`` in the error for a clip it lacks."""
    wanted = clips["clip_id"].to_numpy()
    rows = pd.Index(clip_ids).get_indexer(wanted)
    have = has_modality(clips, modality)
    if (rows[have] < 0).any():
        raise ValueError(f"{where}: rows are not aligned with clips.csv (clip {wanted[have & (rows < 0)][0]} missing)")
    matrix = np.full((len(wanted), X.shape[1]), np.nan, dtype=X.dtype)
    matrix[have] = X[rows[have]]
    return matrix
