"""A clip's tempo in pulses per minute, from whichever modality a query carries: audio, video or score.

The pulse is the presets' (params.yaml ``collect.pulse_bpm``, :func:`musicfusion.symbolic.excerpts.pulse_quarters`):
the median time between successive distinct onsets. :func:`tempo_from_notes` computes exactly that. The
estimators for queries (:func:`tempo_from_audio`, :func:`tempo_from_video`, :func:`tempo_from_score`) all
reduce their modality to an onset envelope and take its strongest periodicity within a tempo range
(:func:`pulse_tempo`): a clip's own median inter-onset interval misses the score's pulse on a quarter of
the presets' clips (an excerpt is not the whole score), its strongest periodicity far less often, and the
autocorrelation does not need every onset to be found (soft attacks, vibrato, repeated notes).

Settings (one dict per modality, params-style) hold every parameter; see each function. NaN means the
input carries no usable evidence (silence, a still video, a single onset); malformed input raises ValueError.
"""

from __future__ import annotations

import math

import librosa
import numpy as np
from scipy.ndimage import gaussian_filter1d

from musicfusion.data.scores import ONSET, check_notes

SECONDS_PER_MINUTE = 60.0
VIDEO_METHODS = ("motion", "scroll")


def _check_rate(value, name: str) -> float:
    """``value`` as a positive finite float, or a ValueError naming it."""
    rate = float(value)
    if not math.isfinite(rate) or rate <= 0:
        raise ValueError(f"{name} must be a positive number, got {value!r}")
    return rate


def _bpm_range(settings: dict) -> tuple[float, float]:
    low, high = (float(v) for v in settings["bpm_range"])
    if not 0 < low < high:
        raise ValueError(f"bpm_range must be two tempi 0 < low < high, got {settings['bpm_range']}")
    return low, high


def _distinct_onsets(notes, seconds_per_quarter: float) -> np.ndarray:
    """The sorted distinct onsets of a note array (musicfusion.data.scores), in seconds."""
    seconds = _check_rate(seconds_per_quarter, "seconds_per_quarter")
    return np.unique(check_notes(notes)[:, ONSET]) * seconds


def _peak_lag(curve: np.ndarray, k: int) -> float:
    """The lag of a local maximum at index ``k``, refined by a parabola through it and its neighbours."""
    if not 0 < k < len(curve) - 1:
        return float(k)
    left, centre, right = curve[k - 1], curve[k], curve[k + 1]
    bend = left - 2 * centre + right
    return k + 0.5 * (left - right) / bend if bend < 0 else float(k)


def pulse_tempo(envelope, frame_rate: float, settings: dict) -> float:
    """The pulse (per minute) of an onset envelope: its strongest periodicity within ``bpm_range``.

    The envelope's autocorrelation (mean removed) at each lag in the range is weighted by the lag's tempo
    to the power ``prefer_fast``: the pulse is the median inter-onset interval, usually the shortest common
    note value, while metre makes the periodicity an octave slower often as strong (1.5: the faster of two
    octaves wins unless its autocorrelation is under 2**-1.5 = 35% of the slower's). If nothing in the range
    correlates positively (an excerpt of long notes), the strongest slower periodicity is taken, doubled
    into the range. NaN for a flat or too short envelope. ``settings``: ``bpm_range`` [low, high],
    ``prefer_fast``.
    """
    rate = _check_rate(frame_rate, "frame_rate")
    low, high = _bpm_range(settings)
    env = np.asarray(envelope, dtype=np.float64)
    if env.ndim != 1 or not np.isfinite(env).all():
        raise ValueError(f"an onset envelope must be 1-D and finite, got shape {env.shape}")
    shortest = max(1, int(np.floor(SECONDS_PER_MINUTE * rate / high)))
    longest = int(np.ceil(SECONDS_PER_MINUTE * rate / low))
    if len(env) < shortest + 3 or np.ptp(env) == 0:
        return math.nan
    corr = librosa.autocorrelate(env - env.mean())
    lags = np.arange(shortest, min(longest, len(corr) - 2) + 1)
    weighted = corr[lags] * (SECONDS_PER_MINUTE * rate / lags) ** float(settings["prefer_fast"])
    best = int(lags[np.argmax(weighted)])
    if corr[best] <= 0:
        slower = np.arange(longest + 1, len(corr) - 1)
        if not len(slower) or corr[slower].max() <= 0:
            return math.nan
        best = int(slower[np.argmax(corr[slower])])
    tempo = SECONDS_PER_MINUTE * rate / _peak_lag(corr, best)
    while tempo < low:
        tempo *= 2.0
    return float(tempo)


