"""Behaviour of the per-modality feature extractors, on synthetic inputs made here."""

from __future__ import annotations

import copy

import cv2
import numpy as np
import pytest
import yaml

from musicfusion.features import audio, text, video

import support
from support import PROJECT_ROOT

SAMPLE_RATE = 22050
HEIGHT, WIDTH = 96, 128  # preprocess.video size in params.yaml

AUDIO_PARAMS = {"n_mfcc": 20, "n_fft": 2048, "hop_length": 512, "delta_orders": [1, 2],
                "pooling": ["mean", "std"]}
VIDEO_PARAMS = {"hog": {"cell_size": 16, "block_size": 32, "block_stride": 16, "nbins": 9},
                "pooling": ["mean", "std"]}
TEXT_PARAMS = {"analyzer": "word", "ngram_range": [1, 2], "min_df": 1, "max_features": 5000,
               "sublinear_tf": True}


def with_changes(params: dict, **changes) -> dict:
    changed = copy.deepcopy(params)
    changed.update(changes)
    return changed


# ---------------------------------------------------------------- synthetic inputs

def sine(freq: float, seconds: float = 1.0, amplitude: float = 0.1) -> np.ndarray:
    return support.sine(seconds, SAMPLE_RATE, freq, amplitude)


def white_noise(seed: int, seconds: float = 1.0) -> np.ndarray:
    return (0.1 * np.random.default_rng(seed).standard_normal(int(seconds * SAMPLE_RATE))).astype(np.float32)


def square_clip(n_frames: int, step_px: int, top_left=(8, 8), side: int = 24) -> np.ndarray:
    """Grey frames with a white square moving step_px pixels right each frame (0: static)."""
    clip = np.zeros((n_frames, HEIGHT, WIDTH), np.uint8)
    x, y = top_left
    for i, frame in enumerate(clip):
        cv2.rectangle(frame, (x + i * step_px, y), (x + i * step_px + side, y + side), 255, -1)
    return clip


# ---------------------------------------------------------------- audio

@pytest.fixture(scope="module")
def sine_and_noise():
    """Features of two sines and two noises, computed once (the first MFCC call compiles numba)."""
    clips = np.stack([sine(440), sine(660), white_noise(1), white_noise(2)])
    return audio.extract(clips, SAMPLE_RATE, AUDIO_PARAMS)


def test_audio_shape_dtype_and_names(sine_and_noise):
    X, names = sine_and_noise
    n = AUDIO_PARAMS["n_mfcc"] * (1 + len(AUDIO_PARAMS["delta_orders"])) * len(AUDIO_PARAMS["pooling"])
    assert X.shape == (4, n) and X.dtype == np.float32
    assert len(names) == n == len(set(names))
    assert names[0] == "mfcc00_mean" and names[-1] == "mfcc19_d2_std"
    assert "mfcc03_d1_std" in names
    assert np.isfinite(X).all()


def test_audio_dimension_follows_params():
    params = with_changes(AUDIO_PARAMS, n_mfcc=13, delta_orders=[1], pooling=["max"])
    X, names = audio.extract(sine(440)[None], SAMPLE_RATE, params)
    assert X.shape == (1, 13 * 2 * 1)
    assert names[:2] == ["mfcc00_max", "mfcc01_max"] and names[-1] == "mfcc12_d1_max"


def test_sine_and_noise_have_clearly_different_mfcc_means(sine_and_noise):
    X, names = sine_and_noise
    means = X[:, [i for i, name in enumerate(names) if name.endswith("_mean") and "_d" not in name]]
    sine_a, _, noise_a, noise_b = means
    # Two noises are near each other, far from a sine.
    assert np.linalg.norm(noise_a - noise_b) < 0.1 * np.linalg.norm(noise_a - sine_a)


def test_audio_is_deterministic_and_independent_of_batch(sine_and_noise):
    X, _ = sine_and_noise
    clips = np.stack([sine(440), sine(660), white_noise(1), white_noise(2)])
    again, _ = audio.extract(clips, SAMPLE_RATE, AUDIO_PARAMS)
    alone, _ = audio.extract(clips[2:3], SAMPLE_RATE, AUDIO_PARAMS)
    assert np.array_equal(X, again)
    assert np.array_equal(X[2], alone[0])


