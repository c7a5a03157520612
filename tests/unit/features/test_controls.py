"""Shortcut controls: loudness/duration, voices/density, length/charset/language."""

from __future__ import annotations

import numpy as np
import pytest

from musicfusion.features.controls import audio_controls, text_controls, video_controls

import support

SR = 8000
AUDIO = {"frame_length": 512, "hop_length": 128, "silence_dbfs": -50.0, "floor_dbfs": -100.0}
VIDEO = {"note_threshold": 80, "playhead_offset": 2, "window_seconds": 4.0}
LANGUAGES = ["de", "en", "it", "la", "fr", "zh", "es", "nl"]
TEXT = {"languages": LANGUAGES}

HEIGHT, WIDTH = 96, 128
PLAYHEAD = WIDTH // 2
PROBE = PLAYHEAD - VIDEO["playhead_offset"]


def column(names: list[str], X: np.ndarray, name: str) -> np.ndarray:
    return X[:, names.index(name)]


# --- audio -----------------------------------------------------------------------------------

def sine(seconds: float, amplitude: float, freq: float = 440.0) -> np.ndarray:
    return support.sine(seconds, SR, freq, amplitude)


def test_audio_loudness_follows_the_level():
    loud, quiet = sine(2.0, 0.5), sine(2.0, 0.05)
    X, names = audio_controls(np.stack([loud, quiet]), SR, AUDIO)
    assert X.dtype == np.float32 and X.shape == (2, len(names))
    mean = column(names, X, "loudness_dbfs_mean")
    # A sine of amplitude a has an RMS of a / sqrt(2): -9.03 dBFS at 0.5; 10x quieter is -20 dB.
    assert mean[0] == pytest.approx(20 * np.log10(0.5 / np.sqrt(2)), abs=0.3)
    assert mean[0] - mean[1] == pytest.approx(20.0, abs=0.1)
    assert column(names, X, "loudness_dbfs_max")[0] - column(names, X, "loudness_dbfs_max")[1] \
        == pytest.approx(20.0, abs=0.1)
    assert column(names, X, "sounding_fraction").tolist() == [1.0, 1.0]
    # Frames overhang the clip by up to a hop; the sounding time never exceeds the duration.
    assert column(names, X, "sounding_seconds").tolist() == [2.0, 2.0]


def test_audio_half_silent_clip():
    clip = np.concatenate([sine(2.0, 0.3), np.zeros(2 * SR, dtype=np.float32)])
    X, names = audio_controls(clip[None], SR, AUDIO)
    assert column(names, X, "duration_seconds")[0] == pytest.approx(4.0)
    assert column(names, X, "sounding_fraction")[0] == pytest.approx(0.5, abs=0.02)
    assert column(names, X, "sounding_seconds")[0] == pytest.approx(2.0, abs=0.05)
    # Digital silence sits at the floor, not at -inf: finite statistics, a wide spread.
    assert np.isfinite(X).all()
    assert column(names, X, "loudness_dbfs_std")[0] > 30


def test_audio_quiet_but_not_silent_half_is_below_the_threshold():
    rng = np.random.default_rng(0)
    hiss = (1e-4 * rng.standard_normal(2 * SR)).astype(np.float32)   # about -80 dBFS
    X, names = audio_controls(np.concatenate([sine(2.0, 0.003), hiss])[None], SR, AUDIO)  # tone at -53 dBFS
    assert column(names, X, "sounding_fraction")[0] == 0.0
    X, names = audio_controls(np.concatenate([sine(2.0, 0.01), hiss])[None], SR, AUDIO)   # tone at -43 dBFS
    assert column(names, X, "sounding_fraction")[0] == pytest.approx(0.5, abs=0.02)