def tempo_from_notes(notes, seconds_per_quarter: float) -> float:
    """Pulses per minute of a note array by the presets' definition: 60 s over the median time between
    successive distinct onsets (:func:`musicfusion.symbolic.excerpts.pulse_quarters`).

    ``seconds_per_quarter``: the note array's quarter note in seconds (the presets' MIDI files:
    :data:`musicfusion.symbolic.render.SECONDS_PER_QUARTER`). NaN with fewer than 2 distinct onsets.
    """
    gaps = np.diff(_distinct_onsets(notes, seconds_per_quarter))
    return SECONDS_PER_MINUTE / float(np.median(gaps)) if len(gaps) else math.nan


def tempo_from_score(notes, seconds_per_quarter: float, settings: dict) -> float:
    """Estimated pulses per minute of a score query: :func:`pulse_tempo` of its distinct onsets as
    impulses at ``frame_rate`` per second, smoothed by a Gaussian of ``smooth_seconds`` (onsets need not
    fall on the envelope's frames). Where an excerpt's own median interval (:func:`tempo_from_notes`)
    differs from its whole score's, its strongest periodicity mostly does not. NaN with fewer than 2
    distinct onsets. ``settings``: ``frame_rate``, ``smooth_seconds`` and :func:`pulse_tempo`'s.
    """
    onsets = _distinct_onsets(notes, seconds_per_quarter)
    if len(onsets) < 2:
        return math.nan
    rate = _check_rate(settings["frame_rate"], "frame_rate")
    frames = np.round(onsets * rate).astype(int)
    envelope = np.zeros(frames[-1] + 1)
    envelope[frames] = 1.0
    if settings["smooth_seconds"] > 0:
        envelope = gaussian_filter1d(envelope, settings["smooth_seconds"] * rate, mode="constant")
    return pulse_tempo(envelope, rate, settings)


def tempo_from_audio(signal, sample_rate: int, settings: dict) -> float:
    """Estimated pulses per minute of mono audio: :func:`pulse_tempo` of librosa's onset strength
    (spectral flux of the log mel spectrogram, every ``hop_length`` samples).

    NaN for audio quieter than ``min_rms_dbfs`` (RMS, dB of full scale) or too short for the tempo range.
    ``settings``: ``hop_length``, ``min_rms_dbfs`` and :func:`pulse_tempo`'s.
    """
    rate = _check_rate(sample_rate, "sample_rate")
    samples = np.asarray(signal, dtype=np.float32)
    if samples.ndim != 1:
        raise ValueError(f"audio must be 1-D mono samples, got shape {samples.shape}")
    if not np.isfinite(samples).all():
        raise ValueError("audio holds NaN or infinite samples")
    hop = int(settings["hop_length"])
    if hop < 1:
        raise ValueError(f"hop_length must be a positive number of samples, got {settings['hop_length']}")
    rms = float(np.sqrt(np.mean(np.square(samples, dtype=np.float64)))) if len(samples) else 0.0
    if rms == 0.0 or 20 * math.log10(rms) < settings["min_rms_dbfs"]:
        return math.nan
    envelope = librosa.onset.onset_strength(y=samples, sr=rate, hop_length=hop)
    return pulse_tempo(envelope, rate / hop, settings)


def motion_envelope(frames: np.ndarray, settings: dict) -> np.ndarray:
    """Motion energy between successive frames: the mean absolute grey-level change over ``region``
    ([left, right, top, bottom], fractions of the frame), changes under ``min_change`` (compression noise)
    left out. One value per frame after the first."""
    _, height, width = frames.shape
    left, right, top, bottom = (float(v) for v in settings["region"])
    if not (0 <= left < right <= 1 and 0 <= top < bottom <= 1):
        raise ValueError(f"region must be [left, right, top, bottom] fractions with left < right and top < bottom, "
                         f"got {settings['region']}")
    x0, x1 = int(left * width), max(int(left * width) + 1, int(round(right * width)))
    y0, y1 = int(top * height), max(int(top * height) + 1, int(round(bottom * height)))
    change = np.abs(np.diff(frames[:, y0:y1, x0:x1].astype(np.float32), axis=0))
    change[change < settings["min_change"]] = 0
    return change.mean(axis=(1, 2))


