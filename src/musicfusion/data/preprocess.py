"""Preprocess: validate every file of a shard of clips and bring each modality to one form.

- audio: mono, resampled, RMS loudness-normalised, at its real length;
- video: sampled to the configured frame rate, resized, grey, at its real length;
- text: Unicode-normalised, lower-cased, whitespace collapsed;
- score: parsed (MIDI, MusicXML, kern, ABC) into its notes, one row each (musicfusion.data.scores).

Audio and video keep their real length up to ``preprocess.max_seconds``: a longer clip is cut
to ``max_seconds`` (its start, or its middle, by ``long_clips``). A clip is too short only below
what the run's feature sets of its modality describe (:func:`extractor_minimums`, from each
extractor's ``shortest`` in :mod:`musicfusion.features.registry`) or below the optional floor
``preprocess.min_seconds``. Clips of different lengths are stored without padding: one flat array
of every clip's samples (or frames) and each clip's ``lengths``.

A clip may lack a modality: an empty path in the manifest means *absent*, recorded as such,
not bad. A clip with a bad file (missing, outside the data root, empty, unreadable, shorter
than its extractors need, samples not finite, video frames that cannot be decoded, not UTF-8) raises
:class:`BadClipError` naming the file and the problem, or, under the ``skip`` policy, is
dropped from every modality and listed in the shard's report. Audio and video are checked
whole, whatever part of them is kept: a defect outside the kept window makes the clip bad too.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from musicfusion import MEDIA_KEYS
from musicfusion.data.manifest import path_column
from musicfusion.data.scores import NOTE_COLUMNS
from musicfusion.plumbing.files import PieceSpool
from musicfusion.plumbing.runtime import progress

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


# The modalities read at their real length, within the limits (their clips can be too short).
TIMED_MODALITIES = ("audio", "video")


def extractor_minimums(features: dict, preprocess: dict, modalities) -> dict[str, float]:
    """The shortest clip, in seconds, of each timed modality among ``modalities`` (a dataset's)
    that the run's feature sets of that modality describe (its own and ``features.extra_sets``).

    ``features`` and ``preprocess``: params.yaml's sections (the preprocessed rates).
    """
    from musicfusion.features.registry import run_feature_sets, shortest_clip_seconds

    rates = {"sample_rate": preprocess["audio"]["sample_rate"], "fps": preprocess["video"]["fps"]}
    feature_sets = run_feature_sets(features, list(modalities))
    return {m: shortest_clip_seconds(m, features, rates, feature_sets) for m in TIMED_MODALITIES if m in modalities}


def clip_limits(preprocess: dict, shortest: dict | None = None) -> dict:
    """What a clip's length is read within: ``max_seconds`` and ``long_clips``, the optional floor
    ``min_seconds`` (0 when absent) and ``shortest``, the seconds each timed modality's extractors
    need (:func:`extractor_minimums`; none when not given)."""
    return {"min_seconds": float(preprocess.get("min_seconds") or 0.0), "max_seconds": preprocess["max_seconds"],
            "long_clips": preprocess["long_clips"], "shortest": dict(shortest or {})}


def shortness(modality: str, seconds: float, limits: dict) -> str | None:
    """Why a ``seconds``-long clip of ``modality`` is too short under ``limits``, or None."""
    need = float(limits.get("shortest", {}).get(modality, 0.0))
    floor = float(limits.get("min_seconds") or 0.0)
    if seconds < need:
        return f"too short: {seconds:.3g} s; its {modality} feature extractors need at least {need:.3g} s"
    if seconds < floor:
        return f"too short: {seconds:.3g} s (preprocess.min_seconds is {floor} s)"
    return None


def _window(clip_id: str, modality: str, path: Path, seconds: float, limits: dict) -> tuple[float, float]:
    """(start, length) in seconds of the part of a ``seconds``-long clip that is kept."""
    problem = shortness(modality, seconds, limits)
    if problem:
        raise BadClipError(clip_id, modality, path, problem)
    length = min(seconds, float(limits["max_seconds"]))
    start = (seconds - length) / 2.0 if limits["long_clips"] == "middle" else 0.0
    return start, length


# Audio is read (and checked) this many frames at a time: a long file never has to fit in memory.
AUDIO_BLOCK_FRAMES = 1 << 16
# A container's frame count may promise a frame or two more than its stream holds (counts
# estimated from a duration, an encoder that drops its last frame): up to this many frames
# missing at the very end are tolerated, the last decoded frame held in their place. More
# missing at the end, or any frame missing before it, makes the clip bad.
VIDEO_END_SLACK_FRAMES = 2


def _read_audio_checked(clip_id: str, path: Path, first: int, count: int) -> tuple[np.ndarray, int]:
    """Frames ``[first, first + count)`` of the file as float32 ``(n, channels)``, and its rate,
    after checking every sample of the whole file, block by block, for NaN and infinity.

    The file is read once, front to back. SoundFile.read per block, as ``soundfile.blocks``
    does, but without its one reused buffer, which holds stale samples when a file ends before
    its header says.
    """
    import soundfile as sf

    parts, position = [], 0
    with sf.SoundFile(path) as source:
        rate = source.samplerate
        while True:
            block = source.read(AUDIO_BLOCK_FRAMES, dtype="float32", always_2d=True)
            if not len(block):
                break
            finite = np.isfinite(block)
            if not finite.all():
                at = position + int(np.argmin(finite.all(axis=1)))
                raise BadClipError(clip_id, "audio", path,
                                   f"audio samples are not finite (NaN or infinity) at {at / rate:.2f} s")
            lo, hi = max(first - position, 0), min(first + count - position, len(block))
            if lo < hi:
                parts.append(block[lo:hi])
            position += len(block)
    kept = np.concatenate(parts) if parts else np.zeros((0, 1), dtype=np.float32)
    return kept, rate


def load_audio(clip_id: str, path: Path, limits: dict, params: dict) -> np.ndarray:
    """Mono samples at ``params['sample_rate']``, loudness-normalised, of the kept window.

    Every sample of the file is checked, inside the window or not: NaN or infinity anywhere
    makes the clip bad (:class:`BadClipError`, naming the time of the first such sample).
    """
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
        # The window as librosa.load(offset, duration) would read it, but checked before librosa
        # sees it: it refuses non-finite audio with an error of its own.
        native, rate = _read_audio_checked(clip_id, path, int(start * info.samplerate),
                                           int(length * info.samplerate))
    except BadClipError:
        raise
    except Exception as err:  # noqa: BLE001
        raise BadClipError(clip_id, "audio", path, f"unreadable audio: {err}") from None
    samples = librosa.resample(librosa.to_mono(native.T), orig_sr=rate, target_sr=params["sample_rate"])
    rms = float(np.sqrt(np.mean(np.square(samples, dtype=np.float64)))) if len(samples) else 0.0
    if rms == 0.0:
        raise BadClipError(clip_id, "audio", path, "audio is silent")
    gain = 10.0 ** (params["target_rms_dbfs"] / 20.0) / rms
    return (samples * gain).astype(np.float32)


def undecoded_frames(positions: list[int], decoded: int, listed: int) -> list[tuple[int, int]]:
    """Ranges ``(first, last)`` (0-based, inclusive) of the ``listed`` frames that were not decoded.

    ``positions`` are the decoded frames' indices from their timestamps; where those do not
    rise strictly (a stream without timestamps) the frames are taken as decoded in order from
    the first, and only a shortfall at the end can be located.
    """
    if decoded and (len(positions) != decoded or any(b <= a for a, b in zip(positions, positions[1:]))
                    or positions[0] < 0):
        positions = list(range(decoded))
    if not positions:
        return [(0, listed - 1)] if listed > 0 else []
    ranges = [(0, positions[0] - 1)] if positions[0] > 0 else []
    ranges += [(a + 1, b - 1) for a, b in zip(positions, positions[1:]) if b > a + 1]
    if positions[-1] + 1 < listed:
        ranges.append((positions[-1] + 1, listed - 1))
    return ranges


def _frames_problem(ranges: list[tuple[int, int]], decoded: int, listed: int) -> str:
    if not ranges:
        return f"only {decoded} of the {listed} video frames its container lists could be decoded"
    n = sum(b - a + 1 for a, b in ranges)
    spans = ", ".join(f"{a + 1}" if a == b else f"{a + 1}-{b + 1}" for a, b in ranges)
    return f"video frame{'s' if n > 1 else ''} {spans} of {listed} could not be decoded"


def load_video(clip_id: str, path: Path, limits: dict, params: dict) -> np.ndarray:
    """Grey, resized frames at ``params['fps']`` of the kept window: uint8 ``(n_frames, h, w)``.

    Decodes every frame of the file once, front to back (seeking is slower than reading
    through), converting only the frame nearest each sampling instant. A frame that cannot be
    decoded, inside the kept window or not, makes the clip bad (:class:`BadClipError` naming
    the frames), except for up to :data:`VIDEO_END_SLACK_FRAMES` missing at the very end.
    Corruption that FFmpeg conceals (it returns a damaged frame and only prints an error) is
    not seen here.
    """
    import cv2

    capture = cv2.VideoCapture(str(path))
    try:
        if not capture.isOpened():
            raise BadClipError(clip_id, "video", path, "unreadable video")
        source_fps = capture.get(cv2.CAP_PROP_FPS)
        if not source_fps or source_fps <= 0:
            raise BadClipError(clip_id, "video", path, "video has no frame rate")
        listed = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
        if listed <= 0:
            raise BadClipError(clip_id, "video", path, "unreadable video: its container lists no frames")
        # The container's frame count sets the window; decoding below confirms the length.
        start, length = _window(clip_id, "video", path, listed / source_fps, limits)
        n_out = max(1, int(round(length * params["fps"])))
        wanted: dict[int, list[int]] = {}
        for j in range(n_out):
            wanted.setdefault(int(round((start + j / params["fps"]) * source_fps)), []).append(j)
        frames = np.zeros((n_out, params["height"], params["width"]), dtype=np.uint8)
        filled = np.zeros(n_out, dtype=bool)
        decoded, failed, positions, last = 0, 0, [], None
        # OpenCV's FFmpeg backend fails one grab() per frame it cannot decode and goes on with
        # the next frame on the following call; at the stream's end it fails for good. So read
        # on past failures until they outnumber the frames the container still lists.
        while decoded + failed <= listed:
            if not capture.grab():
                failed += 1
                continue
            positions.append(int(round(capture.get(cv2.CAP_PROP_POS_MSEC) * source_fps / 1000.0)))
            if decoded in wanted:
                ok, frame = capture.retrieve()
                if not ok:
                    raise BadClipError(clip_id, "video", path,
                                       f"video frame {decoded + 1} of {listed} could not be decoded")
                grey = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY) if frame.ndim == 3 else frame
                small = cv2.resize(grey, (params["width"], params["height"]), interpolation=cv2.INTER_AREA)
                for j in wanted[decoded]:
                    frames[j], filled[j] = small, True
                last = small
            decoded += 1
    finally:
        capture.release()
    if decoded == 0:
        raise BadClipError(clip_id, "video", path, "unreadable video: no frame could be decoded")
    if decoded < listed:
        ranges = undecoded_frames(positions, decoded, listed)
        inside = [r for r in ranges if r[1] < listed - 1]
        if inside or listed - decoded > VIDEO_END_SLACK_FRAMES:
            raise BadClipError(clip_id, "video", path, _frames_problem(ranges, decoded, listed))
    if not filled.all():  # the container promised a frame or two more than it held: hold the last
        if last is None:
            raise BadClipError(clip_id, "video", path, _frames_problem(undecoded_frames(positions, decoded, listed),
                                                                       decoded, listed))
        frames[~filled] = last
    return frames


def load_score(clip_id: str, path: Path, params: dict) -> np.ndarray:
    """The score's notes (musicfusion.data.scores); unparsable, empty or too short is a bad clip."""
    from musicfusion.data.scores import ScoreError, read_score

    try:
        return read_score(path, params["min_notes"])
    except ScoreError as err:
        raise BadClipError(clip_id, "score", path, str(err).removeprefix(f"{path}: ")) from None


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


def _ragged(clips: list[np.ndarray] | PieceSpool, lengths: list[int], dtype, frame_shape: tuple = ()) -> dict:
    """Clips of different lengths as the pieces of one flat array (``save_npz`` writes them one
    after another, never joined in memory) and each clip's length (no padding)."""
    if isinstance(clips, list) and not clips:
        clips = [np.zeros((0, *frame_shape), dtype=dtype)]
    return {"data": clips, "lengths": np.array(lengths, dtype=np.int64)}


def preprocess_shard(manifest: pd.DataFrame, root: str | Path, shard: int, n_shards: int, modalities,
                     params: dict, spool_dir: str | Path | None = None,
                     shortest: dict | None = None) -> tuple[dict[str, dict], pd.DataFrame, pd.DataFrame]:
    """Validate and preprocess one shard of the manifest (media paths relative to ``root``).

    ``modalities`` are the dataset's. Returns, per modality, the content of its interim npz
    (``clip_ids`` of the clips that have it, and the data: ``audio``/``frames`` as a list of
    per-clip arrays stored flat, with ``lengths``, or ``text``; with ``spool_dir``, audio and
    frames go to :class:`~musicfusion.plumbing.files.PieceSpool` files there as each clip is read, so the
    job's memory does not grow with the shard: close them after saving), the bad-clip table, and
    the table of absent modalities (an empty path). Under the ``fail`` policy the first bad file
    raises :class:`BadClipError`.
    ``shortest``: the seconds each timed modality's extractors need (:func:`extractor_minimums`);
    a shorter clip is bad. Without it only ``min_seconds`` bounds a clip's length.
    """
    policy = params["on_bad_input"]
    if policy not in POLICIES:
        raise ValueError(f"preprocess.on_bad_input must be one of {POLICIES}, not {policy!r}")
    root = Path(root)
    limits = clip_limits(params, shortest)
    loaders = {"audio": lambda cid, path: load_audio(cid, path, limits, params["audio"]),
               "video": lambda cid, path: load_video(cid, path, limits, params["video"]),
               "text": lambda cid, path: load_text(cid, path, params["text"]),
               "score": lambda cid, path: load_score(cid, path, params["score"])}
    v = params["video"]
    shapes = {"audio": (np.float32, ()), "video": (np.uint8, (v["height"], v["width"])),
              "score": (np.float64, (len(NOTE_COLUMNS),))}
    kept: dict[str, dict] = {m: {"ids": [], "lengths": [],
                                 "data": PieceSpool(spool_dir, *shapes[m]) if spool_dir and m in shapes else []}
                             for m in modalities}
    bad, absent = [], []
    rows = shard_rows(manifest, shard, n_shards)
    for row in progress(rows.itertuples(index=False), len(rows), f"preprocess shard {shard}", log):
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
            kept[m]["lengths"].append(len(data))
            kept[m]["data"].append(data.astype(shapes[m][0], copy=False) if m in shapes else data)
    arrays = {}
    for m in modalities:
        ids = np.array(kept[m]["ids"], dtype=str)
        if m not in shapes:
            arrays[m] = {"clip_ids": ids, MEDIA_KEYS[m]: np.array(kept[m]["data"], dtype=str)}
        else:
            ragged = _ragged(kept[m]["data"], kept[m]["lengths"], *shapes[m])
            arrays[m] = {"clip_ids": ids, MEDIA_KEYS[m]: ragged["data"],
                         "lengths": ragged["lengths"]}
    return arrays, pd.DataFrame(bad, columns=BAD_CLIP_COLUMNS), pd.DataFrame(absent, columns=ABSENT_COLUMNS)


def merge_reports(reports: list[pd.DataFrame], columns: list[str]) -> pd.DataFrame:
    """One table of every shard's report (bad clips, or absent modalities), sorted by clip and modality."""
    merged = pd.concat(reports, ignore_index=True) if reports else pd.DataFrame(columns=columns)
    return merged.sort_values(["clip_id", "modality"]).reset_index(drop=True)[columns]
