"""Shortcut controls: trivial features per modality, run through the same learner as the real ones.

A control shows what a shortcut alone achieves: if loudness and duration separate the styles
as well as MFCCs do, the MFCC result says little about timbre. Pure functions of arrays and a
params section (no I/O); each returns ``(X, names)``, float32 ``(n_clips, d)`` without NaN,
and the same output for the same input.

Params (the ``features.controls`` section; every key is required):

``audio``
    ``frame_length`` (int >= 1, samples), ``hop_length`` (int >= 1, samples): the RMS frames
    (``librosa.feature.rms``, centred). ``silence_dbfs``: a frame is *sounding* when its RMS
    is above this level (dBFS, 0 dB = an RMS of 1.0, the convention of
    ``preprocess.audio.target_rms_dbfs``). ``floor_dbfs``: RMS levels are clamped up to this
    (digital silence would otherwise be -inf dB); must be below ``silence_dbfs``.
``video``
    ``note_threshold`` (0-254): a pixel is lit (part of a note) when strictly brighter.
    ``playhead_offset`` (int >= 1): voices are counted in the column this far left of the
    playhead (the middle column, ``width // 2``), which is itself white whatever is playing.
    ``window_seconds`` (> 0): seconds of music visible across a frame
    (``collect.video.window_seconds`` for the rendered presets), to turn notes per frame into
    notes per second.
``text``
    ``languages``: non-empty list of distinct ISO 639 codes known to py3langid; the language
    guess is restricted to them, so it always names one of them.

Columns:

- audio: ``loudness_dbfs_mean``, ``loudness_dbfs_std``, ``loudness_dbfs_max`` (frame RMS in
  dBFS), ``sounding_fraction`` (frames above ``silence_dbfs``), ``duration_seconds`` (samples /
  sample rate), ``sounding_seconds`` (sounding frames x hop / sample rate, at most the duration);
- video: ``voices_mean``, ``voices_max`` (lit runs down the probe column, per frame),
  ``note_density_per_second`` (connected lit regions per frame, mean over frames, divided by
  ``window_seconds``), ``ink_fraction_mean`` (lit pixels, playhead column excluded);
- text: ``n_chars``, ``n_words``, ``mean_word_length``, ``char_frac_ascii_letter``,
  ``char_frac_other_letter``, ``char_frac_digit``, ``char_frac_punctuation``,
  ``char_frac_whitespace``, ``char_frac_other`` (the six fractions sum to 1 for a non-empty
  text), ``n_distinct_chars``, one ``lang_<code>`` per language (one-hot of the guess) and
  ``lang_prob`` (the guess's probability, normalised over the candidate languages). A text with
  nothing the identifier can use (empty, or only punctuation, digits or one letter) gets zeros
  in the language columns: py3langid would otherwise return a uniform distribution and name the
  first candidate.
"""

from __future__ import annotations

import math
import string
import unicodedata
from collections import Counter
from collections.abc import Sequence

import numpy as np

AUDIO_KEYS = ("frame_length", "hop_length", "silence_dbfs", "floor_dbfs")
VIDEO_KEYS = ("note_threshold", "playhead_offset", "window_seconds")
TEXT_KEYS = ("languages",)

AUDIO_NAMES = ["loudness_dbfs_mean", "loudness_dbfs_std", "loudness_dbfs_max", "sounding_fraction",
               "duration_seconds", "sounding_seconds"]
VIDEO_NAMES = ["voices_mean", "voices_max", "note_density_per_second", "ink_fraction_mean"]
TEXT_BASE_NAMES = ["n_chars", "n_words", "mean_word_length",
                   "char_frac_ascii_letter", "char_frac_other_letter", "char_frac_digit",
                   "char_frac_punctuation", "char_frac_whitespace", "char_frac_other",
                   "n_distinct_chars"]

# Two distributions closer than this (per class) are the same: py3langid's "no features" output.
_UNIFORM_TOLERANCE = 1e-6