def test_audio_variable_length_list_matches_clip_by_clip():
    clips = [sine(1.0, 0.2), np.concatenate([np.zeros(SR // 2, np.float32), sine(2.0, 0.2)])]
    X, names = audio_controls(clips, SR, AUDIO)
    assert column(names, X, "duration_seconds").tolist() == pytest.approx([1.0, 2.5])
    assert column(names, X, "sounding_seconds")[1] == pytest.approx(2.0, abs=0.05)
    for i, clip in enumerate(clips):
        np.testing.assert_array_equal(audio_controls([clip], SR, AUDIO)[0][0], X[i])
    # A 2-D array and the list of its rows give the same features.
    same = np.stack([sine(1.0, 0.2), sine(1.0, 0.02)])
    np.testing.assert_array_equal(audio_controls(same, SR, AUDIO)[0], audio_controls(list(same), SR, AUDIO)[0])


def test_audio_deterministic():
    rng = np.random.default_rng(0)
    audio = (0.1 * rng.standard_normal((3, SR))).astype(np.float32)
    first, second = audio_controls(audio, SR, AUDIO), audio_controls(audio, SR, AUDIO)
    np.testing.assert_array_equal(first[0], second[0])
    assert first[1] == second[1]


@pytest.mark.parametrize("audio, match", [
    (np.zeros((2, 3, 100), np.float32), "n_clips, n_samples"),
    (np.zeros(100, np.float32), "n_clips, n_samples"),
    (np.zeros((2, 100), np.int16), "float"),
    ([np.zeros(100, np.float32), np.zeros(0, np.float32)], "clip 1 has no samples"),
    ([np.zeros((2, 50), np.float32)], "1-D"),
    (np.array([[0.0, np.nan]], np.float32), "NaN"),
])
def test_audio_bad_input(audio, match):
    with pytest.raises(ValueError, match=match):
        audio_controls(audio, SR, AUDIO)


@pytest.mark.parametrize("params, match", [
    ({}, "empty"),
    ({"frame_length": 512, "hop_length": 128, "silence_dbfs": -50}, "floor_dbfs"),
    ({**AUDIO, "hop_length": 0}, "hop_length"),
    ({**AUDIO, "floor_dbfs": -40.0}, "below"),
])
def test_audio_bad_params(params, match):
    with pytest.raises(ValueError, match=match):
        audio_controls(np.zeros((1, 100), np.float32), SR, params)


# --- video -----------------------------------------------------------------------------------

def blank_frames(n_frames: int = 3) -> np.ndarray:
    """Dark piano-roll frames: background 16, octave lines at 48, a white playhead."""
    frames = np.full((n_frames, HEIGHT, WIDTH), 16, dtype=np.uint8)
    frames[:, ::12, :] = 48
    frames[:, :, PLAYHEAD] = 255
    return frames


def test_video_background_octave_lines_and_playhead_are_not_notes():
    X, names = video_controls(blank_frames()[None], 5, VIDEO)
    assert X.tolist() == [[0.0] * len(names)]


@pytest.mark.parametrize("k", [0, 1, 2, 4, 6])
def test_video_k_bars_at_the_probe_give_k_voices(k):
    frames = blank_frames()
    for j in range(k):  # bars 2 rows high, 3 rows apart, crossing the probe column
        top = 5 + 14 * j
        frames[:, top:top + 2, PROBE - 10:PROBE + 5] = 150
    # A bar elsewhere in the frame, off the probe column, is no voice.
    frames[:, 90:92, 5:15] = 150
    X, names = video_controls(frames[None], 5, VIDEO)
    assert column(names, X, "voices_mean")[0] == k
    assert column(names, X, "voices_max")[0] == k


def test_video_voices_pooled_over_frames():
    frames = blank_frames(4)
    for i, k in enumerate([1, 2, 3, 2]):
        for j in range(k):
            frames[i, 10 + 20 * j:12 + 20 * j, PROBE - 3:PROBE + 3] = 200
    X, names = video_controls(frames[None], 5, VIDEO)
    assert column(names, X, "voices_mean")[0] == pytest.approx(2.0)
    assert column(names, X, "voices_max")[0] == 3


def notes(n: int) -> np.ndarray:
    """Frames with n separate note rectangles, none touching the playhead."""
    frames = blank_frames()
    for j in range(n):
        row, col = 4 + 10 * (j % 9), 4 + 12 * (j // 9)
        frames[:, row:row + 2, col:col + 8] = 140
    return frames


def test_video_more_notes_higher_density():
    X, names = video_controls(np.stack([notes(2), notes(9), notes(20)]), 5, VIDEO)
    density = column(names, X, "note_density_per_second")
    np.testing.assert_allclose(density, np.array([2, 9, 20]) / VIDEO["window_seconds"])
    ink = column(names, X, "ink_fraction_mean")
    assert ink[0] < ink[1] < ink[2]
    assert ink[2] == pytest.approx(20 * 16 / (HEIGHT * (WIDTH - 1)))


def test_video_note_across_the_playhead_is_one_note():
    frames = blank_frames()
    frames[:, 40:42, PLAYHEAD - 10:PLAYHEAD + 10] = 150   # sounding now: crosses the white line
    frames[:, 60:62, PLAYHEAD + 1:PLAYHEAD + 10] = 150    # starts just after the playhead
    X, names = video_controls(frames[None], 5, VIDEO)
    assert column(names, X, "note_density_per_second")[0] == pytest.approx(2 / VIDEO["window_seconds"])


def test_video_notes_touching_at_a_corner_are_two():
    # A step up in a melody: the next note starts where the last ends, one pitch higher.
    frames = blank_frames()
    frames[:, 50:52, 10:20] = 150
    frames[:, 48:50, 20:30] = 150
    X, names = video_controls(frames[None], 5, VIDEO)
    assert column(names, X, "note_density_per_second")[0] == pytest.approx(2 / VIDEO["window_seconds"])


def test_video_deterministic_and_float32():
    rng = np.random.default_rng(1)
    frames = rng.integers(0, 256, size=(2, 3, HEIGHT, WIDTH), dtype=np.uint8)
    first, second = video_controls(frames, 5, VIDEO), video_controls(frames, 5, VIDEO)
    assert first[0].dtype == np.float32 and np.isfinite(first[0]).all()
    np.testing.assert_array_equal(first[0], second[0])


@pytest.mark.parametrize("frames, fps, params, match", [
    (np.zeros((1, 3, HEIGHT, WIDTH), np.float32), 5, VIDEO, "uint8"),
    (np.zeros((3, HEIGHT, WIDTH), np.uint8), 5, VIDEO, "n_clips, n_frames, height, width"),
    (np.zeros((1, 0, HEIGHT, WIDTH), np.uint8), 5, VIDEO, "at least one frame"),
    (np.zeros((1, 3, HEIGHT, 6), np.uint8), 5, {**VIDEO, "playhead_offset": 4}, "outside"),
    (np.zeros((1, 3, HEIGHT, WIDTH), np.uint8), 0, VIDEO, "fps"),
    (np.zeros((1, 3, HEIGHT, WIDTH), np.uint8), 5, {}, "empty"),
    (np.zeros((1, 3, HEIGHT, WIDTH), np.uint8), 5, {**VIDEO, "note_threshold": 300}, "note_threshold"),
])
def test_video_bad_input(frames, fps, params, match):
    with pytest.raises(ValueError, match=match):
        video_controls(frames, fps, params)


# --- text ------------------------------------------------------------------------------------

TEXTS = [
    "ab cd efg",
    "wälder",
    "waelder",
    "der wald steht schwarz und schweiget, und aus den wiesen steiget der weiße nebel wunderbar",
    "la donna è mobile qual piuma al vento, muta d'accento e di pensiero",
    "",
    "!!! 123",
]


@pytest.fixture(scope="module")
def text_result():
    return text_controls(TEXTS, TEXT)


def test_text_lengths(text_result):
    X, names = text_result
    assert X.dtype == np.float32 and X.shape == (len(TEXTS), len(names))
    assert column(names, X, "n_chars")[0] == 9
    assert column(names, X, "n_words")[0] == 3
    assert column(names, X, "mean_word_length")[0] == pytest.approx(7 / 3)
    assert column(names, X, "n_distinct_chars")[0] == 8   # a b c d e f g and the space
    assert column(names, X, "char_frac_whitespace")[0] == pytest.approx(2 / 9)


def test_text_character_set(text_result):
    X, names = text_result
    assert column(names, X, "char_frac_other_letter")[1] == pytest.approx(1 / 6)   # wälder
    assert column(names, X, "char_frac_ascii_letter")[1] == pytest.approx(5 / 6)
    assert column(names, X, "char_frac_other_letter")[2] == 0.0                    # waelder
    assert column(names, X, "char_frac_ascii_letter")[2] == 1.0
    assert column(names, X, "char_frac_digit")[6] == pytest.approx(3 / 7)
    assert column(names, X, "char_frac_punctuation")[6] == pytest.approx(3 / 7)
    fractions = [n for n in names if n.startswith("char_frac_")]
    sums = X[:, [names.index(n) for n in fractions]].sum(axis=1)
    np.testing.assert_allclose(sums, [1, 1, 1, 1, 1, 0, 1], atol=1e-6)


def test_text_language_guess(text_result):
    X, names = text_result
    lang = X[:, [names.index(f"lang_{code}") for code in LANGUAGES]]
    assert names[-1] == "lang_prob"
    assert LANGUAGES[int(lang[3].argmax())] == "de" and lang[3].sum() == 1
    assert LANGUAGES[int(lang[4].argmax())] == "it" and lang[4].sum() == 1
    assert column(names, X, "lang_prob")[3] > 0.9 and column(names, X, "lang_prob")[4] > 0.9
    # Nothing to go on (empty; punctuation and digits only): no guess rather than the first language.
    assert lang[5].sum() == 0 and lang[6].sum() == 0
    assert column(names, X, "lang_prob")[5] == 0 and column(names, X, "lang_prob")[6] == 0
    assert X[5].tolist() == [0.0] * len(names)


def test_text_deterministic_and_batch_independent(text_result):
    X, names = text_result
    again, names_again = text_controls(list(reversed(TEXTS)), TEXT)
    np.testing.assert_array_equal(again[::-1], X)
    assert names_again == names
    # numpy string arrays (as stored in the interim npz) are accepted.
    np.testing.assert_array_equal(text_controls(np.array(TEXTS[:3]), TEXT)[0], X[:3])


def test_text_empty_batch():
    X, names = text_controls([], TEXT)
    assert X.shape == (0, len(names)) and X.dtype == np.float32


@pytest.mark.parametrize("texts, params, match", [
    ("a single string", TEXT, "single string"),
    (["ok", 3], TEXT, "str"),
    (np.array([["a"]]), TEXT, "1-D"),
    (["ok"], {}, "empty"),
    (["ok"], {"languages": []}, "non-empty"),
    (["ok"], {"languages": ["de", "de"]}, "twice"),
    (["ok"], {"languages": ["de", "klingon"]}, "klingon"),
])
def test_text_bad_input(texts, params, match):
    with pytest.raises(ValueError, match=match):
        text_controls(texts, params)
