"""One-shot clips (a drum hit, a blip: 0.02 s and up): what the audio and video extractors need,
as declared in the feature registry, and the features of clips shorter than an MFCC window."""

from __future__ import annotations

import librosa
import numpy as np
import pytest

from musicfusion.features import audio, controls, registry, video

SAMPLE_RATE = 22050
AUDIO_PARAMS = {"n_mfcc": 20, "n_fft": 2048, "hop_length": 512, "delta_orders": [1, 2],
                "pooling": ["mean", "std"]}
VIDEO_PARAMS = {"hog": {"cell_size": 16, "block_size": 32, "block_stride": 16, "nbins": 9},
                "pooling": ["mean", "std"]}
CONTROLS_AUDIO = {"frame_length": 2048, "hop_length": 512, "silence_dbfs": -50.0, "floor_dbfs": -100.0}
CONTROLS_VIDEO = {"note_threshold": 80, "playhead_offset": 2, "window_seconds": 4.0}
FEATURES = {"audio": AUDIO_PARAMS, "video": VIDEO_PARAMS, "extra_sets": []}
RATES = {"sample_rate": SAMPLE_RATE, "fps": 5}
WIDTH = AUDIO_PARAMS["n_mfcc"] * (1 + len(AUDIO_PARAMS["delta_orders"])) * len(AUDIO_PARAMS["pooling"])


def one_shot(seconds: float, kind: str, seed: int = 0) -> np.ndarray:
    """A sine or noise burst of ``seconds`` with a decaying envelope, like a drum hit or a blip."""
    n = max(1, int(round(seconds * SAMPLE_RATE)))
    t = np.arange(n) / SAMPLE_RATE
    source = (np.sin(2 * np.pi * 880.0 * t) if kind == "sine"
              else np.random.default_rng(seed).standard_normal(n))
    return (0.3 * source * np.exp(-t / max(seconds, 1e-3) * 3)).astype(np.float32)


# ---------------------------------------------------------------- what the extractors declare


def test_the_mfccs_need_one_sample_and_hog_one_frame_of_any_length():
    assert audio.shortest_seconds(AUDIO_PARAMS, SAMPLE_RATE) == 1 / SAMPLE_RATE
    assert audio.shortest_seconds(AUDIO_PARAMS, 16000) == 1 / 16000
    assert video.shortest_seconds(VIDEO_PARAMS, 5) == 0.0
    assert registry.EXTRACTORS["audio"].shortest(AUDIO_PARAMS, RATES) == 1 / SAMPLE_RATE
    assert registry.EXTRACTORS["video"].shortest(VIDEO_PARAMS, RATES) == 0.0


def test_shortest_clip_seconds_is_the_longest_need_of_the_modalitys_run_sets(monkeypatch):
    assert registry.shortest_clip_seconds("audio", FEATURES, RATES, ["audio", "video", "text"]) == 1 / SAMPLE_RATE
    assert registry.shortest_clip_seconds("video", FEATURES, RATES, ["audio", "video"]) == 0.0
    assert registry.shortest_clip_seconds("text", FEATURES, RATES, ["audio", "text"]) == 0.0  # no duration
    assert registry.shortest_clip_seconds("audio", FEATURES, RATES, ["video"]) == 0.0  # no audio set in the run
    # A further audio set that needs more raises the audio minimum, only when the run extracts it.
    slow = registry.Extractor("audio", per_fold=False, extract=None, settings=("audio",),
                              shortest=lambda settings, rates: 0.25)
    monkeypatch.setitem(registry.EXTRACTORS, "audio.slow", slow)
    assert registry.shortest_clip_seconds("audio", FEATURES, RATES, ["audio", "audio.slow"]) == 0.25
    assert registry.shortest_clip_seconds("audio", FEATURES, RATES, ["audio"]) == 1 / SAMPLE_RATE
    assert registry.shortest_clip_seconds("video", FEATURES, RATES, ["video", "audio.slow"]) == 0.0


# ---------------------------------------------------------------- one-shots through the MFCCs


@pytest.mark.parametrize("kind", ["sine", "noise"])
@pytest.mark.parametrize("seconds", [0.02, 0.05, 0.1, 0.3])
def test_one_shots_give_finite_mfcc_features_of_the_normal_width(seconds, kind, recwarn):
    clip = one_shot(seconds, kind)
    X, names = audio.extract([clip], SAMPLE_RATE, AUDIO_PARAMS)
    assert X.shape == (1, WIDTH) and len(names) == WIDTH and X.dtype == np.float32
    assert np.isfinite(X).all()
    assert np.abs(X[0, :AUDIO_PARAMS["n_mfcc"]]).max() > 1  # the MFCC means describe the sound
    assert not [w for w in recwarn if "n_fft" in str(w.message)]  # the padding is meant: no warning
    C, _ = controls.audio_controls([clip], SAMPLE_RATE, CONTROLS_AUDIO)
    assert np.isfinite(C).all() and C[0, 4] == pytest.approx(len(clip) / SAMPLE_RATE)


def test_a_clip_of_one_sample_is_described():
    X, _ = audio.extract([np.full(1, 0.3, np.float32)], SAMPLE_RATE, AUDIO_PARAMS)
    assert np.isfinite(X).all() and X.shape == (1, WIDTH)


