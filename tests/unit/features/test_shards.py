"""Per-shard extraction through the registered extractors, and shards gathered into one matrix."""

from __future__ import annotations

import numpy as np
import pytest

from musicfusion.features.shards import clips_by_id, extract_control_shard, extract_shard, gather

from clip_cases import TEXT_PARAMS


def shard(ids, X, names=("f0", "f1")) -> dict:
    return {"clip_ids": np.array(ids, dtype=str), "X": np.asarray(X, dtype=np.float32),
            "feature_names": np.array(names, dtype=str)}


def empty_shard() -> dict:
    return {"clip_ids": np.array([], dtype=str), "X": np.zeros((0, 0), np.float32),
            "feature_names": np.array([], dtype=str)}


def test_gather_sorts_rows_by_clip_id_across_shards_and_skips_empty_shards():
    parts = [shard(["c3", "c1"], [[3, 3], [1, 1]]), empty_shard(),
             shard(["c2", "c0"], [[2, 2], [0, 0]])]
    out = gather(parts)
    assert out["clip_ids"].tolist() == ["c0", "c1", "c2", "c3"]
    assert out["X"][:, 0].tolist() == [0, 1, 2, 3]  # rows moved with their ids
    assert out["feature_names"].tolist() == ["f0", "f1"]
    # an empty shard first (no feature names): the names come from a shard with clips
    assert gather([empty_shard(), *parts])["feature_names"].tolist() == ["f0", "f1"]


def test_gather_raises_naming_what_when_every_shard_is_empty():
    with pytest.raises(ValueError, match="video features: every shard is empty"):
        gather([empty_shard(), empty_shard()], what="video features")


def test_extract_shard_refuses_text():
    with pytest.raises(ValueError, match="'text'"):
        extract_shard("text", {"clip_ids": np.array(["c1"]), "text": np.array(["a b"])}, TEXT_PARAMS)


def test_extract_shard_of_an_empty_shard_is_skipped_by_gather():
    empty = extract_shard("audio", {"clip_ids": np.array([], dtype=str)}, {}, sample_rate=22050)
    assert empty["X"].shape == (0, 0) and empty["X"].dtype == np.float32
    out = gather([empty, shard(["c2", "c1"], [[2, 2], [1, 1]])], what="audio")
    assert out["clip_ids"].tolist() == ["c1", "c2"]


def test_extract_control_shard_gives_named_controls_per_clip():
    shard = {"clip_ids": np.array(["a", "b"]), "text": np.array(["nun ruhen alle waelder", "kunzi"])}
    out = extract_control_shard("text", shard, {"languages": ["de", "en"]}, 22050, 5)
    assert out["X"].shape[0] == 2 and "n_chars" in out["feature_names"].tolist()
    assert out["X"][:, list(out["feature_names"]).index("n_chars")].tolist() == [22.0, 5.0]
    empty = extract_control_shard("audio", {"clip_ids": np.array([], dtype=str)}, {}, 22050, 5)
    assert empty["X"].shape == (0, 0)
    with pytest.raises(ValueError, match="no feature set .lyrics."):
        extract_control_shard("lyrics", shard, {}, 22050, 5)


def test_clips_by_id_gathers_every_shards_clips():
    shards = [{"clip_ids": np.array(["a", "b"]), "notes": np.arange(9.0).reshape(3, 3), "lengths": np.array([1, 2])},
              {"clip_ids": np.array(["c"]), "notes": np.ones((2, 3)), "lengths": np.array([2])}]
    found = clips_by_id(shards, "score")
    assert list(found) == ["a", "b", "c"]
    np.testing.assert_array_equal(found["b"], np.arange(3.0, 9.0).reshape(2, 3))
    assert found["c"].shape == (2, 3)
