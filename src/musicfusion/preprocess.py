"""Preprocess: validate every file of a shard of clips and bring each modality to one shape.

- audio: mono, resampled, trimmed or padded to the clip length, RMS loudness-normalised;
- video: sampled to the configured frame rate, resized, grey;
- text: Unicode-normalised, lower-cased, whitespace collapsed.

A clip with a bad file (missing, outside the data root, empty, unreadable, wrong duration,
not UTF-8) raises :class:`BadClipError` naming the file and the problem, or, under the
``skip`` policy, is dropped from every modality and listed in the shard's report.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from musicfusion import MODALITIES
from musicfusion.manifest import path_column

log = logging.getLogger(__name__)

POLICIES = ("fail", "skip")
BAD_CLIP_COLUMNS = ["clip_id", "modality", "path", "problem"]


class BadClipError(ValueError):
    """One clip's file is unusable; the message names the file and the problem."""

    def __init__(self, clip_id: str, modality: str, path: Path | str, problem: str):
        super().__init__(f"{path}: {problem} (clip {clip_id}, {modality})")
        self.clip_id, self.modality, self.path, self.problem = clip_id, modality, str(path), problem


@dataclass(frozen=True)
class ClipFiles:
    clip_id: str
    paths: dict  # modality -> Path


def resolve_media(root: Path, clip_id: str, modality: str, relative: str) -> Path:
    """The file's absolute path, refusing empty paths and paths that leave the data root."""
    if not relative or not relative.strip():
        raise BadClipError(clip_id, modality, "(empty)", "no path given in the manifest")
    root = root.resolve()
    path = (root / relative).resolve()
    if not path.is_relative_to(root):
        raise BadClipError(clip_id, modality, relative, f"path outside the data root {root}")
    if not path.is_file():
        raise BadClipError(clip_id, modality, path, "file not found")
    if path.stat().st_size == 0:
        raise BadClipError(clip_id, modality, path, "empty file")
    return path


def _check_duration(clip_id, modality, path, seconds, expected, tolerance):
    if abs(seconds - expected) > tolerance:
        raise BadClipError(clip_id, modality, path,
                           f"wrong duration {seconds:.2f} s (expected {expected:.2f} s ± {tolerance} s)")


def load_audio(clip_id: str, path: Path, clip_seconds: float, tolerance: float, params: dict) -> np.ndarray:
    import librosa
    import soundfile as sf

    try:
        info = sf.info(path)
    except Exception as err:  # noqa: BLE001 - libsndfile reports many kinds of broken file
        raise BadClipError(clip_id, "audio", path, f"unreadable audio: {err}") from None
    if info.frames == 0:
        raise BadClipError(clip_id, "audio", path, "audio has no samples")
    _check_duration(clip_id, "audio", path, info.frames / info.samplerate, clip_seconds, tolerance)
    try:
        samples, _ = librosa.load(path, sr=params["sample_rate"], mono=True)
    except Exception as err:  # noqa: BLE001
        raise BadClipError(clip_id, "audio", path, f"unreadable audio: {err}") from None
    n = int(round(clip_seconds * params["sample_rate"]))
    samples = librosa.util.fix_length(samples, size=n)
    rms = float(np.sqrt(np.mean(np.square(samples, dtype=np.float64))))
    if rms == 0.0:
        raise BadClipError(clip_id, "audio", path, "audio is silent")
    gain = 10.0 ** (params["target_rms_dbfs"] / 20.0) / rms
    return (samples * gain).astype(np.float32)


def load_video(clip_id: str, path: Path, clip_seconds: float, tolerance: float, params: dict) -> np.ndarray:
    """Decode once, front to back (seeking is slower than reading through), keeping the frames
    nearest to each sampling instant."""
    import cv2

    capture = cv2.VideoCapture(str(path))
    try:
        if not capture.isOpened():
            raise BadClipError(clip_id, "video", path, "unreadable video")
        source_fps = capture.get(cv2.CAP_PROP_FPS)
        if not source_fps or source_fps <= 0:
            raise BadClipError(clip_id, "video", path, "video has no frame rate")
        n_out = int(round(clip_seconds * params["fps"]))
        wanted = {}
        for j in range(n_out):
            wanted.setdefault(int(round(j / params["fps"] * source_fps)), []).append(j)
        frames = np.zeros((n_out, params["height"], params["width"]), dtype=np.uint8)
        filled = np.zeros(n_out, dtype=bool)
        index = 0
        last = None
        while True:
            ok, frame = capture.read()
            if not ok:
                break
            if index in wanted:
                grey = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY) if frame.ndim == 3 else frame
                small = cv2.resize(grey, (params["width"], params["height"]), interpolation=cv2.INTER_AREA)
                for j in wanted[index]:
                    frames[j], filled[j] = small, True
                last = small
            index += 1
    finally:
        capture.release()
    if index == 0:
        raise BadClipError(clip_id, "video", path, "unreadable video: no frame could be decoded")
    _check_duration(clip_id, "video", path, index / source_fps, clip_seconds, tolerance)
    if not filled.all():  # a video a little short of the clip length: hold its last frame
        frames[~filled] = last
    return frames