def _check_params(params, keys: tuple[str, ...], section: str) -> None:
    if not isinstance(params, dict) or not params:
        raise ValueError(f"features.controls.{section} params are empty or not a mapping "
                         f"(got {params!r}); expected keys {list(keys)}")
    missing = [key for key in keys if key not in params]
    if missing:
        raise ValueError(f"features.controls.{section} params lack {missing}; expected keys {list(keys)}")


def _positive_int(params: dict, key: str, section: str) -> int:
    value = params[key]
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"features.controls.{section}.{key} must be an integer >= 1, got {value!r}")
    return int(value)


def _real(params: dict, key: str, section: str) -> float:
    value = params[key]
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) \
            or not math.isfinite(value):
        raise ValueError(f"features.controls.{section}.{key} must be a finite number, got {value!r}")
    return float(value)


# --- audio -----------------------------------------------------------------------------------

def _audio_clips(audio) -> list[np.ndarray]:
    """The clips as a list of 1-D float arrays, from a 2-D array or a sequence of 1-D arrays."""
    if isinstance(audio, np.ndarray) and audio.dtype != object:
        if audio.ndim != 2:
            raise ValueError(f"audio must be (n_clips, n_samples) or a list of 1-D clips, got an array "
                             f"of shape {audio.shape} (for one clip pass audio[None])")
        clips = list(audio)
    elif isinstance(audio, (np.ndarray, Sequence)) and not isinstance(audio, (str, bytes)):
        clips = [np.asarray(clip) for clip in audio]
    else:
        raise ValueError(f"audio must be (n_clips, n_samples) or a list of 1-D clips, got {type(audio).__name__}")
    for i, clip in enumerate(clips):
        if clip.ndim != 1:
            raise ValueError(f"audio clip {i} must be 1-D (mono samples), got shape {clip.shape}")
        if not np.issubdtype(clip.dtype, np.floating):
            raise ValueError(f"audio clip {i} must hold float samples in [-1, 1] (dBFS needs them), "
                             f"got dtype {clip.dtype}")
        if clip.size == 0:
            raise ValueError(f"audio clip {i} has no samples")
        if not np.all(np.isfinite(clip)):
            raise ValueError(f"audio clip {i} holds NaN or infinite samples")
    return clips


def audio_controls(audio, sample_rate: int, params: dict) -> tuple[np.ndarray, list[str]]:
    """Loudness and duration of each clip (see the module docstring for params and columns).

    ``audio``: float ``(n_clips, n_samples)`` or a sequence of 1-D float clips of any lengths,
    mono at ``sample_rate``.
    """
    import librosa

    _check_params(params, AUDIO_KEYS, "audio")
    frame_length = _positive_int(params, "frame_length", "audio")
    hop_length = _positive_int(params, "hop_length", "audio")
    silence_dbfs = _real(params, "silence_dbfs", "audio")
    floor_dbfs = _real(params, "floor_dbfs", "audio")
    if floor_dbfs >= silence_dbfs:
        raise ValueError(f"features.controls.audio.floor_dbfs ({floor_dbfs}) must be below "
                         f"silence_dbfs ({silence_dbfs})")
    if isinstance(sample_rate, bool) or not isinstance(sample_rate, (int, np.integer)) or sample_rate < 1:
        raise ValueError(f"sample_rate must be a positive integer, got {sample_rate!r}")
    clips = _audio_clips(audio)
    amin = 10.0 ** (floor_dbfs / 20.0)
    X = np.zeros((len(clips), len(AUDIO_NAMES)), dtype=np.float32)
    for i, clip in enumerate(clips):
        rms = librosa.feature.rms(y=clip.astype(np.float32, copy=False), frame_length=frame_length,
                                  hop_length=hop_length)[0].astype(np.float64)
        dbfs = 20.0 * np.log10(np.maximum(rms, amin))
        sounding = int(np.count_nonzero(dbfs > silence_dbfs))
        duration = clip.size / sample_rate
        X[i] = [dbfs.mean(), dbfs.std(), dbfs.max(), sounding / dbfs.size, duration,
                min(sounding * hop_length / sample_rate, duration)]
    return X, list(AUDIO_NAMES)


