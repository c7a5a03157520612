"""Per-shard extraction: one interim shard's features or shortcut controls, and the shards'
feature matrices gathered into one.

Kept light on imports (numpy and the registered extractor only): every extraction job imports
it, and what a job imports it pays once per shard.
"""

from __future__ import annotations

import numpy as np

from musicfusion.features.registry import extractor, feature_settings, per_shard


def split_ragged(flat: np.ndarray, lengths: np.ndarray) -> list[np.ndarray]:
    """The clips of a ragged array (one run of rows per clip, ``lengths`` long), one array each."""
    return np.split(flat, np.cumsum(lengths)[:-1]) if len(lengths) else []


def feature_arrays(clip_ids: np.ndarray, X: np.ndarray, names) -> dict:
    return {"clip_ids": clip_ids, "X": np.asarray(X, dtype=np.float32),
            "feature_names": np.array(list(names), dtype=str)}


def shard_clips(shard: dict, modality: str) -> list:
    """An interim shard's clips, one item each: an array of samples or frames (they differ in
    length), or a text."""
    media = shard[extractor(modality).media]
    return split_ragged(media, shard["lengths"]) if "lengths" in shard else list(media)


def clips_by_id(shards, modality: str) -> dict:
    """{clip id: its media} over interim shards (their npz contents) of ``modality``."""
    found = {}
    for shard in shards:
        found.update(zip(shard["clip_ids"], shard_clips(shard, modality)))
    return found


def extract_clip(key: str, media, features: dict, preprocess: dict) -> np.ndarray:
    """Feature set ``key`` (1, d) of one decoded clip, such as a query read by the workflow's loaders: the
    extractor and settings :func:`extract_shard` uses, at the preprocessed sample and frame rates."""
    rates = _rates(preprocess["audio"]["sample_rate"], preprocess["video"]["fps"])
    X, _ = extractor(key).extract([media], feature_settings(key, features), rates)
    return X


def one_clip_shards(modality: str, shard: dict):
    """An interim shard of ragged media as shards of one clip each (views, no copies)."""
    key = extractor(modality).media
    for i, media in enumerate(split_ragged(shard[key], shard["lengths"])):
        yield {"clip_ids": shard["clip_ids"][i:i + 1], key: media, "lengths": shard["lengths"][i:i + 1]}


def _rates(sample_rate, fps) -> dict:
    return {"sample_rate": sample_rate, "fps": fps}


def extract_shard(modality: str, shard: dict, feature_params: dict, sample_rate: int | None = None,
                  fps: float | None = None) -> dict:
    """The content features of one preprocessed shard (its npz content), as a feature npz."""
    if not per_shard(modality):
        raise ValueError(f"{modality!r} features are fitted per fold, not extracted per shard")
    ids = shard["clip_ids"]
    if not len(ids):
        return feature_arrays(ids, np.zeros((0, 0), np.float32), [])
    X, names = extractor(modality).extract(shard_clips(shard, modality), feature_params, _rates(sample_rate, fps))
    return feature_arrays(ids, X, names)


def extract_control_shard(modality: str, shard: dict, control_params: dict, sample_rate: int,
                          fps: float) -> dict:
    """The shortcut controls of one preprocessed shard (its npz content), as a feature npz.

    ``control_params`` is the modality's ``features.controls`` entry; ``sample_rate`` and
    ``fps`` are the preprocessed audio's and video's.
    """
    ids = shard["clip_ids"]
    if not len(ids):
        return feature_arrays(ids, np.zeros((0, 0), np.float32), [])
    X, names = extractor(modality).controls(shard_clips(shard, modality), control_params, _rates(sample_rate, fps))
    return feature_arrays(ids, X, names)


def gather(parts: list[dict], what: str = "features") -> dict:
    """Stack shard matrices into one, rows sorted by clip id; ``what`` names it in errors."""
    nonempty = [p for p in parts if len(p["clip_ids"])]
    if not nonempty:
        raise ValueError(f"{what}: every shard is empty; no clip survived preprocessing")
    ids = np.concatenate([p["clip_ids"] for p in nonempty])
    X = np.concatenate([p["X"] for p in nonempty])
    order = np.argsort(ids, kind="stable")
    return {"clip_ids": ids[order], "X": X[order], "feature_names": nonempty[0]["feature_names"]}