def _columns(X: np.ndarray, names: list[str], suffix: str) -> np.ndarray:
    return X[0, [i for i, name in enumerate(names) if name.endswith(suffix)]]


def test_one_frame_has_zero_deltas():
    clip = one_shot(0.02, "noise")  # 441 samples < hop_length: one MFCC frame
    coefficients = audio.mfcc(clip, SAMPLE_RATE, AUDIO_PARAMS)
    assert coefficients.shape[1] == 1
    X, names = audio.extract([clip], SAMPLE_RATE, AUDIO_PARAMS)
    np.testing.assert_allclose(_columns(X, names, "_mean")[:AUDIO_PARAMS["n_mfcc"]], coefficients[:, 0], rtol=1e-6)
    for suffix in ("_d1_mean", "_d2_mean", "_std"):  # 0 up to the filter's rounding (1e-15)
        np.testing.assert_allclose(_columns(X, names, suffix), 0, atol=1e-9, err_msg=suffix)


def test_two_frames_have_edge_repeated_deltas():
    clip = one_shot(0.03, "noise")  # 662 samples: two MFCC frames
    c = audio.mfcc(clip, SAMPLE_RATE, AUDIO_PARAMS).astype(np.float64)
    assert c.shape[1] == 2
    X, names = audio.extract([clip], SAMPLE_RATE, AUDIO_PARAMS)
    # Edge frames repeated (x0, x0, x1, x1): first delta (next - previous) / 2 is (x1 - x0) / 2 on both
    # frames; second delta (next - 2 x + previous) is x1 - x0, then x0 - x1.
    half = (c[:, 1] - c[:, 0]) / 2
    np.testing.assert_allclose(_columns(X, names, "_d1_mean"), half, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(_columns(X, names, "_d1_std"), 0, atol=1e-5)
    np.testing.assert_allclose(_columns(X, names, "_d2_mean"), 0, atol=1e-5)
    np.testing.assert_allclose(_columns(X, names, "_d2_std"), np.abs(2 * half), rtol=1e-5, atol=1e-5)
    assert np.abs(half).max() > 0.1  # the two frames differ: the check above means something


# ---------------------------------------------------------------- clips of 3 frames and more: unchanged


def reference_features(clip: np.ndarray) -> np.ndarray:
    """The MFCC features straight from librosa (its mfcc, its delta with the default window
    narrowed to the clip, mean and std over frames in float64), not through musicfusion's code."""
    p = AUDIO_PARAMS
    c = librosa.feature.mfcc(y=clip, sr=SAMPLE_RATE, n_mfcc=p["n_mfcc"], n_fft=p["n_fft"], hop_length=p["hop_length"])
    width = min(9, c.shape[1] - (c.shape[1] % 2 == 0))
    frames = np.concatenate([c, *(librosa.feature.delta(c, width=width, order=o) for o in p["delta_orders"])])
    frames = frames.T.astype(np.float64)
    return np.concatenate([frames.mean(axis=0), frames.std(axis=0)]).astype(np.float32)


def ten_seconds() -> np.ndarray:
    rng = np.random.default_rng(20240611)
    t = np.arange(10 * SAMPLE_RATE) / SAMPLE_RATE
    return (0.1 * np.sin(2 * np.pi * 440 * t) + 0.05 * rng.standard_normal(len(t))).astype(np.float32)


@pytest.mark.filterwarnings("ignore:n_fft=")  # librosa's own call warns that n_fft exceeds 3 frames' clip
@pytest.mark.parametrize("n_samples", [10 * SAMPLE_RATE, 5 * 512, 2 * 512])  # 431, 6 and 3 frames
def test_clips_of_three_frames_and_more_keep_their_features_bit_for_bit(n_samples):
    clip = ten_seconds()[:n_samples]
    X, _ = audio.extract([clip], SAMPLE_RATE, AUDIO_PARAMS)
    assert X[0].tobytes() == reference_features(clip).tobytes()


def test_a_ten_second_clip_keeps_the_values_computed_before_one_shots_were_described():
    X, names = audio.extract([ten_seconds()], SAMPLE_RATE, AUDIO_PARAMS)
    # Computed with musicfusion.features.audio as it was before (deltas refused under 3 frames).
    before = {"mfcc00_mean": -85.00135040283203, "mfcc05_mean": -3.973130941390991,
              "mfcc19_mean": 0.84151291847229, "mfcc00_d1_mean": 0.023660747334361076,
              "mfcc03_d2_mean": -0.0033543449826538563, "mfcc00_std": 3.5109188556671143,
              "mfcc07_d1_std": 0.5663232207298279, "mfcc19_d2_std": 0.3649263083934784}
    got = {name: float(X[0, names.index(name)]) for name in before}
    assert got == pytest.approx(before, rel=1e-5, abs=1e-6)


# ---------------------------------------------------------------- video: one frame


def test_one_frame_of_video_gives_hog_and_controls():
    frame = np.zeros((1, 96, 128), np.uint8)
    frame[0, 20:40, 30:90] = 200
    X, names = video.extract([frame], VIDEO_PARAMS)
    assert X.shape == (1, len(names)) and np.isfinite(X).all() and X.any()
    assert not _columns(X, names, "_std").any()
    C, _ = controls.video_controls([frame], 5, CONTROLS_VIDEO)
    assert np.isfinite(C).all()
