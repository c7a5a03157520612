"""Preprocess: validate every file of a shard of clips and bring each modality to one form.

- audio: mono, resampled, RMS loudness-normalised, at its real length;
- video: sampled to the configured frame rate, resized, grey, at its real length;
- text: Unicode-normalised, lower-cased, whitespace collapsed.

Audio and video keep their real length between ``preprocess.min_seconds`` and
``max_seconds``: a longer clip is cut to ``max_seconds`` (its start, or its middle, by
``long_clips``). Clips of different lengths are stored without padding: one flat array of
every clip's samples (or frames) and each clip's ``lengths``.

A clip may lack a modality: an empty path in the manifest means *absent*, recorded as such,
not bad. A clip with a bad file (missing, outside the data root, empty, unreadable, shorter
than the minimum, samples not finite, not UTF-8) raises :class:`BadClipError` naming the file
and the problem, or, under the ``skip`` policy, is dropped from every modality and listed in
the shard's report.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

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
    """The file's absolute path, refusing paths that leave the data root."""
    root = root.resolve()
    path = (root / relative).resolve()
    if not path.is_relative_to(root):
        raise BadClipError(clip_id, modality, relative, f"path outside the data root {root}")
    if not path.is_file():
        raise BadClipError(clip_id, modality, path, "file not found")
    if path.stat().st_size == 0:
        raise BadClipError(clip_id, modality, path, "empty file")
    return path


def _window(clip_id: str, modality: str, path: Path, seconds: float, limits: dict) -> tuple[float, float]:
    """(start, length) in seconds of the part of a ``seconds``-long clip that is kept."""
    if seconds < limits["min_seconds"]:
        raise BadClipError(clip_id, modality, path,
                           f"too short: {seconds:.2f} s (preprocess.min_seconds is {limits['min_seconds']} s)")
    length = min(seconds, float(limits["max_seconds"]))
    start = (seconds - length) / 2.0 if limits["long_clips"] == "middle" else 0.0
    return start, length


def load_audio(clip_id: str, path: Path, limits: dict, params: dict) -> np.ndarray:
    """Mono samples at ``params['sample_rate']``, loudness-normalised, of the kept window."""
    import librosa
    import soundfile as sf

    try:
        info = sf.info(path)
    except Exception as err:  # noqa: BLE001 - libsndfile reports many kinds of broken file
        raise BadClipError(clip_id, "audio", path, f"unreadable audio: {err}") from None
    if info.frames == 0:
        raise BadClipError(clip_id, "audio", path, "audio has no samples")
    start, length = _window(clip_id, "audio", path, info.frames / info.samplerate, limits)
    try:
        # Read the window as librosa.load(offset, duration) would, but check the samples before
        # librosa sees them: it refuses non-finite audio with an error of its own.
        native, rate = sf.read(path, start=int(start * info.samplerate), frames=int(length * info.samplerate),
                               dtype="float32", always_2d=True)
    except Exception as err:  # noqa: BLE001
        raise BadClipError(clip_id, "audio", path, f"unreadable audio: {err}") from None
    if not np.all(np.isfinite(native)):
        raise BadClipError(clip_id, "audio", path, "audio samples are not finite (NaN or infinity)")
    samples = librosa.resample(librosa.to_mono(native.T), orig_sr=rate, target_sr=params["sample_rate"])
    rms = float(np.sqrt(np.mean(np.square(samples, dtype=np.float64)))) if len(samples) else 0.0
    if rms == 0.0:
        raise BadClipError(clip_id, "audio", path, "audio is silent")
    gain = 10.0 ** (params["target_rms_dbfs"] / 20.0) / rms
    return (samples * gain).astype(np.float32)


def load_video(clip_id: str, path: Path, limits: dict, params: dict) -> np.ndarray:
    """Grey, resized frames at ``params['fps']`` of the kept window: uint8 ``(n_frames, h, w)``.

    Decodes once, front to back (seeking is slower than reading through), keeping the frame
    nearest each sampling instant.
    """
    import cv2

    capture = cv2.VideoCapture(str(path))
    try:
        if not capture.isOpened():
            raise BadClipError(clip_id, "video", path, "unreadable video")
        source_fps = capture.get(cv2.CAP_PROP_FPS)
        if not source_fps or source_fps <= 0:
            raise BadClipError(clip_id, "video", path, "video has no frame rate")
        # The container's frame count sets the window; decoding below confirms the length.
        start, length = _window(clip_id, "video", path, capture.get(cv2.CAP_PROP_FRAME_COUNT) / source_fps, limits)
        n_out = max(1, int(round(length * params["fps"])))
        wanted: dict[int, list[int]] = {}
        for j in range(n_out):
            wanted.setdefault(int(round((start + j / params["fps"]) * source_fps)), []).append(j)
        frames = np.zeros((n_out, params["height"], params["width"]), dtype=np.uint8)
        filled = np.zeros(n_out, dtype=bool)
        index, last = 0, None
        while index <= max(wanted):
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
    if last is None:
        raise BadClipError(clip_id, "video", path, "unreadable video: no frame could be decoded")
    if not filled.all():  # the container promised a little more than it held: hold the last frame
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


