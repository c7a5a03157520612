"""Per-shard extraction: one interim shard's audio or video features or shortcut controls, and
the shards' feature matrices gathered into one.

Kept light on imports (numpy and the extractors only): every extraction job imports it, and
what a job imports it pays once per shard.
"""

from __future__ import annotations

import numpy as np

from musicfusion import SHARD_MODALITIES


def split_ragged(flat: np.ndarray, lengths: np.ndarray) -> list[np.ndarray]:
    """The clips of a ragged array (:func:`_ragged`), one array each."""
    return np.split(flat, np.cumsum(lengths)[:-1]) if len(lengths) else []


def feature_arrays(clip_ids: np.ndarray, X: np.ndarray, names) -> dict:
    return {"clip_ids": clip_ids, "X": np.asarray(X, dtype=np.float32),
            "feature_names": np.array(list(names), dtype=str)}


def extract_shard(modality: str, shard: dict, feature_params: dict, sample_rate: int | None = None) -> dict:
    """Audio or video features of one preprocessed shard (its npz content), as a feature npz."""
    if modality not in SHARD_MODALITIES:
        raise ValueError(f"per-shard extraction is for {list(SHARD_MODALITIES)}, not {modality!r}")
    ids = shard["clip_ids"]
    if not len(ids):
        return feature_arrays(ids, np.zeros((0, 0), np.float32), [])
    if modality == "audio":
        from musicfusion.features import audio

        X, names = audio.extract(shard_clips(shard, modality), sample_rate, feature_params)
    else:
        from musicfusion.features import video

        X, names = video.extract(shard_clips(shard, modality), feature_params)
    return feature_arrays(ids, X, names)


def shard_clips(shard: dict, modality: str) -> list[np.ndarray]:
    """An interim audio or video shard's clips, one array each (they differ in length)."""
    return split_ragged(shard["audio" if modality == "audio" else "frames"], shard["lengths"])


def extract_control_shard(modality: str, shard: dict, control_params: dict, sample_rate: int,
                          fps: float) -> dict:
    """The shortcut controls of one preprocessed shard (its npz content), as a feature npz.

    ``control_params`` is the modality's ``features.controls`` entry; ``sample_rate`` and
    ``fps`` are the preprocessed audio's and video's.
    """
    from musicfusion.features import controls

    ids = shard["clip_ids"]
    if not len(ids):
        return feature_arrays(ids, np.zeros((0, 0), np.float32), [])
    if modality == "audio":
        X, names = controls.audio_controls(shard_clips(shard, modality), sample_rate, control_params)
    elif modality == "video":
        X, names = controls.video_controls(shard_clips(shard, modality), fps, control_params)
    elif modality == "text":
        X, names = controls.text_controls([str(t) for t in shard["text"]], control_params)
    else:
        raise ValueError(f"no shortcut controls for modality {modality!r}")
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
