"""Audio features: MFCCs and their deltas (librosa), pooled over time per clip."""

from __future__ import annotations

import functools
import warnings

import librosa
import numpy as np

from musicfusion.features import check_pooling, pool, pooled_names

# librosa.feature.delta's own default; used unless params set `delta_width`.
DEFAULT_DELTA_WIDTH = 9
# The narrowest window librosa.feature.delta accepts (odd, at least 3).
MIN_DELTA_WIDTH = 3


def shortest_seconds(params: dict, sample_rate: int) -> float:
    """The shortest clip the MFCC features describe: one sample at ``sample_rate``.

    librosa centres the first analysis window on the first sample and pads the clip with silence
    (``center=True``), so any clip of one sample or more gives at least one MFCC frame (a one-shot
    of 0.02 s: 1 frame, 0.05 s: 3 frames at hop_length 512); the deltas of fewer than 3 frames
    repeat the edge frames (:func:`deltas`) and pooling over one frame is defined (std 0).
    Neither ``n_fft`` nor ``hop_length`` sets a minimum. The audio controls (RMS over centred
    frames) need no more.
    """
    return 1.0 / sample_rate


def feature_names(params: dict) -> list[str]:
    """Names of the frame-level features: the MFCCs, then each delta order (e.g. 'mfcc03_d1')."""
    digits = max(2, len(str(params["n_mfcc"] - 1)))
    mfcc = [f"mfcc{i:0{digits}d}" for i in range(params["n_mfcc"])]
    deltas = [f"{name}_d{order}" for order in params["delta_orders"] for name in mfcc]
    return mfcc + deltas


def delta_width(n_frames: int, params: dict) -> int:
    """The delta window: the configured width, narrowed (kept odd) to fit a short clip.

    librosa's 'interp' mode needs ``width <= n_frames``; with fewer than 3 frames it has none
    (:func:`deltas` then repeats the edge frames instead).
    """
    width = min(params.get("delta_width", DEFAULT_DELTA_WIDTH), n_frames)
    if width % 2 == 0:
        width -= 1
    if width < MIN_DELTA_WIDTH:
        raise ValueError(f"a clip of {n_frames} MFCC frames is too short for deltas: at least "
                         f"{MIN_DELTA_WIDTH} frames (hop_length={params['hop_length']}) are needed")
    return width


@functools.lru_cache(maxsize=8)
def mel_filters(sample_rate: int, n_fft: int) -> np.ndarray:
    """librosa's default mel filter bank (read-only), built once per setting.

    ``librosa.feature.mfcc(y=...)`` builds it again for every clip: 13% of an MFCC's time (measured).
    """
    filters = librosa.filters.mel(sr=sample_rate, n_fft=n_fft)
    filters.setflags(write=False)
    return filters


def mfcc(clip: np.ndarray, sample_rate: int, params: dict) -> np.ndarray:
    """``librosa.feature.mfcc(y=clip, ...)`` with its defaults, bit for bit, with the mel filter
    bank built once (:func:`mel_filters`): the power spectrogram and its mel projection are the
    ones ``librosa.feature.melspectrogram`` computes."""
    with warnings.catch_warnings():
        # A one-shot shorter than n_fft is padded with silence on purpose: librosa warns of it.
        warnings.filterwarnings("ignore", message=r"n_fft=\d+ is too large for input signal", category=UserWarning)
        power = np.abs(librosa.stft(clip, n_fft=params["n_fft"], hop_length=params["hop_length"])) ** 2.0
    mel = np.einsum("...ft,mf->...mt", power, mel_filters(sample_rate, params["n_fft"]), optimize=True)
    return librosa.feature.mfcc(S=librosa.power_to_db(mel), n_mfcc=params["n_mfcc"])


def deltas(coefficients: np.ndarray, params: dict) -> list[np.ndarray]:
    """The deltas of each of ``params['delta_orders']`` of ``(n_mfcc, n_frames)`` coefficients.

    From 3 frames on, librosa's default ('interp', the window narrowed to fit: :func:`delta_width`).
    A clip of 1 or 2 frames (a one-shot under ``2 * hop_length`` samples) has no such window: its
    deltas are over the narrowest window with the edge frames repeated (HTK's convention, librosa's
    ``mode='nearest'``): one frame has deltas of 0, two frames a first delta of half their difference.
    """
    n_frames = coefficients.shape[1]
    if n_frames < MIN_DELTA_WIDTH:
        return [librosa.feature.delta(coefficients, width=MIN_DELTA_WIDTH, order=order, mode="nearest")
                for order in params["delta_orders"]]
    width = delta_width(n_frames, params)
    return [librosa.feature.delta(coefficients, width=width, order=order) for order in params["delta_orders"]]


def clip_frames(clip: np.ndarray, sample_rate: int, params: dict) -> np.ndarray:
    """Frame-level features of one clip: ``(n_frames, n_mfcc * (1 + len(delta_orders)))``."""
    coefficients = mfcc(clip, sample_rate, params)
    return np.concatenate([coefficients, *deltas(coefficients, params)]).T


def extract(audio, sample_rate: int, params: dict) -> tuple[np.ndarray, list[str]]:
    """MFCC (+ deltas) features of each clip, pooled over its real length.

    ``audio``: the clips' mono samples, already resampled and normalised: a sequence of 1-D
    arrays of any lengths, or a ``(n_clips, n_samples)`` array.
    ``params``: the ``features.audio`` section (n_mfcc, n_fft, hop_length, delta_orders, pooling;
    optional delta_width). Returns float32 ``(n_clips, d)`` and the ``d`` names, with
    ``d = n_mfcc * (1 + len(delta_orders)) * len(pooling)``.
    """
    check_pooling(params["pooling"])
    if any(order < 1 for order in params["delta_orders"]):
        raise ValueError(f"delta_orders must be 1 or more, got {params['delta_orders']}")
    audio = [np.asarray(clip, dtype=np.float32) for clip in audio]
    bad = [clip.shape for clip in audio if clip.ndim != 1]
    if bad:
        raise ValueError(f"each clip's audio must be 1-D mono samples, got shape {bad[0]}")
    names = pooled_names(feature_names(params), params["pooling"])
    X = np.zeros((len(audio), len(names)), dtype=np.float32)
    # One clip at a time: a clip's features never depend on which clips share its batch,
    # and it is as fast as librosa's batched call (measured).
    for i, clip in enumerate(audio):
        X[i] = pool(clip_frames(clip, sample_rate, params), params["pooling"])
    return X, names
