"""The clip table: one row per clip that survived preprocessing, sorted by clip id, with the
modalities it has, its split, group and labels (``data/processed/<dataset>/features/clips.csv``,
and each fold's ``fold-<i>/clips.csv``), and the description of a dataset drawn from it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from musicfusion import modality_of
from musicfusion.data.manifest import SPLITS
from musicfusion.data.splits import dataset_split

OPTIONAL_CLIP_COLUMNS = ("group", "title")
# How describe_dataset shows a clip without a label for a task.
UNLABELLED = "(unlabelled)"


def has_column(modality: str) -> str:
    """The clip table's column saying whether a clip has ``modality`` (``True``/``False``); a
    feature set's (``audio.pitch_cnn``) is its modality's."""
    return f"has_{modality_of(modality)}"


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
    ``split_fractions`` (musicfusion.data.splits.dataset_split).
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


def describe_dataset(clips: pd.DataFrame, tasks: list[str], derived: dict[str, str] | None = None) -> pd.DataFrame:
    """Clips per label and the dataset's own split (after preprocessing), unlabelled clips
    (label ``(unlabelled)``), the clips lacking each modality (task ``(absent)``), and the clips
    whose modality the workflow made from another (``derived``: {modality: source}; task
    ``(derived from <source>)``, e.g. a score transcribed from the audio)."""
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
    for modality, source in (derived or {}).items():
        having = clips.loc[has_modality(clips, modality), "split"]
        row = {"task": f"(derived from {source})", "label": modality,
               **{split: int((having == split).sum()) for split in SPLITS}, "total": int(len(having))}
        parts.append(pd.DataFrame([row]))
    return pd.concat(parts, ignore_index=True)


def clips_with(clips: pd.DataFrame, modalities) -> pd.DataFrame:
    """The clips that have every one of ``modalities`` (all clips if the table predates has_*)."""
    keep = np.ones(len(clips), dtype=bool)
    for m in modalities:
        keep &= has_modality(clips, m)
    return clips[keep].reset_index(drop=True)
