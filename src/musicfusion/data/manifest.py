"""The manifest: one row per clip, the contract between a dataset and the workflow.

Built-in presets write it; a user's own dataset plugs in by providing one (see README).
Media paths are relative to the manifest's folder and must stay inside it.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

SPLITS = ("train", "validation", "test")
OPTIONAL_COLUMNS = ("split", "group", "title")


class ManifestError(ValueError):
    """The manifest itself is unusable (as opposed to one bad clip)."""


def path_column(modality: str) -> str:
    return f"{modality}_path"


def required_columns(modalities, tasks) -> list[str]:
    """``clip_id``, a path column per modality the dataset has, and a label column per task."""
    return ["clip_id", *(path_column(m) for m in modalities), *tasks]


def read_manifest(path: str | Path, modalities, tasks, require_all_splits: bool = False) -> pd.DataFrame:
    """Read and check a manifest.

    ``modalities`` and ``tasks`` are the dataset's (musicfusion.plumbing.config.DatasetSpec): each needs
    its column. An empty path means the clip lacks that modality; an empty label, that it is
    unlabelled for that task. ``split`` is optional (the workflow then splits the clips itself);
    ``require_all_splits`` where a given split column must hold every split.
    """
    path = Path(path)
    if not path.is_file():
        raise ManifestError(f"{path}: manifest not found")
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")
    except (UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as err:
        raise ManifestError(f"{path}: cannot read manifest: {err}") from None
    required = required_columns(modalities, tasks)
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise ManifestError(f"{path}: missing columns {missing}; this dataset needs {required} "
                            f"(its modalities and tasks in params.yaml), optionally {list(OPTIONAL_COLUMNS)}")
    if frame.empty:
        raise ManifestError(f"{path}: manifest has no clips")
    if (frame["clip_id"].str.strip() == "").any():
        raise ManifestError(f"{path}: empty clip_id in row(s) {list(frame.index[frame['clip_id'].str.strip() == ''] + 2)[:5]}")
    duplicated = frame["clip_id"][frame["clip_id"].duplicated()].tolist()
    if duplicated:
        raise ManifestError(f"{path}: duplicate clip_id values: {duplicated[:5]}")
    for task in tasks:
        if (frame[task] == "").all():
            raise ManifestError(f"{path}: column {task!r} has no label at all; nothing to learn for that task")
    if "split" in frame.columns:
        bad_split = sorted(set(frame["split"]) - set(SPLITS))
        if bad_split:
            raise ManifestError(f"{path}: unknown split values {bad_split}; allowed: {list(SPLITS)} "
                                "(or leave the split column out and the workflow splits the clips)")
        for split in SPLITS if require_all_splits else ():
            if not (frame["split"] == split).any():
                raise ManifestError(f"{path}: no clip in split {split!r}")
    return frame


def dataset_clip_count(params: dict, spec) -> int:
    """How many clips a dataset has: a preset's classes times its clips per class (what collect
    builds), or the rows of a user dataset's manifest (read and checked here, before any job
    starts). ``spec`` is the dataset's musicfusion.plumbing.config.DatasetSpec."""
    if spec.is_preset:
        return int(spec.preset["clips_per_class"]) * len(spec.preset.get("styles", params["collect"]["styles"]))
    return len(read_manifest(spec.manifest, spec.read_modalities, spec.tasks))
