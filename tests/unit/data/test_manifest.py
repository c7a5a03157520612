"""The manifest contract: a dataset's manifest is read and checked, each problem named, and a
dataset's clip count known before any job starts."""

from __future__ import annotations

import pandas as pd
import pytest

from musicfusion import MODALITIES
from musicfusion.data.manifest import ManifestError, dataset_clip_count, read_manifest
from musicfusion.plumbing.config import resolve_dataset

TASKS = ("style", "instrument")


def _manifest(tmp_path, rows):
    path = tmp_path / "manifest.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


ROW = {"clip_id": "a", "split": "train", "style": "s", "instrument": "i",
       "audio_path": "a.wav", "video_path": "a.mp4", "text_path": "a.txt"}


# The modalities of ROW (a manifest needs a path column for each modality the dataset has).
ROW_MODALITIES = ("audio", "video", "text")


def test_manifest_problems_are_named(tmp_path):
    rows = [dict(ROW, clip_id=c, split=s) for c, s in (("a", "train"), ("b", "validation"), ("c", "test"))]
    with pytest.raises(ManifestError, match=r"missing columns \['score_path'\]"):
        read_manifest(_manifest(tmp_path, rows), MODALITIES, TASKS)
    assert len(read_manifest(_manifest(tmp_path, rows), ROW_MODALITIES, TASKS)) == 3
    with pytest.raises(ManifestError, match="duplicate clip_id"):
        read_manifest(_manifest(tmp_path, rows + [rows[0]]), ROW_MODALITIES, TASKS)
    with pytest.raises(ManifestError, match="missing columns"):
        read_manifest(_manifest(tmp_path, [{k: v for k, v in r.items() if k != "style"} for r in rows]),
                      ROW_MODALITIES, TASKS)
    with pytest.raises(ManifestError, match="unknown split"):
        read_manifest(_manifest(tmp_path, rows + [dict(ROW, clip_id="d", split="dev")]), ROW_MODALITIES, TASKS)
    with pytest.raises(ManifestError, match="no clip in split 'test'"):
        read_manifest(_manifest(tmp_path, rows[:2]), ROW_MODALITIES, TASKS, require_all_splits=True)
    with pytest.raises(ManifestError, match="not found"):
        read_manifest(tmp_path / "nope.csv", ROW_MODALITIES, TASKS)


def test_a_preset_has_its_classes_times_clips_per_class_and_a_user_dataset_its_manifest_rows(params_copy, tmp_path):
    default = params_copy["collect"]["presets"]["default"]
    assert dataset_clip_count(params_copy, resolve_dataset(params_copy, "default")) == \
        default["clips_per_class"] * len(params_copy["collect"]["styles"])
    # A preset with its own classes counts those.
    params_copy["collect"]["presets"]["default"]["styles"] = {"a": {"include": ["x*"]}, "b": {"include": ["y*"]}}
    assert dataset_clip_count(params_copy, resolve_dataset(params_copy, "default")) == 2 * default["clips_per_class"]
    manifest = tmp_path / "manifest.csv"
    pd.DataFrame({"clip_id": ["a", "b", "c"], "text_path": ["a.txt", "b.txt", "c.txt"],
                  "genre": ["x", "y", "x"]}).to_csv(manifest, index=False)
    params_copy["datasets"] = {"mine": {"manifest": str(manifest), "modalities": ["text"], "tasks": ["genre"]}}
    assert dataset_clip_count(params_copy, resolve_dataset(params_copy, "mine")) == 3
    params_copy["datasets"]["mine"]["manifest"] = str(tmp_path / "missing.csv")
    with pytest.raises(ManifestError, match="missing.csv"):
        dataset_clip_count(params_copy, resolve_dataset(params_copy, "mine"))
