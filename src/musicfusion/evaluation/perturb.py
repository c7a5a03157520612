"""Perturb: noise applied to a clip's decoded media, before its features are extracted again.

The robustness sweeps (musicfusion.evaluation.robustness) ask how a trained method fares when a
modality is degraded at test time. Each perturbation acts on the media as preprocessing leaves
them (loudness-normalised mono samples, grey frames at the preprocessed rate and size, normalised
text), so the features are re-extracted from degraded media exactly as from clean ones:

- ``white_noise`` (audio): Gaussian white noise at a signal-to-noise ratio in dB (the clip's
  mean power over the noise's);
- ``pixel_noise`` (video): Gaussian noise of a standard deviation in grey levels (0-255) added
  to every pixel, clipped to 0-255;
- ``dropped_frames`` (video): this fraction of the frames lost, each shown as the last frame
  that arrived (a stalled stream); frames lost before any arrived show the first one that did;
- ``token_deletion`` (text): this fraction of the whitespace-separated tokens deleted;
- ``note_deletion`` (score): this fraction of the notes deleted (at least one kept);
- ``note_shift`` (score): this fraction of the notes moved a semitone up or down
  (musicfusion.evaluation.score_noise).

Randomness is drawn per clip from (seed, perturbation, level, clip id), so a clip is degraded
the same way whichever shard or fold it is in.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable

import numpy as np

from musicfusion import MEDIA_KEYS
from musicfusion.evaluation.score_noise import delete_notes, shift_notes
from musicfusion.features.shards import shard_clips

# Grey levels of an 8-bit frame.
GREY_MAX = 255


def keyed_rng(seed: int, *parts) -> np.random.Generator:
    """A random stream of its own for ``parts`` (names, levels, ids), whatever else is drawn."""
    key = hashlib.sha256("\0".join(str(part) for part in parts).encode()).digest()
    return np.random.default_rng([int(seed), *np.frombuffer(key[:16], dtype=np.uint32).tolist()])


def clip_rng(seed: int, perturbation: str, level: float, clip_id: str) -> np.random.Generator:
    """The random stream of one clip at one level of one perturbation."""
    return keyed_rng(seed, perturbation, float(level), clip_id)


def white_noise(samples: np.ndarray, snr_db: float, rng: np.random.Generator) -> np.ndarray:
    """``samples`` plus white noise whose power is the samples' mean power / 10^(snr_db / 10)."""
    power = float(np.mean(np.square(samples, dtype=np.float64)))
    noise = rng.standard_normal(len(samples))
    return (samples + noise * np.sqrt(power / 10.0 ** (snr_db / 10.0))).astype(np.float32)


def pixel_noise(frames: np.ndarray, sigma: float, rng: np.random.Generator) -> np.ndarray:
    """8-bit frames plus Gaussian noise of standard deviation ``sigma`` grey levels, clipped."""
    noisy = frames.astype(np.float64) + rng.standard_normal(frames.shape) * sigma
    return np.clip(np.rint(noisy), 0, GREY_MAX).astype(np.uint8)


def dropped_frames(frames: np.ndarray, fraction: float, rng: np.random.Generator) -> np.ndarray:
    """``fraction`` of the frames (rounded, at least one frame kept) replaced by the last kept one."""
    n = len(frames)
    n_lost = min(int(round(fraction * n)), n - 1)
    kept = np.ones(n, dtype=bool)
    kept[rng.choice(n, size=n_lost, replace=False)] = False
    # For every frame, the index of the latest kept frame at or before it (the first kept one
    # for frames lost before any arrived).
    latest = np.maximum.accumulate(np.where(kept, np.arange(n), -1))
    latest[latest < 0] = np.flatnonzero(kept)[0]
    return frames[latest]


def token_deletion(text: str, fraction: float, rng: np.random.Generator) -> str:
    """``text`` with ``fraction`` of its whitespace-separated tokens (rounded) deleted."""
    tokens = str(text).split()
    n_lost = int(round(fraction * len(tokens)))
    lost = set(rng.choice(len(tokens), size=n_lost, replace=False).tolist()) if n_lost else set()
    return " ".join(t for i, t in enumerate(tokens) if i not in lost)


# name -> (modality, function(media of one clip, level, rng) -> degraded media)
PERTURBATIONS: dict[str, tuple[str, Callable]] = {
    "white_noise": ("audio", white_noise),
    "pixel_noise": ("video", pixel_noise),
    "dropped_frames": ("video", dropped_frames),
    "token_deletion": ("text", token_deletion),
    "note_deletion": ("score", delete_notes),
    "note_shift": ("score", shift_notes),
}


# The level of each perturbation that leaves a clip as it is: the first point of its curve.
CLEAN_LEVEL = {"white_noise": float("inf"), "pixel_noise": 0.0, "dropped_frames": 0.0, "token_deletion": 0.0,
               "note_deletion": 0.0, "note_shift": 0.0}


def curve_levels(perturbation: str, noise: dict) -> list[float]:
    """The levels of one noise curve in order: clean first, then the configured levels (params.yaml
    ``robustness.noise``, listed from mild to severe)."""
    return [CLEAN_LEVEL[perturbation], *map(float, noise[perturbation]["levels"])]


def perturbations_of(modality: str, noise: dict) -> dict[str, list[float]]:
    """The configured perturbations (params.yaml ``robustness.noise``) of one modality: name -> levels."""
    unknown = sorted(set(noise) - set(PERTURBATIONS))
    if unknown:
        raise ValueError(f"unknown perturbation(s) {unknown}; known: {sorted(PERTURBATIONS)}")
    return {name: [float(v) for v in spec["levels"]] for name, spec in noise.items()
            if PERTURBATIONS[name][0] == modality}


def perturb_shard(modality: str, shard: dict, perturbation: str, level: float, seed: int) -> dict:
    """An interim shard (its npz content) with every clip degraded by ``perturbation`` at ``level``."""
    owner, function = PERTURBATIONS[perturbation]
    if owner != modality:
        raise ValueError(f"perturbation {perturbation!r} applies to {owner}, not {modality}")
    ids, key = shard["clip_ids"], MEDIA_KEYS[modality]
    clips = [function(clip, level, clip_rng(seed, perturbation, level, c))
             for c, clip in zip(ids, shard_clips(shard, modality))]
    if "lengths" not in shard:  # one text per clip
        return {"clip_ids": ids, key: np.array(clips, dtype=str)}
    # A clip's length may change (deleted notes), so it is counted again.
    data = np.concatenate(clips).astype(shard[key].dtype, copy=False) if clips else shard[key]
    return {"clip_ids": ids, key: data, "lengths": np.array([len(c) for c in clips], dtype=shard["lengths"].dtype)}


def condition_key(feature_kind: str, perturbation: str, level_index: int) -> str:
    """The array name, in a perturbed-features npz, of one kind of features (or ``text``, the degraded
    documents) under one perturbation at one level."""
    return f"{feature_kind}__{perturbation}__{level_index}"
