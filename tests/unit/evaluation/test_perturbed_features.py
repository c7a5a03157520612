"""Perturbed features: each noise level's media degraded and extracted again by the registered
extractor, clip by clip, so a clip's degraded features never depend on the shard it sits in."""

from __future__ import annotations

import numpy as np
import pytest

from musicfusion.evaluation.perturb import condition_key
from musicfusion.evaluation.perturbed_features import gather_perturbed, perturbed_shard_features
from musicfusion.features.shards import extract_shard

from support import sine

NOISE = {"white_noise": {"levels": [20.0, 0.0]}, "token_deletion": {"levels": [0.5]}}


@pytest.fixture()
def settings(params) -> dict:
    return {"content": params["features"]["audio"], "control": params["features"]["controls"]["audio"],
            "sample_rate": params["preprocess"]["audio"]["sample_rate"], "fps": params["preprocess"]["video"]["fps"]}


def audio_shard(ids, rate: int) -> dict:
    clips = [sine(1.0 + 0.5 * i, rate, freq=220.0 * (i + 1), amplitude=0.3) for i in range(len(ids))]
    return {"clip_ids": np.array(ids, dtype=str), "audio": np.concatenate(clips),
            "lengths": np.array([len(c) for c in clips])}


def test_every_level_is_extracted_again_and_noisier_levels_move_further(settings):
    shard = audio_shard(["a", "b"], settings["sample_rate"])
    out = perturbed_shard_features("audio", shard, NOISE, 0, settings)
    clean = extract_shard("audio", shard, settings["content"], settings["sample_rate"])["X"]
    mild, severe = (out[condition_key("content", "white_noise", i)] for i in (0, 1))
    assert mild.shape == severe.shape == clean.shape
    assert out[condition_key("control", "white_noise", 0)].shape[0] == 2
    # only the audio perturbation applies to audio; 0 dB SNR moves the features further than 20 dB
    assert not any("token_deletion" in key for key in out)
    assert 0 < np.linalg.norm(mild - clean) < np.linalg.norm(severe - clean)


def test_a_clips_degraded_features_do_not_depend_on_its_shard(settings):
    both = perturbed_shard_features("audio", audio_shard(["a", "b"], settings["sample_rate"]), NOISE, 0, settings)
    alone = perturbed_shard_features("audio", audio_shard(["a"], settings["sample_rate"]), NOISE, 0, settings)
    for key in alone:
        if key != "clip_ids":
            assert np.array_equal(both[key][:1], alone[key]), key


def test_text_keeps_its_degraded_documents_for_each_folds_vectorizer(params):
    shard = {"clip_ids": np.array(["a", "b"]), "text": np.array(["nun ruhen alle waelder", "the foggy dew of morning"])}
    settings = {"content": params["features"]["text"], "control": params["features"]["controls"]["text"],
                "sample_rate": None, "fps": None}
    out = perturbed_shard_features("text", shard, NOISE, 0, settings)
    documents = out[condition_key("text", "token_deletion", 0)]
    assert documents.dtype.kind == "U" and len(documents) == 2
    assert all(len(d.split()) < len(s.split()) for d, s in zip(documents, shard["text"]))
    assert out[condition_key("control", "token_deletion", 0)].shape[0] == 2


def test_gathered_shards_are_sorted_by_clip_id(settings):
    parts = [perturbed_shard_features("audio", audio_shard(ids, settings["sample_rate"]), NOISE, 0, settings)
             for ids in (["c", "d"], ["a", "b"])]
    gathered = gather_perturbed(parts)
    assert gathered["clip_ids"].tolist() == ["a", "b", "c", "d"]
    key = condition_key("content", "white_noise", 1)
    assert np.array_equal(gathered[key], np.concatenate([parts[1][key], parts[0][key]]))
