"""Feature matrices: the clip table, the text features, and loading aligned by clip id
(per-shard extraction and gathering: :mod:`musicfusion.features.shards`).

Layout under ``data/processed/<dataset>/features/``: one ``<modality>.npz`` per modality
(``clip_ids``, ``X``, ``feature_names``) with rows sorted by clip id, and ``clips.csv`` holding
the same clips' split (the dataset's own), group and labels in the same order. Each fold
``i`` of the cross-validation has its own ``fold-<i>/`` with its split (``clips.csv``) and
what is fitted on it (``text.npz``). ``control/<modality>.npz`` holds the shortcut controls
(:mod:`musicfusion.features.controls`), rows in the same order.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from musicfusion.io import load_npz, read_table
from musicfusion.manifest import SPLITS
from musicfusion.features.shards import feature_arrays
from musicfusion.splits import dataset_split

OPTIONAL_CLIP_COLUMNS = ("group", "title")
# How describe_dataset shows a clip without a label for a task.
UNLABELLED = "(unlabelled)"
# Feature sets a method can read: the modality's features, or its shortcut controls.
FEATURE_SETS = ("content", "control")


def extract_text(text_shards: list[dict], split_table: pd.DataFrame, feature_params: dict,
                 where: str = "split table"):
    """TF-IDF fitted on the training split only, then applied to every clip.

    ``split_table`` is the manifest or a fold's clips.csv: any table with clip_id and split.
    Returns the feature npz content and the fitted vectorizer (kept to embed new text queries).
    """
    from musicfusion.features import text

    ids = np.concatenate([p["clip_ids"] for p in text_shards])
    docs = np.concatenate([p["text"] for p in text_shards])
    order = np.argsort(ids, kind="stable")
    ids, docs = ids[order], docs[order]
    split = split_table.set_index("clip_id").loc[ids, "split"].to_numpy()
    train_docs = [str(d) for d, s in zip(docs, split) if s == "train"]
    if not train_docs:
        raise ValueError(f"{where}: no training clip survived preprocessing; cannot fit TF-IDF")
    vectorizer = text.fit(train_docs, feature_params)
    X, names = text.transform(vectorizer, [str(d) for d in docs])
    return feature_arrays(ids, X, names), vectorizer


def has_column(modality: str) -> str:
    """The clip table's column saying whether a clip has ``modality`` (``True``/``False``)."""
    return f"has_{modality}"


def has_modality(clips: pd.DataFrame, modality: str) -> np.ndarray:
    """Which clips have ``modality``, from the table's flag as written or as read back from CSV;
    every clip when the table has no flag for it."""
    if has_column(modality) not in clips.columns:
        return np.ones(len(clips), dtype=bool)
    return clips[has_column(modality)].astype(str).isin(["True", "true"]).to_numpy()


def clip_table(shard_ids: dict[str, list[np.ndarray]], manifest: pd.DataFrame, tasks: list[str],
               split_fractions: dict, seed: int) -> pd.DataFrame:
    """One row per clip that survived preprocessing, sorted by clip id: which modalities it has
    (``has_<modality>``), its split, group and labels, and its title where the manifest has one.

    ``shard_ids`` maps each modality to the clip ids of its interim shards. The split is the
    manifest's, or, without a split column, a seeded stratified and grouped split in
    ``split_fractions`` (musicfusion.splits.dataset_split).
    """
    present = {m: set(np.concatenate(ids).tolist()) if ids else set() for m, ids in shard_ids.items()}
    ids = sorted(set().union(*present.values()))
    if not ids:
        raise ValueError("no clip survived preprocessing")
    rows = manifest.set_index("clip_id").loc[ids]
    table = pd.DataFrame({"clip_id": ids})
    for m, have in present.items():
        table[has_column(m)] = [clip in have for clip in ids]
    for column in ("group", *tasks, *(c for c in OPTIONAL_CLIP_COLUMNS if c != "group")):
        if column in rows.columns:
            table[column] = rows[column].to_numpy()
    if "split" in rows.columns:
        table.insert(1, "split", rows["split"].to_numpy())
    else:
        table.insert(1, "split", dataset_split(table, tasks, split_fractions, seed))
    return table


def describe_dataset(clips: pd.DataFrame, tasks: list[str]) -> pd.DataFrame:
    """Clips per label and the dataset's own split (after preprocessing), unlabelled clips
    (label ``(unlabelled)``) and the clips lacking each modality (task ``(absent)``)."""
    parts = []
    for task in tasks:
        labels = clips[task].replace("", UNLABELLED)
        counts = pd.crosstab(labels, clips["split"]).reindex(columns=list(SPLITS), fill_value=0)
        counts["total"] = counts.sum(axis=1)
        counts = counts.rename_axis("label").reset_index()
        counts.insert(0, "task", task)
        parts.append(counts)
    for modality in [c.removeprefix("has_") for c in clips.columns if c.startswith("has_")]:
        lacking = clips.loc[~has_modality(clips, modality), "split"]
        row = {"task": "(absent)", "label": modality,
               **{split: int((lacking == split).sum()) for split in SPLITS}, "total": int(len(lacking))}
        parts.append(pd.DataFrame([row]))
    return pd.concat(parts, ignore_index=True)


def fold_dir(feature_dir: str | Path, fold: int | None) -> Path:
    """Where fold ``fold``'s split and text features live; ``None`` is the dataset's own split.

    Only the split and what is fitted on it (the text TF-IDF) differ between folds; audio and
    video features and every control are computed per clip and shared.
    """
    return Path(feature_dir) if fold is None else Path(feature_dir) / f"fold-{fold}"


def feature_file(feature_dir: str | Path, modality: str, fold: int | None = None,
                 feature_set: str = "content") -> Path:
    """The npz holding one modality's features of a feature set (for text, the fold's own)."""
    if feature_set not in FEATURE_SETS:
        raise ValueError(f"unknown feature set {feature_set!r}; known: {list(FEATURE_SETS)}")
    if feature_set == "control":
        return Path(feature_dir) / "control" / f"{modality}.npz"
    return (fold_dir(feature_dir, fold) if modality == "text" else Path(feature_dir)) / f"{modality}.npz"


def clips_with(clips: pd.DataFrame, modalities) -> pd.DataFrame:
    """The clips that have every one of ``modalities`` (all clips if the table predates has_*)."""
    keep = np.ones(len(clips), dtype=bool)
    for m in modalities:
        keep &= has_modality(clips, m)
    return clips[keep].reset_index(drop=True)


def load_features(feature_dir: str | Path, modalities, fold: int | None = None,
                  feature_set: str = "content", complete: bool = True) -> tuple[dict[str, np.ndarray], pd.DataFrame]:
    """The matrices of the given modalities, rows aligned, and the clip table of one fold (or,
    for ``fold=None``, of the dataset's own split).

    ``complete=True`` keeps the clips that have every one of ``modalities``; ``complete=False``
    keeps every clip of the table, a row of NaN standing for a modality the clip lacks (how
    musicfusion.fusion methods see an absent modality).
    """
    table = read_table(fold_dir(feature_dir, fold) / "clips.csv")
    clips = clips_with(table, modalities) if complete else table.reset_index(drop=True)
    X = {}
    for modality in modalities:
        path = feature_file(feature_dir, modality, fold, feature_set)
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
