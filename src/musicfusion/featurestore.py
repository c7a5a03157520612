"""Feature matrices: per-shard extraction, gathering, the clip table, and loading aligned by clip id.

Layout under ``data/processed/<dataset>/features/``: one ``<modality>.npz`` per modality
(``clip_ids``, ``X``, ``feature_names``) with rows sorted by clip id, and ``clips.csv`` holding
the same clips' split and labels in the same order. A repeat r > 0 has its own ``repeat-<r>/``
with its split (``clips.csv``) and what is fitted on it (``text.npz``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from musicfusion import SHARD_MODALITIES
from musicfusion.io import load_npz, read_table
from musicfusion.manifest import LABEL_COLUMNS, SPLITS

OPTIONAL_CLIP_COLUMNS = ("title",)


def _feature_arrays(clip_ids: np.ndarray, X: np.ndarray, names) -> dict:
    return {"clip_ids": clip_ids, "X": np.asarray(X, dtype=np.float32),
            "feature_names": np.array(list(names), dtype=str)}


def extract_shard(modality: str, shard: dict, feature_params: dict, sample_rate: int | None = None) -> dict:
    """Audio or video features of one preprocessed shard (its npz content), as a feature npz."""
    if modality not in SHARD_MODALITIES:
        raise ValueError(f"per-shard extraction is for {list(SHARD_MODALITIES)}, not {modality!r}")
    ids = shard["clip_ids"]
    if not len(ids):
        return _feature_arrays(ids, np.zeros((0, 0), np.float32), [])
    if modality == "audio":
        from musicfusion.features import audio

        X, names = audio.extract(shard["audio"], sample_rate, feature_params)
    else:
        from musicfusion.features import video

        X, names = video.extract(shard["frames"], feature_params)
    return _feature_arrays(ids, X, names)


def gather(parts: list[dict], what: str = "features") -> dict:
    """Stack shard matrices into one, rows sorted by clip id; ``what`` names it in errors."""
    nonempty = [p for p in parts if len(p["clip_ids"])]
    if not nonempty:
        raise ValueError(f"{what}: every shard is empty; no clip survived preprocessing")
    ids = np.concatenate([p["clip_ids"] for p in nonempty])
    X = np.concatenate([p["X"] for p in nonempty])
    order = np.argsort(ids, kind="stable")
    return {"clip_ids": ids[order], "X": X[order], "feature_names": nonempty[0]["feature_names"]}


def extract_text(text_shards: list[dict], split_table: pd.DataFrame, feature_params: dict,
                 where: str = "split table"):
    """TF-IDF fitted on the training split only, then applied to every clip.

    ``split_table`` is the manifest or a repeat's clips.csv: any table with clip_id and split.
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
    return _feature_arrays(ids, X, names), vectorizer


def clip_table(feature_ids: dict[str, np.ndarray], manifest: pd.DataFrame) -> pd.DataFrame:
    """Split and labels of the clips present in every modality, in the matrices' row order.

    ``feature_ids`` maps each feature file (its name, for errors) to its clip ids.
    """
    (first, reference), *others = feature_ids.items()
    for name, ids in others:
        if not np.array_equal(ids, reference):
            raise ValueError(f"{name}: clip ids differ from {first}; modalities are not aligned")
    manifest = manifest.set_index("clip_id")
    keep = ["split", *LABEL_COLUMNS] + [c for c in OPTIONAL_CLIP_COLUMNS if c in manifest.columns]
    return manifest.loc[reference, keep].reset_index()


def describe_dataset(clips: pd.DataFrame, tasks: list[str]) -> pd.DataFrame:
    """Clips per label and split (repeat 0, after preprocessing): the dataset at a glance."""
    parts = []
    for task in tasks:
        counts = pd.crosstab(clips[task], clips["split"]).reindex(columns=list(SPLITS), fill_value=0)
        counts["total"] = counts.sum(axis=1)
        counts = counts.reset_index().rename(columns={task: "label"})
        counts.insert(0, "task", task)
        parts.append(counts)
    return pd.concat(parts, ignore_index=True)


def repeat_dir(feature_dir: str | Path, repeat: int) -> Path:
    """Where a repeat's own split lives: repeat 0 is the dataset's split, in feature_dir itself.

    Only the split and what is fitted on it (the text TF-IDF) differ between repeats; audio and
    video features are computed per clip and shared.
    """
    return Path(feature_dir) if repeat == 0 else Path(feature_dir) / f"repeat-{repeat}"


def load_features(feature_dir: str | Path, modalities, repeat: int = 0) -> tuple[dict[str, np.ndarray], pd.DataFrame]:
    """The aligned matrices of the given modalities and the clip table of one repeat."""
    feature_dir = Path(feature_dir)
    own = repeat_dir(feature_dir, repeat)
    clips = read_table(own / "clips.csv")
    X = {}
    for modality in modalities:
        data = load_npz((own if modality == "text" else feature_dir) / f"{modality}.npz")
        if not np.array_equal(data["clip_ids"], clips["clip_id"].to_numpy()):
            raise ValueError(f"{feature_dir / modality}.npz: rows are not aligned with clips.csv")
        X[modality] = data["X"]
    return X, clips