# --- video -----------------------------------------------------------------------------------

def video_controls(frames, fps: float, params: dict) -> tuple[np.ndarray, list[str]]:
    """Simultaneous voices, note density and ink of each clip's piano-roll frames.

    ``frames``: each clip's uint8 ``(n_frames, height, width)`` grey frames, playhead in the
    middle column: a sequence of clips of any lengths, or a ``(n_clips, n_frames, height, width)``
    array.
    ``fps`` is only checked (every statistic is a mean or max over frames, so independent of it).

    Voices: lit runs down the probe column (``width // 2 - playhead_offset``); notes of adjacent
    pitches that touch count as one. Density: 4-connected lit regions per frame; the playhead
    column is lit only where both its neighbours are, so a note crossing the playhead stays one
    region and the white line itself is never one.
    """
    import cv2

    _check_params(params, VIDEO_KEYS, "video")
    threshold = _real(params, "note_threshold", "video")
    offset = _positive_int(params, "playhead_offset", "video")
    window_seconds = _real(params, "window_seconds", "video")
    if not 0 <= threshold < 255:
        raise ValueError(f"features.controls.video.note_threshold must be in [0, 255), got {threshold}")
    if window_seconds <= 0:
        raise ValueError(f"features.controls.video.window_seconds must be positive, got {window_seconds}")
    if isinstance(fps, bool) or not isinstance(fps, (int, float, np.integer, np.floating)) \
            or not math.isfinite(fps) or fps <= 0:
        raise ValueError(f"fps must be a positive number, got {fps!r}")
    if isinstance(frames, np.ndarray) and frames.ndim != 4:
        raise ValueError(f"frames must be a uint8 array (n_clips, n_frames, height, width), got "
                         f"{frames.dtype} {frames.shape}")
    frames = list(frames)
    for clip in frames:
        if not isinstance(clip, np.ndarray) or clip.ndim != 3 or clip.dtype != np.uint8:
            raise ValueError(f"each clip's frames must be a uint8 array (n_frames, height, width), got "
                             f"{getattr(clip, 'dtype', type(clip).__name__)} {getattr(clip, 'shape', None)}")
        if clip.shape[0] == 0 or clip.shape[1] == 0:
            raise ValueError(f"frames must have at least one frame and one row, got shape {clip.shape}")
    if len({clip.shape[1:] for clip in frames}) > 1:
        raise ValueError(f"clips differ in frame size: {sorted({clip.shape[1:] for clip in frames})}")
    n_clips = len(frames)
    if n_clips == 0:
        return np.zeros((0, len(VIDEO_NAMES)), dtype=np.float32), list(VIDEO_NAMES)
    height, width = frames[0].shape[1:]
    playhead = width // 2
    probe = playhead - offset
    if probe < 0 or playhead + 1 >= width:
        raise ValueError(f"playhead_offset={offset} puts the probe column outside a frame {width} pixels "
                         f"wide (playhead at column {playhead})")
    keep = np.ones(width, dtype=bool)
    keep[playhead] = False
    X = np.zeros((n_clips, len(VIDEO_NAMES)), dtype=np.float32)
    for i, clip in enumerate(frames):
        lit = clip > threshold                                   # (n_frames, height, width)
        column = lit[:, :, probe]                                # (n_frames, height)
        starts = column.copy()
        starts[:, 1:] &= ~column[:, :-1]
        voices = starts.sum(axis=1)
        bridged = lit.astype(np.uint8)
        bridged[:, :, playhead] = lit[:, :, playhead - 1] & lit[:, :, playhead + 1]
        regions = [cv2.connectedComponents(frame, connectivity=4)[0] - 1 for frame in bridged]
        X[i] = [voices.mean(), voices.max(), float(np.mean(regions)) / window_seconds,
                lit[:, :, keep].mean() if keep.any() else 0.0]
    return X, list(VIDEO_NAMES)


