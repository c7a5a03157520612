"""Perturbations of decoded media: the degradation they promise, seeded per clip."""

from __future__ import annotations

import numpy as np
import pytest

from musicfusion.evaluation.perturb import (
    CLEAN_LEVEL,
    PERTURBATIONS,
    clip_rng,
    dropped_frames,
    perturb_shard,
    perturbations_of,
    pixel_noise,
    token_deletion,
    white_noise,
)

from support import sine

NOISE = {"white_noise": {"levels": [20, 0]}, "pixel_noise": {"levels": [16]},
         "dropped_frames": {"levels": [0.5]}, "token_deletion": {"levels": [0.5]}}


def tone(seconds=2.0, rate=8000):
    return sine(seconds, rate)


@pytest.mark.parametrize("snr_db", [30.0, 10.0, 0.0, -5.0])
def test_white_noise_has_the_requested_signal_to_noise_ratio(snr_db):
    clean = tone()
    noisy = white_noise(clean, snr_db, clip_rng(0, "white_noise", snr_db, "c1"))
    noise = noisy.astype(np.float64) - clean
    measured = 10 * np.log10(np.mean(clean.astype(np.float64) ** 2) / np.mean(noise ** 2))
    assert measured == pytest.approx(snr_db, abs=0.2)
    assert noisy.dtype == np.float32 and noisy.shape == clean.shape


def test_pixel_noise_has_the_requested_deviation_and_stays_8_bit():
    frames = np.full((4, 48, 64), 128, dtype=np.uint8)
    noisy = pixel_noise(frames, 16.0, np.random.default_rng(0))
    assert noisy.dtype == np.uint8
    assert np.std(noisy.astype(float) - 128) == pytest.approx(16.0, rel=0.05)
    assert pixel_noise(np.zeros_like(frames), 64.0, np.random.default_rng(0)).min() == 0  # clipped, not wrapped


def test_dropped_frames_show_the_last_frame_that_arrived():
    frames = np.arange(20, dtype=np.uint8)[:, None, None] * np.ones((1, 2, 2), np.uint8)
    out = dropped_frames(frames, 0.5, np.random.default_rng(1))
    shown = out[:, 0, 0]
    assert len(np.unique(shown)) == 10  # half of the 20 frames arrived
    assert (np.diff(shown.astype(int)) >= 0).all()  # time never runs backwards
    assert set(shown) <= set(range(20))
    assert dropped_frames(frames, 1.0, np.random.default_rng(1)).shape == frames.shape  # one frame always kept


def test_token_deletion_deletes_the_fraction_of_words():
    text = " ".join(f"w{i}" for i in range(20))
    out = token_deletion(text, 0.25, np.random.default_rng(0)).split()
    assert len(out) == 15 and out == sorted(out, key=lambda w: int(w[1:]))  # order kept
    assert token_deletion(text, 1.0, np.random.default_rng(0)) == ""
    assert token_deletion("", 0.5, np.random.default_rng(0)) == ""


def test_clip_randomness_depends_on_the_clip_not_on_its_neighbours():
    shard = {"clip_ids": np.array(["a", "b"]), "audio": np.concatenate([tone(), tone()]),
             "lengths": np.array([len(tone())] * 2)}
    alone = {"clip_ids": np.array(["b"]), "audio": tone(), "lengths": np.array([len(tone())])}
    both = perturb_shard("audio", shard, "white_noise", 10.0, seed=7)
    single = perturb_shard("audio", alone, "white_noise", 10.0, seed=7)
    assert np.array_equal(both["audio"][len(tone()):], single["audio"])
    assert not np.array_equal(both["audio"][: len(tone())], single["audio"])  # a and b differ
    assert not np.array_equal(perturb_shard("audio", alone, "white_noise", 10.0, seed=8)["audio"], single["audio"])


def test_perturbations_of_a_modality_and_unknown_names():
    assert perturbations_of("video", NOISE) == {"pixel_noise": [16.0], "dropped_frames": [0.5]}
    assert perturbations_of("text", NOISE) == {"token_deletion": [0.5]}
    with pytest.raises(ValueError, match="unknown perturbation"):
        perturbations_of("audio", {"reverb": {"levels": [1]}})
    with pytest.raises(ValueError, match="applies to audio"):
        perturb_shard("video", {"clip_ids": np.array([])}, "white_noise", 10.0, 0)
    assert set(CLEAN_LEVEL) == set(PERTURBATIONS)


def test_deleting_notes_of_a_score_shard_counts_each_clip_again():
    notes = [np.array([[60.0 + i, i, 1.0] for i in range(n)]) for n in (8, 4)]
    shard = {"clip_ids": np.array(["a", "b"]), "notes": np.concatenate(notes), "lengths": np.array([8, 4])}
    half = perturb_shard("score", shard, "note_deletion", 0.5, seed=3)
    assert half["lengths"].tolist() == [4, 2] and half["notes"].shape == (6, 3)
    shifted = perturb_shard("score", shard, "note_shift", 0.5, seed=3)
    assert shifted["lengths"].tolist() == [8, 4]
    assert np.abs(shifted["notes"][:, 0] - shard["notes"][:, 0]).sum() == 6  # 4 + 2 notes moved by a semitone
    assert np.array_equal(perturb_shard("score", shard, "note_deletion", 0.0, seed=3)["notes"], shard["notes"])
