"""Feature matrices on disk: per-shard extraction, gathering, and loading aligned by clip id.

Layout under ``data/processed/<dataset>/features/``: one ``<modality>.npz`` per modality
(``clip_ids``, ``X``, ``feature_names``) with rows sorted by clip id, and ``clips.csv`` holding
the same clips' split and labels in the same order.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from musicfusion.io import load_npz, save_npz, save_pickle, write_csv
from musicfusion.manifest import LABEL_COLUMNS, read_manifest


def extract_shard(modality: str, interim_path: str | Path, out_path: str | Path, feature_params: dict,
                  sample_rate: int | None = None) -> int:
    """Audio or video features of one preprocessed shard; returns the number of clips."""
    data = load_npz(interim_path)
    if modality == "audio":
        from musicfusion.features import audio

        if len(data["clip_ids"]):
            X, names = audio.extract(data["audio"], sample_rate, feature_params)
        else:
            X, names = np.zeros((0, 0), np.float32), []
    elif modality == "video":
        from musicfusion.features import video

        if len(data["clip_ids"]):
            X, names = video.extract(data["frames"], feature_params)
        else:
            X, names = np.zeros((0, 0), np.float32), []
    else:
        raise ValueError(f"per-shard extraction is for audio and video, not {modality!r}")
    save_npz(out_path, clip_ids=data["clip_ids"], X=X.astype(np.float32),
             feature_names=np.array(names, dtype=str))
    return len(data["clip_ids"])


def gather(shard_paths: list[str | Path], out_path: str | Path) -> int:
    """Stack shard matrices into one, rows sorted by clip id."""
    parts = [load_npz(p) for p in shard_paths]
    nonempty = [p for p in parts if len(p["clip_ids"])]
    if not nonempty:
        raise ValueError(f"{out_path}: every shard is empty; no clip survived preprocessing")
    names = nonempty[0]["feature_names"]
    ids = np.concatenate([p["clip_ids"] for p in nonempty])
    X = np.concatenate([p["X"] for p in nonempty])
    order = np.argsort(ids, kind="stable")
    save_npz(out_path, clip_ids=ids[order], X=X[order], feature_names=names)
    return len(ids)


def extract_text(text_shards: list[str | Path], split_table: str | Path, out_path: str | Path,
                 feature_params: dict, vectorizer_out: str | Path | None = None) -> int:
    """TF-IDF fitted on the training split only, then applied to every clip.

    ``split_table`` is the manifest or a repeat's clips.csv: any CSV with clip_id and split.
    The fitted vectorizer is pickled to ``vectorizer_out`` so new text queries can be embedded.
    """
    from musicfusion.features import text

    parts = [load_npz(p) for p in text_shards]
    ids = np.concatenate([p["clip_ids"] for p in parts])
    docs = np.concatenate([p["text"] for p in parts])
    order = np.argsort(ids, kind="stable")
    ids, docs = ids[order], docs[order]
    splits = pd.read_csv(split_table, dtype=str, keep_default_na=False).set_index("clip_id")
    split = splits.loc[ids, "split"].to_numpy()
    train_docs = [str(d) for d, s in zip(docs, split) if s == "train"]
    if not train_docs:
        raise ValueError(f"{split_table}: no training clip survived preprocessing; cannot fit TF-IDF")
    vectorizer = text.fit(train_docs, feature_params)
    X, names = text.transform(vectorizer, [str(d) for d in docs])
    if vectorizer_out is not None:
        save_pickle(vectorizer_out, vectorizer)
    save_npz(out_path, clip_ids=ids, X=X.astype(np.float32), feature_names=np.array(names, dtype=str))
    return len(ids)


def write_clip_table(feature_paths: list[str | Path], manifest_path: str | Path, out_path: str | Path) -> pd.DataFrame:
    """Split and labels of the clips present in every modality, in the matrices' row order."""
    id_sets = [load_npz(p)["clip_ids"] for p in feature_paths]
    for path, ids in zip(feature_paths[1:], id_sets[1:]):
        if not np.array_equal(ids, id_sets[0]):
            raise ValueError(f"{path}: clip ids differ from {feature_paths[0]}; modalities are not aligned")
    manifest = read_manifest(manifest_path, require_all_splits=True).set_index("clip_id")
    keep = ["split", *LABEL_COLUMNS] + [c for c in ("title",) if c in manifest.columns]
    table = manifest.loc[id_sets[0], keep].reset_index()
    write_csv(out_path, table)
    return table


def repeat_dir(feature_dir: str | Path, repeat: int) -> Path:
    """Where a repeat's own split lives: repeat 0 is the dataset's split, in feature_dir itself.

    Only the split and what is fitted on it (the text TF-IDF) differ between repeats; audio and
    video features are computed per clip and shared.
    """
    return Path(feature_dir) if repeat == 0 else Path(feature_dir) / f"repeat-{repeat}"


def resplit(clips_path: str | Path, fractions: dict, seed: int, out_path: str | Path) -> pd.DataFrame:
    """The same clips re-split into train/validation/test, stratified by style, fixed by the seed."""
    from musicfusion.collect import stratified_splits

    clips = pd.read_csv(clips_path, dtype=str, keep_default_na=False)
    clips["split"] = stratified_splits(clips["style"], fractions, seed).to_numpy()
    write_csv(out_path, clips)
    return clips


def load_features(feature_dir: str | Path, modalities, repeat: int = 0) -> tuple[dict[str, np.ndarray], pd.DataFrame]:
    """The aligned matrices of the given modalities and the clip table of one repeat."""
    feature_dir = Path(feature_dir)
    own = repeat_dir(feature_dir, repeat)
    clips = pd.read_csv(own / "clips.csv", dtype=str, keep_default_na=False)
    X = {}
    for modality in modalities:
        data = load_npz((own if modality == "text" else feature_dir) / f"{modality}.npz")
        if not np.array_equal(data["clip_ids"], clips["clip_id"].to_numpy()):
            raise ValueError(f"{feature_dir / modality}.npz: rows are not aligned with clips.csv")
        X[modality] = data["X"]
    return X, clips