def scroll_envelope(frames: np.ndarray, fps: float, settings: dict) -> tuple[np.ndarray, float]:
    """The onset envelope of a scrolling piano roll (the presets' videos), at one value per pixel of scroll.

    The music scrolls right to left at ``window_seconds`` of music per frame width, sounding at ``playhead``
    (a fraction of the width); notes to come are drawn to its right. At a constant scroll a column's change
    from one frame to the next is the scroll times the frame's change from one column to the next, so the
    horizontal edges (abs, under ``min_change`` left out, summed over the rows) in the strip just right of
    the playhead (``skip`` of the width past it: the playhead line) are the motion the playhead will see.
    Each frame gives the strip that scrolls past before the next frame, placed at its time: frames far
    sparser than the pulse still time onsets to a pixel. Returns the envelope and its rate (pixels a second).
    """
    _, height, width = frames.shape
    px_per_second = width / _check_rate(settings["window_seconds"], "window_seconds")
    start = int(round((float(settings["playhead"]) + float(settings["skip"])) * width))
    columns = int(np.ceil(px_per_second / fps)) + 1  # one frame's scroll, and one column overlapping the next
    if start < 1 or start + columns > width:
        raise ValueError(f"the scroll strip (columns {start}..{start + columns} of {width}) leaves the frame: "
                         f"at {fps:g} fps a frame scrolls {px_per_second / fps:.1f} px; decode more frames a second "
                         f"or check playhead, skip and window_seconds")
    edges = np.abs(np.diff(frames[:, :, start - 1:start + columns].astype(np.float32), axis=2))
    edges[edges < settings["min_change"]] = 0
    strength = edges.sum(axis=1)  # (n_frames, columns)
    seconds = np.arange(len(frames))[:, None] / fps + np.arange(columns)[None, :] / px_per_second
    bins = np.round(seconds * px_per_second).astype(int).ravel()
    counts = np.bincount(bins)
    envelope = np.bincount(bins, weights=strength.ravel()) / np.maximum(counts, 1)
    # Frames sampled at a rate the source's does not divide come a little early or late: the pixels
    # no strip covered are interpolated, not left at 0 (gaps recurring at each frame would be a rhythm).
    seen = np.flatnonzero(counts)
    envelope = np.interp(np.arange(len(envelope)), seen, envelope[seen])
    return envelope, px_per_second


def tempo_from_video(frames, fps: float, settings: dict) -> float:
    """Estimated pulses per minute of a video's grey frames ``(n_frames, height, width)`` at ``fps``.

    ``method``: ``motion`` (any video) takes :func:`pulse_tempo` of :func:`motion_envelope`, one value per
    frame, so it needs frames several times faster than the pulse (25 fps for 160 a minute; measured on the
    presets, 5 fps misses most clips); ``scroll`` (a scrolling piano roll, as the presets render) takes it of
    :func:`scroll_envelope`, which times onsets from 5 fps (1 fps would do). Frames are taken to be evenly
    spaced: decode at a rate that divides the source's (5 of 25 fps; 2 or 3 of 25 come unevenly and miss
    by some 5%). NaN for fewer than 2 frames or a still video (no change of ``min_change`` grey levels or
    more). ``settings``: ``method``, ``min_change``, ``region`` (motion), ``window_seconds``, ``playhead``,
    ``skip`` (scroll) and :func:`pulse_tempo`'s (a ``fps`` key, the rate a caller decodes at, is not read).
    """
    rate = _check_rate(fps, "fps")
    video = np.asarray(frames)
    if video.ndim != 3 or not np.issubdtype(video.dtype, np.number):
        raise ValueError(f"video frames must be grey numbers (n_frames, height, width), "
                         f"got {video.dtype} {video.shape}")
    if not np.isfinite(video).all():
        raise ValueError("video frames hold NaN or infinite values")
    method = settings["method"]
    if method not in VIDEO_METHODS:
        raise ValueError(f"unknown video tempo method {method!r}; choose from {VIDEO_METHODS}")
    if len(video) < 2 or 0 in video.shape[1:]:
        return math.nan
    if not any((np.abs(after.astype(np.float32) - before) >= settings["min_change"]).any()
               for before, after in zip(video[:-1], video[1:])):
        return math.nan  # a still video: nothing moves, whatever the frames show
    if method == "motion":
        return pulse_tempo(motion_envelope(video, settings), rate, settings)
    envelope, envelope_rate = scroll_envelope(video, rate, settings)
    return pulse_tempo(envelope, envelope_rate, settings)
