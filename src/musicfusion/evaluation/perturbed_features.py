"""Perturbed features: a modality's media degraded at every noise level and its features extracted
again, shard by shard, for the robustness sweeps (musicfusion.evaluation.robustness).

Degradations are musicfusion.evaluation.perturb's; extraction is the registered extractor's
(musicfusion.features.registry), the same code as the clean features.
"""

from __future__ import annotations

import logging
import time

import numpy as np

from musicfusion.evaluation.perturb import condition_key, perturb_shard, perturbations_of
from musicfusion.features.registry import per_shard
from musicfusion.features.shards import extract_control_shard, extract_shard, gather, one_clip_shards

log = logging.getLogger(__name__)


def perturbed_shard_features(modality: str, shard: dict, noise: dict, seed: int, settings: dict) -> dict:
    """Every configured perturbation of ``modality`` at every level, applied to one interim shard,
    and the features extracted again from the result: ``content`` features for audio and video
    (text keeps its degraded documents, ``text__<perturbation>__<i>``, for each fold's TF-IDF to
    transform) and ``control`` features for every modality.

    ``settings`` holds the modality's ``content`` and ``control`` feature settings and the
    preprocessed ``sample_rate`` and ``fps``. Keys: musicfusion.evaluation.perturb.condition_key.
    """
    out = {"clip_ids": shard["clip_ids"]}
    # Audio and video one clip at a time: a degraded copy of the whole shard would double the
    # job's memory (1.4 GB for 360 clips of audio). A clip's features never depend on its batch.
    parts = list(one_clip_shards(modality, shard)) if per_shard(modality) and len(shard["clip_ids"]) \
        else [shard]
    for perturbation, levels in perturbations_of(modality, noise).items():
        for index, level in enumerate(levels):
            started = time.monotonic()
            content, control, texts = [], [], []
            for part in parts:
                degraded = perturb_shard(modality, part, perturbation, level, seed)
                if per_shard(modality):
                    content.append(extract_shard(modality, degraded, settings["content"], settings["sample_rate"],
                                                 settings["fps"])["X"])
                else:
                    texts.append(degraded["text"])
                control.append(extract_control_shard(modality, degraded, settings["control"], settings["sample_rate"],
                                                     settings["fps"])["X"])
            if per_shard(modality):
                out[condition_key("content", perturbation, index)] = np.concatenate(content)
            else:
                out[condition_key("text", perturbation, index)] = np.concatenate(texts)
            out[condition_key("control", perturbation, index)] = np.concatenate(control)
            seconds = time.monotonic() - started
            log.info("%s %s level %d/%d (%g): %d clips in %.1f s (%.1f clips/s)", modality, perturbation, index + 1,
                     len(levels), level, len(out["clip_ids"]), seconds, len(out["clip_ids"]) / max(seconds, 1e-9))
    return out


def gather_perturbed(parts: list[dict]) -> dict:
    """The shards' perturbed arrays stacked, rows sorted by clip id (as musicfusion.features.shards.gather)."""
    keys = sorted({k for p in parts for k in p if k != "clip_ids"})
    out = {}
    for key in keys:
        gathered = gather([{"clip_ids": p["clip_ids"], "X": p[key], "feature_names": np.array([], dtype=str)}
                           for p in parts], what=key)
        out["clip_ids"], out[key] = gathered["clip_ids"], gathered["X"]
    return out