# --- text ------------------------------------------------------------------------------------

def _texts(texts) -> list[str]:
    if isinstance(texts, (str, bytes)):
        raise ValueError("texts must be a sequence of str, got a single string (wrap it in a list)")
    if isinstance(texts, np.ndarray):
        if texts.ndim != 1:
            raise ValueError(f"texts must be 1-D, got an array of shape {texts.shape}")
        texts = texts.tolist()
    if not isinstance(texts, Sequence):
        raise ValueError(f"texts must be a sequence of str, got {type(texts).__name__}")
    bad = [(i, type(t).__name__) for i, t in enumerate(texts) if not isinstance(t, str)]
    if bad:
        raise ValueError(f"texts must all be str; not at (index, type) {bad[:5]}")
    return [str(t) for t in texts]


def _languages(params: dict) -> list[str]:
    languages = params["languages"]
    if isinstance(languages, str) or not isinstance(languages, Sequence) or not languages \
            or not all(isinstance(code, str) and code for code in languages):
        raise ValueError(f"features.controls.text.languages must be a non-empty list of language codes, "
                         f"got {languages!r}")
    if len(set(languages)) != len(languages):
        raise ValueError(f"features.controls.text.languages lists a language twice: {list(languages)}")
    return list(languages)


def _identifier(languages: list[str]):
    """A py3langid identifier (normalised probabilities) restricted to ``languages``."""
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    unknown = sorted(set(languages) - set(identifier.labels))
    if unknown:
        raise ValueError(f"features.controls.text.languages: py3langid does not know {unknown}; "
                         f"it knows {sorted(identifier.labels)}")
    identifier.set_languages(languages)
    return identifier


def _character_classes(text: str) -> list[float]:
    """Fractions of ASCII letters, other letters, digits, punctuation, whitespace, the rest."""
    counts = [0] * 6
    for char in text:
        if char in string.ascii_letters:
            counts[0] += 1
        elif char.isalpha():
            counts[1] += 1
        elif char.isdecimal():
            counts[2] += 1
        elif unicodedata.category(char).startswith("P"):
            counts[3] += 1
        elif char.isspace():
            counts[4] += 1
        else:
            counts[5] += 1
    return [count / len(text) for count in counts] if text else [0.0] * 6


def text_controls(texts, params: dict) -> tuple[np.ndarray, list[str]]:
    """Length, character set and a language guess of each text (see the module docstring).

    ``texts``: a sequence of str (already normalised as by ``preprocess.text``).
    """
    _check_params(params, TEXT_KEYS, "text")
    languages = _languages(params)
    texts = _texts(texts)
    names = TEXT_BASE_NAMES + [f"lang_{code}" for code in languages] + ["lang_prob"]
    X = np.zeros((len(texts), len(names)), dtype=np.float32)
    if not texts:
        return X, names
    identifier = _identifier(languages)  # one per call: loading the model takes ~0.5 s
    # py3langid's "no features" answer: every model column equally likely (a label with alias
    # columns, such as sr, gets its columns' share).
    columns = Counter(identifier.nb_classes)
    uniform = {code: columns[code] / len(identifier.nb_classes) for code in languages}
    column_of = {code: len(TEXT_BASE_NAMES) + k for k, code in enumerate(languages)}
    for i, text in enumerate(texts):
        words = text.split()
        row = [len(text), len(words), sum(map(len, words)) / len(words) if words else 0.0,
               *_character_classes(text), len(set(text))]
        X[i, :len(row)] = row
        if not text.strip():
            continue
        probs = dict(identifier.rank(text))
        if all(abs(probs[code] - uniform[code]) <= _UNIFORM_TOLERANCE for code in languages):
            continue
        guess = max(languages, key=lambda code: (probs[code], -languages.index(code)))
        X[i, column_of[guess]] = 1.0
        X[i, -1] = probs[guess]
    return X, names
