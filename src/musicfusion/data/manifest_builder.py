"""Build a manifest from a folder of media files, so nobody writes the CSV by hand.

Two layouts are understood:

``class-folders``
    every first-level folder of the root is a class; its name is the clip's label (in the
    column the caller names). Files deeper inside a class folder belong to that class too;
    files directly in the root are reported and skipped.
``flat``
    media files anywhere under the root, no label column.

Files in the same folder with the same stem (``x.wav``, ``x.mp4``, ``x.txt``) are one clip. The
builder never reads the media: it only pairs names. Everything it could not use is returned in
``ManifestBuild.unpaired`` (``path, problem``) rather than printed; the CLI prints it.
:func:`refused_media` then reads the audio and video files' headers only (duration, sample or
frame rate) to list those the workflow's preprocessing would refuse: unreadable, or shorter than
the run's feature extractors describe.

Paths in the manifest are POSIX paths relative to the root. Nothing outside the root is used:
a symbolic link (to a file or a folder) whose target resolves outside the root is reported and
never followed. Hidden files and folders (names starting with ".") are ignored, and so is the
manifest itself (``manifest.csv`` in the root, plus any path passed as ``ignore``).
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import pandas as pd
import yaml

from musicfusion import MODALITIES

# Recognised extensions per modality (compared case-insensitively, without the dot).
EXTENSIONS: dict[str, tuple[str, ...]] = {
    "audio": ("wav", "flac", "ogg", "mp3", "aiff", "aif", "m4a"),
    "video": ("mp4", "mkv", "avi", "mov", "webm", "m4v"),
    "text": ("txt",),
    # Scores: MIDI, MusicXML (plain and compressed), Humdrum kern, ABC.
    "score": ("mid", "midi", "xml", "musicxml", "mxl", "krn", "abc"),
}
MODALITY_OF_EXTENSION: dict[str, str] = {ext: m for m, exts in EXTENSIONS.items() for ext in exts}

LAYOUTS = ("class-folders", "flat")
DEFAULT_LAYOUT = "class-folders"
DEFAULT_LABEL = "label"
MANIFEST_NAME = "manifest.csv"
ID_SEPARATOR = "__"  # replaces "/" in clip ids
# The workflow's `dataset` wildcard (workflow/rules/common.smk).
DATASET_NAME = re.compile(r"[A-Za-z0-9_-]+")
# A label column is a task (params.yaml `tasks`, workflow/schemas/params.schema.yaml).
TASK_NAME = re.compile(r"[A-Za-z0-9_]+")
# Columns of the manifest format that a label column may not take.
RESERVED_COLUMNS = ("clip_id", "split", "group", "title", *(f"{m}_path" for m in MODALITIES))

OUTSIDE_ROOT = "outside the data root"


class ManifestBuildError(ValueError):
    """The root or the options cannot give a manifest (as opposed to one file that is skipped)."""


@dataclass(frozen=True)
class ManifestBuild:
    """What ``build_manifest`` found.

    ``manifest``: one row per clip, sorted by ``clip_id``: ``clip_id``, the label column (class
    folders only), then ``<modality>_path`` for each modality found (empty where a clip lacks it).
    ``modalities``: the modalities found, in the order audio, video, text.
    ``unpaired``: ``path, problem`` for every file skipped or clip left incomplete, sorted by path.
    ``label``: the label column's name (None for a flat layout).
    """

    manifest: pd.DataFrame
    modalities: list[str]
    unpaired: pd.DataFrame
    label: str | None = None

    @property
    def classes(self) -> dict[str, int]:
        """Clips per class, by class name (empty without a label column)."""
        if self.label is None:
            return {}
        counts = self.manifest[self.label].value_counts()
        return {str(name): int(counts[name]) for name in sorted(counts.index)}


def _modality_of(name: str) -> str | None:
    suffix = PurePosixPath(name).suffix
    return MODALITY_OF_EXTENSION.get(suffix[1:].lower()) if suffix else None


def _inside(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


class _Scan:
    """One walk of the tree: media files by (folder parts, stem, modality), plus the problems."""

    def __init__(self, root: Path, layout: str, ignore: set[str]):
        self.root = root
        self.real_root = os.path.realpath(root)
        self.layout = layout
        self.ignore = ignore
        self.files: dict[tuple[tuple[str, ...], str], dict[str, list[str]]] = {}
        self.problems: list[tuple[str, str]] = []
        self.scanned: dict[str, str] = {}  # real folder -> relative path it was scanned as

    def report(self, rel: str, problem: str) -> None:
        self.problems.append((rel, problem))

    def walk(self, folder: Path, parts: tuple[str, ...]) -> None:
        real = os.path.realpath(folder)
        if real in self.scanned:
            self.report("/".join(parts) + "/", f"same folder as {self.scanned[real] or '.'}/ "
                                               "(symbolic link); not scanned twice")
            return
        self.scanned[real] = "/".join(parts)
        try:
            with os.scandir(folder) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError as err:
            self.report("/".join(parts) + "/" if parts else ".", f"cannot read folder: {err.strerror or err}")
            return
        for entry in entries:
            if entry.name.startswith("."):
                continue  # hidden: ignored silently
            self.visit(entry, parts)

    def visit(self, entry: os.DirEntry, parts: tuple[str, ...]) -> None:
        rel_parts = (*parts, entry.name)
        rel = "/".join(rel_parts)
        path = Path(entry.path)
        try:
            if entry.is_symlink():
                target = os.path.realpath(path)
                if not _inside(target, self.real_root):
                    self.report(rel, f"{OUTSIDE_ROOT} (symbolic link to {target}); not followed")
                    return
                if not os.path.exists(target):
                    self.report(rel, "broken symbolic link")
                    return
            mode = os.stat(path).st_mode  # follows a link, now known to stay inside the root
        except OSError as err:
            self.report(rel, f"cannot read: {err.strerror or err}")
            return
        if stat.S_ISDIR(mode):
            self.walk(path, rel_parts)
        elif not stat.S_ISREG(mode):
            self.report(rel, "not a regular file")
        elif os.path.realpath(path) in self.ignore:
            return  # the manifest itself
        elif self.layout == "class-folders" and not parts:
            self.report(rel, "file directly in the root, not in a class folder")
        elif (modality := _modality_of(entry.name)) is None:
            known = ", ".join(sorted(MODALITY_OF_EXTENSION))
            suffix = PurePosixPath(entry.name).suffix
            self.report(rel, f"unknown extension {suffix!r} (known: {known})" if suffix
                        else f"no extension (known: {known})")
        else:
            stem = PurePosixPath(entry.name).stem
            self.files.setdefault((parts, stem), {}).setdefault(modality, []).append(rel)


def _unique_ids(keys: list[tuple[tuple[str, ...], str]]) -> dict[tuple[tuple[str, ...], str], str]:
    """Clip ids ``folder__sub__stem``, unique even ignoring case (a later clip gets ``-2``, ``-3``...).

    Depends only on the set of keys, so the same tree always gives the same ids.
    """
    base = {key: ID_SEPARATOR.join((*key[0], key[1])) for key in keys}
    taken = {b.casefold() for b in base.values()}
    seen: set[str] = set()
    ids = {}
    for key in sorted(keys, key=lambda k: (base[k].casefold(), base[k], k)):
        clip_id = base[key]
        if clip_id.casefold() in seen:
            n = 2
            while f"{clip_id}-{n}".casefold() in taken:
                n += 1
            clip_id = f"{clip_id}-{n}"
            taken.add(clip_id.casefold())
        seen.add(clip_id.casefold())
        ids[key] = clip_id
    return ids


def build_manifest(root: str | Path, label: str | None = DEFAULT_LABEL, layout: str = DEFAULT_LAYOUT, *,
                   ignore: Iterable[str | Path] = ()) -> ManifestBuild:
    """Pair the media files under ``root`` into clips (see the module's docstring).

    ``label``: the label column's name for ``class-folders`` (required); must be None for ``flat``.
    ``ignore``: more files to skip silently (e.g. the manifest about to be written).
    Raises ManifestBuildError (a ValueError) naming the root when it is missing, not a folder or
    gives no clip, and for bad options.
    """
    if layout not in LAYOUTS:
        raise ManifestBuildError(f"unknown layout {layout!r}; choose one of {', '.join(LAYOUTS)}")
    if layout == "flat" and label is not None:
        raise ManifestBuildError(f"a flat layout has no labels, so no label column ({label!r}); "
                                 "use the class-folders layout for labels from folder names")
    if layout == "class-folders":
        if label is None or not str(label).strip():
            raise ManifestBuildError("the class-folders layout needs a label column name")
        if not TASK_NAME.fullmatch(str(label)):
            raise ManifestBuildError(f"label column {label!r}: use only letters, digits and '_' "
                                     "(it is a task name in params.yaml)")
        if label in RESERVED_COLUMNS:
            raise ManifestBuildError(f"label column {label!r} is a column of the manifest format; "
                                     "choose another name (e.g. genre)")
    root = Path(root)
    if not root.exists():
        raise ManifestBuildError(f"{root}: no such folder")
    if not root.is_dir():
        raise ManifestBuildError(f"{root}: not a folder")

    ignored = {os.path.realpath(root / MANIFEST_NAME), *(os.path.realpath(p) for p in ignore)}
    scan = _Scan(root, layout, ignored)
    scan.walk(root, ())

    problems = list(scan.problems)
    clips = []
    for (parts, stem), by_modality in scan.files.items():
        paths = {}
        for modality, rels in by_modality.items():
            if len(rels) > 1:
                names = ", ".join(sorted(PurePosixPath(r).name for r in rels))
                for rel in rels:
                    problems.append((rel, f"ambiguous: {len(rels)} {modality} files with the stem "
                                          f"{stem!r} in one folder ({names}); none used"))
            else:
                paths[modality] = rels[0]
        if paths:
            clips.append(((parts, stem), paths, set(by_modality)))
    if not clips:
        where = (" in a class folder (files directly in it are not used with the class-folders "
                 "layout; try the flat layout)" if layout == "class-folders" else "")
        known = ", ".join(sorted(MODALITY_OF_EXTENSION))
        raise ManifestBuildError(f"{root}: no clip found{where}; media files have the extensions {known}")

    modalities = [m for m in MODALITIES if any(m in paths for _, paths, _ in clips)]
    ids = _unique_ids([key for key, _, _ in clips])
    rows = []
    for key, paths, present in clips:
        parts, stem = key
        first = min(paths.values())
        for modality in modalities:
            if modality not in present:  # an ambiguous modality is reported as such already
                problems.append((first, f"no {modality} file with this stem"))
        row = {"clip_id": ids[key]}
        if label is not None:
            row[label] = parts[0]
        row.update({f"{m}_path": paths.get(m, "") for m in modalities})
        rows.append(row)
    columns = ["clip_id", *([label] if label is not None else []), *(f"{m}_path" for m in modalities)]
    manifest = (pd.DataFrame(rows, columns=columns).sort_values("clip_id", kind="stable")
                .reset_index(drop=True))
    unpaired = (pd.DataFrame(sorted(problems), columns=["path", "problem"])
                .astype(str).reset_index(drop=True))
    return ManifestBuild(manifest=manifest, modalities=modalities, unpaired=unpaired, label=label)


# FFmpeg's own messages (through OpenCV) about a file it cannot open: quiet, the problem is reported.
FFMPEG_QUIET = "-8"


def audio_header_seconds(path: Path) -> float:
    """The audio file's duration from its header (soundfile, as preprocessing reads it); ValueError
    naming the problem when the header is unreadable or lists no samples."""
    import soundfile as sf

    try:
        info = sf.info(str(path))
    except Exception as err:  # noqa: BLE001 - libsndfile reports many kinds of broken file
        raise ValueError(f"unreadable audio: {getattr(err, 'error_string', None) or err}") from None
    if info.frames <= 0 or info.samplerate <= 0 or info.channels <= 0:
        raise ValueError(f"audio has no samples ({info.frames} frames, {info.channels} channels, "
                         f"{info.samplerate} Hz)")
    return info.frames / info.samplerate


def video_header_seconds(path: Path) -> float:
    """The video file's duration from its container (OpenCV's frame count and rate, as
    preprocessing reads them, nothing decoded); ValueError naming the problem."""
    os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", FFMPEG_QUIET)
    import cv2

    capture = cv2.VideoCapture(str(path))
    try:
        if not capture.isOpened():
            raise ValueError("unreadable video")
        fps, listed = capture.get(cv2.CAP_PROP_FPS), int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
    finally:
        capture.release()
    if not fps or fps <= 0:
        raise ValueError("video has no frame rate")
    if listed <= 0:
        raise ValueError("unreadable video: its container lists no frames")
    return listed / fps


HEADER_SECONDS = {"audio": audio_header_seconds, "video": video_header_seconds}


def refused_media(root: str | Path, manifest: pd.DataFrame, limits: dict) -> pd.DataFrame:
    """``path, problem`` of each audio and video file of ``manifest`` (paths relative to ``root``,
    as :func:`build_manifest` gives them) that preprocessing would refuse from its header alone:
    unreadable, no samples or frames, or too short under ``limits``
    (:func:`musicfusion.data.preprocess.clip_limits`: what the extractors need, and the optional
    floor ``min_seconds``). Headers only, so fast; sorted by path. A file may still prove bad
    when decoded (NaN samples, frames that cannot be decoded, silence)."""
    from musicfusion.data.preprocess import shortness

    root, problems = Path(root), []
    for modality, seconds_of in HEADER_SECONDS.items():
        column = f"{modality}_path"
        for rel in manifest[column] if column in manifest.columns else []:
            if not rel:
                continue
            try:
                problem = shortness(modality, seconds_of(root / rel), limits)
            except ValueError as err:
                problem = str(err)
            if problem:
                problems.append((rel, problem))
    return pd.DataFrame(sorted(problems), columns=["path", "problem"]).astype(str).reset_index(drop=True)


def relocate(manifest: pd.DataFrame, root: str | Path, manifest_dir: str | Path) -> pd.DataFrame:
    """The manifest with its paths made relative to ``manifest_dir`` instead of ``root``.

    Manifest paths may not leave the manifest's folder, so ``manifest_dir`` must be ``root`` or a
    folder containing it; otherwise ManifestBuildError.
    """
    real_root, real_dir = Path(os.path.realpath(root)), Path(os.path.realpath(manifest_dir))
    if real_root == real_dir:
        return manifest
    if not real_root.is_relative_to(real_dir):
        raise ManifestBuildError(f"{manifest_dir}: the manifest must be written in {root} or a folder "
                                 "containing it (its paths are relative to its folder and may not leave it)")
    prefix = real_root.relative_to(real_dir).as_posix()
    out = manifest.copy()
    for column in (c for c in out.columns if c.endswith("_path")):
        out[column] = [f"{prefix}/{p}" if p else "" for p in out[column]]
    return out


def check_dataset_name(name: str) -> str:
    if not isinstance(name, str) or not DATASET_NAME.fullmatch(name):
        raise ManifestBuildError(f"dataset name {name!r}: use only letters, digits, '_' and '-' "
                                 "(it names the workflow's output folders)")
    return name


def dataset_entry(name: str, manifest_path: str | Path, modalities: Iterable[str], tasks: Iterable[str]) -> str:
    """The ``datasets:`` entry to paste into params.yaml (valid YAML, the manifest's path absolute)."""
    check_dataset_name(name)
    entry = {"datasets": {name: {"manifest": os.path.abspath(manifest_path),
                                 "modalities": [str(m) for m in modalities],
                                 "tasks": [str(t) for t in tasks]}}}
    # default_flow_style=None: lists of scalars inline ([audio, text]), mappings as blocks.
    return yaml.safe_dump(entry, default_flow_style=None, sort_keys=False, allow_unicode=True)