def loudness_envelope(db_points: list[float]) -> np.ndarray:
    """Gain for a one-second clip, linear in dB between equally spaced points."""
    db = np.interp(np.linspace(0, 1, SAMPLE_RATE), np.linspace(0, 1, len(db_points)), db_points)
    return (10 ** (db / 20)).astype(np.float32)


@pytest.mark.parametrize("seconds", [0.6, 3.0])
def test_mfcc_with_a_built_once_filter_bank_equals_librosa_bit_for_bit(seconds):
    import librosa

    clip = sine(523.25, seconds) + white_noise(7, seconds)
    for sample_rate, n_fft in [(SAMPLE_RATE, 2048), (16000, 1024)]:
        params = with_changes(AUDIO_PARAMS, n_fft=n_fft, hop_length=n_fft // 4, n_mfcc=13)
        expected = librosa.feature.mfcc(y=clip, sr=sample_rate, n_mfcc=13, n_fft=n_fft, hop_length=n_fft // 4)
        assert audio.mfcc(clip, sample_rate, params).tobytes() == expected.tobytes()
    # Built once per setting, and shared read-only so no caller can alter another's.
    assert audio.mel_filters(SAMPLE_RATE, 2048) is audio.mel_filters(SAMPLE_RATE, 2048)
    assert not audio.mel_filters(SAMPLE_RATE, 2048).flags.writeable


def test_first_delta_columns_follow_loudness_trend():
    # Noise (every mel band moves with loudness) getting louder, then quieter: mfcc00 rises, falls.
    clips = np.stack([white_noise(3) * loudness_envelope([-40, 0]), white_noise(3) * loudness_envelope([0, -40])])
    X, names = audio.extract(clips, SAMPLE_RATE, AUDIO_PARAMS)
    slope = X[:, names.index("mfcc00_d1_mean")]
    assert slope[0] > 0 > slope[1]


def test_second_delta_columns_follow_loudness_curvature():
    # Symmetric envelopes have no net slope, but a hump bends down where a dip bends up.
    clips = np.stack([white_noise(3) * loudness_envelope([-40, 0, -40]),
                      white_noise(3) * loudness_envelope([0, -40, 0])])
    X, names = audio.extract(clips, SAMPLE_RATE, AUDIO_PARAMS)
    slope = X[:, names.index("mfcc00_d1_mean")]
    curvature = X[:, names.index("mfcc00_d2_mean")]
    assert curvature[0] < curvature[1]
    assert curvature[1] - curvature[0] > 10 * abs(slope[1] - slope[0])


def test_short_clip_narrows_delta_width_and_fewer_than_three_frames_repeat_the_edges():
    hop = AUDIO_PARAMS["hop_length"]
    five_frames = sine(440, seconds=4 * hop / SAMPLE_RATE)[None]  # 1 + n_samples // hop frames
    X, _ = audio.extract(five_frames, SAMPLE_RATE, AUDIO_PARAMS)
    assert np.isfinite(X).all()
    assert audio.delta_width(5, AUDIO_PARAMS) == 5
    # librosa's interp window has no room in 2 frames (delta_width refuses them) ...
    with pytest.raises(ValueError, match="2 MFCC frames is too short"):
        audio.delta_width(2, AUDIO_PARAMS)
    # ... so a clip of 2 frames (tests/unit/features/test_audio_one_shots.py checks the values) has deltas.
    two_frames = sine(440, seconds=1.5 * hop / SAMPLE_RATE)[None]
    X, names = audio.extract(two_frames, SAMPLE_RATE, AUDIO_PARAMS)
    assert np.isfinite(X).all() and X.shape == (1, len(names))


def test_audio_rejects_bad_settings_and_shapes():
    with pytest.raises(ValueError, match="median"):
        audio.extract(sine(440)[None], SAMPLE_RATE, with_changes(AUDIO_PARAMS, pooling=["mean", "median"]))
    with pytest.raises(ValueError, match="delta_orders"):
        audio.extract(sine(440)[None], SAMPLE_RATE, with_changes(AUDIO_PARAMS, delta_orders=[0, 1]))
    with pytest.raises(ValueError, match="1-D mono samples"):
        audio.extract(sine(440)[None, None], SAMPLE_RATE, AUDIO_PARAMS)


def test_clips_of_different_lengths_are_pooled_over_their_own_length():
    short, long = sine(440)[: SAMPLE_RATE // 2], np.tile(sine(660), 3)
    X, _ = audio.extract([short, long], SAMPLE_RATE, AUDIO_PARAMS)
    alone = [audio.extract([clip], SAMPLE_RATE, AUDIO_PARAMS)[0][0] for clip in (short, long)]
    np.testing.assert_array_equal(X, np.stack(alone))  # no padding: a clip's features are its own
    padded = np.concatenate([short, np.zeros(len(long) - len(short), np.float32)])
    assert not np.allclose(X[0], audio.extract([padded], SAMPLE_RATE, AUDIO_PARAMS)[0][0])
    few, many = square_clip(2, step_px=4), square_clip(6, step_px=4)
    V, _ = video.extract([few, many], VIDEO_PARAMS)
    np.testing.assert_array_equal(V[0], video.extract(few[None], VIDEO_PARAMS)[0][0])
    np.testing.assert_array_equal(V[1], video.extract(many[None], VIDEO_PARAMS)[0][0])




# ---------------------------------------------------------------- video

def test_video_shape_names_match_opencv_descriptor():
    frames = square_clip(3, step_px=4)[None]
    X, names = video.extract(frames, VIDEO_PARAMS)
    per_frame = cv2.HOGDescriptor((WIDTH, HEIGHT), (32, 32), (16, 16), (16, 16), 9).getDescriptorSize()
    assert per_frame == 7 * 5 * 4 * 9  # 7 x 5 blocks of 2 x 2 cells, 9 bins
    assert X.shape == (1, per_frame * 2) and X.dtype == np.float32
    assert len(names) == len(set(names)) == X.shape[1]
    assert names[0] == "hog_bx00_by00_cx0_cy0_bin0_mean" and names[-1].endswith("_std")


def test_video_std_is_zero_for_a_static_pattern_and_not_for_a_moving_one():
    X, names = video.extract(np.stack([square_clip(6, step_px=0), square_clip(6, step_px=8)]), VIDEO_PARAMS)
    is_std = np.array([name.endswith("_std") for name in names])
    static, moving = X
    assert np.all(static[is_std] == 0) and static[~is_std].max() > 0
    assert moving[is_std].max() > 0.05


def test_video_names_point_at_the_right_block():
    # A square inside the top-right cell is seen only by the top-right block (bx06, by00);
    # OpenCV orders blocks column by column, so a row-major naming would fail here.
    clip = square_clip(2, step_px=0, top_left=(WIDTH - 12, 4), side=6)
    X, names = video.extract(clip[None], VIDEO_PARAMS)
    seen = {names[i].split("_cx")[0] for i in np.flatnonzero(X[0])}
    assert seen == {"hog_bx06_by00"}
    # Within that block the square sits in the right-hand (cx1), top (cy0) cell.
    assert "_cx1_cy0_" in names[int(np.argmax(X[0]))]


def test_video_is_deterministic_and_max_pooling_bounds_mean():
    frames = np.stack([square_clip(5, step_px=6), square_clip(5, step_px=3)])
    params = with_changes(VIDEO_PARAMS, pooling=["mean", "max"])
    X, _ = video.extract(frames, params)
    again, _ = video.extract(frames.copy(), params)
    assert np.array_equal(X, again)
    half = X.shape[1] // 2
    assert np.all(X[:, half:] >= X[:, :half])


@pytest.mark.parametrize("width, height, hog, message", [
    (100, 96, {"cell_size": 16, "block_size": 32, "block_stride": 16, "nbins": 9}, "100x96"),
    (128, 90, {"cell_size": 16, "block_size": 32, "block_stride": 16, "nbins": 9}, "128x90"),
    (128, 96, {"cell_size": 12, "block_size": 32, "block_stride": 16, "nbins": 9}, "cell_size=12"),
    (128, 96, {"cell_size": 16, "block_size": 128, "block_stride": 16, "nbins": 9}, "block_size=128"),
])
def test_invalid_hog_geometry_raises_naming_frame_and_settings(width, height, hog, message):
    frames = np.zeros((1, 2, height, width), np.uint8)
    with pytest.raises(ValueError, match=message) as err:
        video.extract(frames, with_changes(VIDEO_PARAMS, hog=hog))
    assert "block_size" in str(err.value)


def test_video_rejects_unknown_pooling_and_non_uint8_frames():
    with pytest.raises(ValueError, match="median"):
        video.extract(square_clip(2, 0)[None], with_changes(VIDEO_PARAMS, pooling=["median"]))
    with pytest.raises(ValueError, match="uint8"):
        video.extract(square_clip(2, 0)[None].astype(np.float32), VIDEO_PARAMS)


# ---------------------------------------------------------------- text

TRAIN = ["kyrie eleison christe eleison", "the lark in the morning", "the lark sings in spring"]
HELD_OUT = ["dona nobis pacem", "the morning star"]


def test_text_vocabulary_comes_from_training_texts_only():
    vectorizer = text.fit(TRAIN, TEXT_PARAMS)
    _, vocabulary = text.transform(vectorizer, HELD_OUT)
    train_words = {w for doc in TRAIN for w in doc.split()}
    assert {"dona", "nobis", "pacem", "star"}.isdisjoint(vocabulary)
    assert {w for w in vocabulary if " " not in w} == train_words
    assert "lark sings" in vocabulary  # ngram_range [1, 2] from params, given as a YAML list


def test_text_transform_of_unseen_text_uses_only_known_columns():
    vectorizer = text.fit(TRAIN, TEXT_PARAMS)
    X, vocabulary = text.transform(vectorizer, HELD_OUT)
    assert X.shape == (2, len(vocabulary)) and X.dtype == np.float32
    assert not X[0].any()  # no known word at all
    assert {vocabulary[i] for i in np.flatnonzero(X[1])} == {"the", "morning", "the morning"}
    assert np.linalg.norm(X[1]) == pytest.approx(1.0, abs=1e-6)


def test_text_params_are_honoured_and_output_is_deterministic():
    params = with_changes(TEXT_PARAMS, ngram_range=[1, 1], max_features=3)
    vectorizer = text.fit(TRAIN, params)
    X, vocabulary = text.transform(vectorizer, TRAIN)
    assert len(vocabulary) == 3 and all(" " not in w for w in vocabulary)
    assert np.array_equal(X, text.transform(text.fit(TRAIN, params), TRAIN)[0])
    chars = text.fit(TRAIN, with_changes(TEXT_PARAMS, analyzer="char_wb", ngram_range=[2, 3]))
    assert "la" in text.transform(chars, HELD_OUT)[1]


# ---------------------------------------------------------------- empty shards and settings

def test_no_clips_give_empty_matrices_with_all_names():
    X, names = audio.extract(np.zeros((0, SAMPLE_RATE), np.float32), SAMPLE_RATE, AUDIO_PARAMS)
    assert X.shape == (0, len(names)) == (0, 120) and X.dtype == np.float32
    X, names = video.extract(np.zeros((0, 3, HEIGHT, WIDTH), np.uint8), VIDEO_PARAMS)
    assert X.shape == (0, len(names)) == (0, 2520) and X.dtype == np.float32
    X, names = text.transform(text.fit(TRAIN, TEXT_PARAMS), [])
    assert X.shape == (0, len(names)) and len(names) > 0 and X.dtype == np.float32


def test_default_params_give_valid_geometry_and_expected_dimensions():
    params = yaml.safe_load((PROJECT_ROOT / "params.yaml").read_text())
    features, size = params["features"], params["preprocess"]["video"]
    frames = np.zeros((1, 2, size["height"], size["width"]), np.uint8)
    X_video, _ = video.extract(frames, features["video"])
    X_audio, _ = audio.extract(sine(440)[None], params["preprocess"]["audio"]["sample_rate"], features["audio"])
    a = features["audio"]
    assert X_audio.shape[1] == a["n_mfcc"] * (1 + len(a["delta_orders"])) * len(a["pooling"])
    assert X_video.shape[1] > 0