ABSENT_COLUMNS = ["clip_id", "modality"]


def _ragged(clips: list[np.ndarray], dtype, frame_shape: tuple = ()) -> dict:
    """Clips of different lengths as one flat array and each clip's length (no padding)."""
    lengths = np.array([len(c) for c in clips], dtype=np.int64)
    flat = np.concatenate(clips) if clips else np.zeros((0, *frame_shape), dtype=dtype)
    return {"data": flat.astype(dtype, copy=False), "lengths": lengths}


def split_ragged(flat: np.ndarray, lengths: np.ndarray) -> list[np.ndarray]:
    """The clips of a ragged array (:func:`_ragged`), one array each."""
    return np.split(flat, np.cumsum(lengths)[:-1]) if len(lengths) else []


def preprocess_shard(manifest: pd.DataFrame, root: str | Path, shard: int, n_shards: int, modalities,
                     params: dict) -> tuple[dict[str, dict], pd.DataFrame, pd.DataFrame]:
    """Validate and preprocess one shard of the manifest (media paths relative to ``root``).

    ``modalities`` are the dataset's. Returns, per modality, the content of its interim npz
    (``clip_ids`` of the clips that have it, and the data: ``audio``/``frames`` flat with
    ``lengths``, or ``text``), the bad-clip table, and the table of absent modalities (an empty
    path). Under the ``fail`` policy the first bad file raises :class:`BadClipError`.
    """
    policy = params["on_bad_input"]
    if policy not in POLICIES:
        raise ValueError(f"preprocess.on_bad_input must be one of {POLICIES}, not {policy!r}")
    root = Path(root)
    limits = {k: params[k] for k in ("min_seconds", "max_seconds", "long_clips")}
    loaders = {"audio": lambda cid, path: load_audio(cid, path, limits, params["audio"]),
               "video": lambda cid, path: load_video(cid, path, limits, params["video"]),
               "text": lambda cid, path: load_text(cid, path, params["text"])}
    kept: dict[str, dict[str, list]] = {m: {"ids": [], "data": []} for m in modalities}
    bad, absent = [], []
    for row in shard_rows(manifest, shard, n_shards).itertuples(index=False):
        clip_id = row.clip_id
        given = {m: str(getattr(row, path_column(m))).strip() for m in modalities}
        missing = [m for m in modalities if not given[m]]
        try:
            if len(missing) == len(modalities):
                raise BadClipError(clip_id, "+".join(modalities), "(empty)", "no path given for any modality")
            loaded = {m: loaders[m](clip_id, resolve_media(root, clip_id, m, given[m]))
                      for m in modalities if given[m]}
        except BadClipError as err:
            if policy == "fail":
                raise
            log.warning("skipping clip: %s", err)
            bad.append({"clip_id": err.clip_id, "modality": err.modality, "path": err.path, "problem": err.problem})
            continue
        absent += [{"clip_id": clip_id, "modality": m} for m in missing]
        for m, data in loaded.items():
            kept[m]["ids"].append(clip_id)
            kept[m]["data"].append(data)
    arrays = {}
    v = params["video"]
    for m in modalities:
        ids = np.array(kept[m]["ids"], dtype=str)
        if m == "text":
            arrays[m] = {"clip_ids": ids, "text": np.array(kept[m]["data"], dtype=str)}
        elif m == "audio":
            ragged = _ragged(kept[m]["data"], np.float32)
            arrays[m] = {"clip_ids": ids, "audio": ragged["data"], "lengths": ragged["lengths"]}
        else:
            ragged = _ragged(kept[m]["data"], np.uint8, (v["height"], v["width"]))
            arrays[m] = {"clip_ids": ids, "frames": ragged["data"], "lengths": ragged["lengths"]}
    return arrays, pd.DataFrame(bad, columns=BAD_CLIP_COLUMNS), pd.DataFrame(absent, columns=ABSENT_COLUMNS)


def merge_reports(reports: list[pd.DataFrame], columns: list[str]) -> pd.DataFrame:
    """One table of every shard's report (bad clips, or absent modalities), sorted by clip and modality."""
    merged = pd.concat(reports, ignore_index=True) if reports else pd.DataFrame(columns=columns)
    return merged.sort_values(["clip_id", "modality"]).reset_index(drop=True)[columns]