def normalize_text(text: str, params: dict) -> str:
    """Unicode-normalise, optionally lower-case, and collapse whitespace (``preprocess.text``).

    Shared by the clips' text files and by text queries (``musicfusion recommend --text``).
    """
    text = unicodedata.normalize(params["unicode_form"], text)
    if params["lowercase"]:
        text = text.lower()
    return re.sub(r"\s+", " ", text).strip()


def load_text(clip_id: str, path: Path, params: dict) -> str:
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        raise BadClipError(clip_id, "text", path, f"not UTF-8 text ({err.reason} at byte {err.start})") from None
    text = normalize_text(text, params)
    if not text:
        raise BadClipError(clip_id, "text", path, "text is empty")
    return text


def shard_rows(manifest: pd.DataFrame, shard: int, n_shards: int) -> pd.DataFrame:
    """Clips of one shard: every n_shards-th row in manifest order, so shards stay balanced."""
    if not 0 <= shard < n_shards:
        raise ValueError(f"shard {shard} out of range for {n_shards} shards")
    return manifest.iloc[shard::n_shards]


def preprocess_shard(manifest: pd.DataFrame, root: str | Path, shard: int, n_shards: int, clip_seconds: float,
                     params: dict) -> tuple[dict[str, dict], pd.DataFrame]:
    """Validate and preprocess one shard of the manifest (media paths relative to ``root``).

    Returns, per modality, the content of its interim npz (``clip_ids`` and the data), and the
    bad-clip table. Under the ``fail`` policy the first bad file raises :class:`BadClipError`.
    """
    policy = params["on_bad_input"]
    if policy not in POLICIES:
        raise ValueError(f"preprocess.on_bad_input must be one of {POLICIES}, not {policy!r}")
    root = Path(root)
    rows = shard_rows(manifest, shard, n_shards)
    tolerance = params["duration_tolerance_seconds"]
    kept: dict[str, list] = {m: [] for m in MODALITIES}
    clip_ids, bad = [], []
    for row in rows.itertuples(index=False):
        clip_id = row.clip_id
        try:
            paths = {m: resolve_media(root, clip_id, m, getattr(row, path_column(m))) for m in MODALITIES}
            audio = load_audio(clip_id, paths["audio"], clip_seconds, tolerance, params["audio"])
            video = load_video(clip_id, paths["video"], clip_seconds, tolerance, params["video"])
            text = load_text(clip_id, paths["text"], params["text"])
        except BadClipError as err:
            if policy == "fail":
                raise
            log.warning("skipping clip: %s", err)
            bad.append({"clip_id": err.clip_id, "modality": err.modality, "path": err.path,
                        "problem": err.problem})
            continue
        clip_ids.append(clip_id)
        kept["audio"].append(audio)
        kept["video"].append(video)
        kept["text"].append(text)
    ids = np.array(clip_ids, dtype=str)
    n_samples = int(round(clip_seconds * params["audio"]["sample_rate"]))
    v = params["video"]
    empty_video = (0, int(round(clip_seconds * v["fps"])), v["height"], v["width"])
    arrays = {
        "audio": {"clip_ids": ids,
                  "audio": np.stack(kept["audio"]) if clip_ids else np.zeros((0, n_samples), np.float32)},
        "video": {"clip_ids": ids,
                  "frames": np.stack(kept["video"]) if clip_ids else np.zeros(empty_video, np.uint8)},
        "text": {"clip_ids": ids, "text": np.array(kept["text"], dtype=str)},
    }
    return arrays, pd.DataFrame(bad, columns=BAD_CLIP_COLUMNS)


def merge_bad_clip_reports(reports: list[pd.DataFrame]) -> pd.DataFrame:
    """One table of every shard's bad clips, sorted by clip and modality."""
    merged = pd.concat(reports, ignore_index=True) if reports else pd.DataFrame(columns=BAD_CLIP_COLUMNS)
    return merged.sort_values(["clip_id", "modality"]).reset_index(drop=True)[BAD_CLIP_COLUMNS]
