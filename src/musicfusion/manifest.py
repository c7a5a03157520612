"""The manifest: one row per clip, the contract between a dataset and the workflow.

Built-in presets write it; a user's own dataset plugs in by providing one (see README).
Media paths are relative to the manifest's folder and must stay inside it.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from musicfusion import MODALITIES

REQUIRED_COLUMNS = ("clip_id", "split", "style", "instrument", "audio_path", "video_path", "text_path")
SPLITS = ("train", "validation", "test")
LABEL_COLUMNS = ("style", "instrument")


class ManifestError(ValueError):
    """The manifest itself is unusable (as opposed to one bad clip)."""


def path_column(modality: str) -> str:
    return f"{modality}_path"


def read_manifest(path: str | Path, require_all_splits: bool = False) -> pd.DataFrame:
    """Read and check a manifest; ``require_all_splits`` where training and testing need every split."""
    path = Path(path)
    if not path.is_file():
        raise ManifestError(f"{path}: manifest not found")
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")
    except (UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as err:
        raise ManifestError(f"{path}: cannot read manifest: {err}") from None
    missing = [c for c in REQUIRED_COLUMNS if c not in frame.columns]
    if missing:
        raise ManifestError(f"{path}: missing columns {missing}; required: {list(REQUIRED_COLUMNS)}")
    if frame.empty:
        raise ManifestError(f"{path}: manifest has no clips")
    duplicated = frame["clip_id"][frame["clip_id"].duplicated()].tolist()
    if duplicated:
        raise ManifestError(f"{path}: duplicate clip_id values: {duplicated[:5]}")
    bad_split = sorted(set(frame["split"]) - set(SPLITS))
    if bad_split:
        raise ManifestError(f"{path}: unknown split values {bad_split}; allowed: {list(SPLITS)}")
    for split in SPLITS if require_all_splits else ():
        if not (frame["split"] == split).any():
            raise ManifestError(f"{path}: no clip in split {split!r}")
    return frame
