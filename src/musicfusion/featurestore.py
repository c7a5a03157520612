"""Feature matrices: per-shard extraction, gathering, the clip table, and loading aligned by clip id.

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

from musicfusion import SHARD_MODALITIES
from musicfusion.io import load_npz, read_table
from musicfusion.manifest import LABEL_COLUMNS, SPLITS

OPTIONAL_CLIP_COLUMNS = ("group", "title")
# Feature sets a method can read: the modality's features, or its shortcut controls.
FEATURE_SETS = ("content", "control")


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


def extract_control_shard(modality: str, shard: dict, control_params: dict, sample_rate: int,
                          fps: float) -> dict:
    """The shortcut controls of one preprocessed shard (its npz content), as a feature npz.

    ``control_params`` is the modality's ``features.controls`` entry; ``sample_rate`` and
    ``fps`` are the preprocessed audio's and video's.
    """
    from musicfusion.features import controls

    ids = shard["clip_ids"]
    if not len(ids):
        return _feature_arrays(ids, np.zeros((0, 0), np.float32), [])
    if modality == "audio":
        X, names = controls.audio_controls(shard["audio"], sample_rate, control_params)
    elif modality == "video":
        X, names = controls.video_controls(shard["frames"], fps, control_params)
    elif modality == "text":
        X, names = controls.text_controls([str(t) for t in shard["text"]], control_params)
    else:
        raise ValueError(f"no shortcut controls for modality {modality!r}")
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
    """Clips per label and the dataset's own split (after preprocessing): the dataset at a glance."""
    parts = []
    for task in tasks:
        counts = pd.crosstab(clips[task], clips["split"]).reindex(columns=list(SPLITS), fill_value=0)
        counts["total"] = counts.sum(axis=1)
        counts = counts.reset_index().rename(columns={task: "label"})
        counts.insert(0, "task", task)
        parts.append(counts)
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


def load_features(feature_dir: str | Path, modalities, fold: int | None = None,
                  feature_set: str = "content") -> tuple[dict[str, np.ndarray], pd.DataFrame]:
    """The aligned matrices of the given modalities and the clip table of one fold (or, for
    ``fold=None``, of the dataset's own split)."""
    clips = read_table(fold_dir(feature_dir, fold) / "clips.csv")
    X = {}
    for modality in modalities:
        path = feature_file(feature_dir, modality, fold, feature_set)
        data = load_npz(path)
        if not np.array_equal(data["clip_ids"], clips["clip_id"].to_numpy()):
            raise ValueError(f"{path}: rows are not aligned with clips.csv")
        X[modality] = data["X"]
    return X, clips
