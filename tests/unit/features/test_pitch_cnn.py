"""The pitch CNN's features: basic-pitch's network through onnxruntime, and the summaries pooled from it."""

import numpy as np
import pytest

from musicfusion.features import pitch_cnn
from musicfusion.features.registry import extractor, feature_settings, run_feature_sets

RATE = pitch_cnn.MODEL_SAMPLE_RATE


def tone(midi: int, seconds: float, rate: int = RATE) -> np.ndarray:
    """A plucked-string-like tone (a few decaying harmonics) at MIDI pitch ``midi``."""
    t = np.arange(int(seconds * rate)) / rate
    f0 = 440.0 * 2 ** ((midi - 69) / 12)
    wave = sum(np.sin(2 * np.pi * f0 * k * t) / k for k in range(1, 4))
    return (0.3 * wave * np.exp(-t)).astype(np.float32)


def posteriorgram(active: dict[int, tuple], n_frames: int) -> np.ndarray:
    """(n_frames, 88) with 0.9 (or a given level) where MIDI key k sounds over [start, stop) frames."""
    out = np.full((n_frames, pitch_cnn.N_KEYS), 0.01, np.float32)
    for midi, (start, stop, *level) in active.items():
        out[start:stop, midi - pitch_cnn.LOWEST_MIDI] = level[0] if level else 0.9
    return out


def test_windows_cover_the_signal_with_basic_pitchs_overlap():
    hop = pitch_cnn.WINDOW_SAMPLES - pitch_cnn.OVERLAP_FRAMES * pitch_cnn.FRAME_HOP
    signal = np.arange(3 * RATE, dtype=np.float32) + 1
    windows = pitch_cnn.windows(signal)
    half = pitch_cnn.OVERLAP_FRAMES // 2 * pitch_cnn.FRAME_HOP
    assert windows.shape[1:] == (pitch_cnn.WINDOW_SAMPLES, 1)
    assert len(windows) == int(np.ceil((len(signal) + half) / hop))
    assert np.all(windows[0, :half, 0] == 0) and windows[0, half, 0] == 1  # silence in front
    assert windows[1, 0, 0] == hop - half + 1  # the second window starts one hop later
    assert windows[-1, -1, 0] == 0  # the last one padded


def test_the_network_hears_the_pitch_class_of_a_tone_in_any_octave():
    for midi in (57, 64, 69):
        acts = pitch_cnn.activations(tone(midi, 1.5), RATE)
        assert acts["note"].shape == (int(1.5 * pitch_cnn.FRAMES_PER_SECOND), 88)
        assert acts["onset"].shape == acts["note"].shape and acts["contour"].shape[1] == 264
        loudest = int(np.argmax(acts["note"].mean(axis=0))) + pitch_cnn.LOWEST_MIDI
        assert loudest == midi
        found = pitch_cnn.summaries(acts, 0.5)
        assert int(np.argmax(found["pitch_classes"][0])) == midi % 12


def test_a_resampled_clip_gives_the_model_rates_frames():
    acts = pitch_cnn.activations(tone(69, 1.0, rate=16000), 16000)
    assert len(acts["note"]) == int(pitch_cnn.FRAMES_PER_SECOND)
    assert int(np.argmax(acts["note"].mean(axis=0))) + pitch_cnn.LOWEST_MIDI == 69


def test_key_profile_is_the_same_in_every_key():
    # A C major triad, then the same triad a fifth higher (G major): the absolute profile moves,
    # the key profile does not.
    c = {60: (0, 40, 0.9), 64: (0, 40, 0.7), 67: (0, 40, 0.8)}
    g = {67: (0, 40, 0.9), 71: (0, 40, 0.7), 74: (0, 40, 0.8)}
    found = [pitch_cnn.summaries({"note": posteriorgram(chord, 40), "onset": posteriorgram({}, 40)}, 0.5)
             for chord in (c, g)]
    assert not np.allclose(found[0]["pitch_classes"][0], found[1]["pitch_classes"][0])
    np.testing.assert_allclose(found[0]["key_profile"][0], found[1]["key_profile"][0], atol=1e-12)


def test_polyphony_register_and_intervals_of_a_known_posteriorgram():
    # Frames 0-9: C4 alone; 10-19: C4+E4+G4; 20-29: silence.
    note = posteriorgram({60: (0, 20), 64: (10, 20), 67: (10, 20)}, 30)
    found = pitch_cnn.summaries({"note": note, "onset": posteriorgram({}, 30)}, 0.5)
    values = dict(zip(found["polyphony"][1], found["polyphony"][0]))
    assert values["voices_mean"] == pytest.approx((10 * 1 + 10 * 3) / 30)
    assert values["silent_share"] == pytest.approx(10 / 30)
    assert values["three_plus"] == pytest.approx(10 / 30) and values["four_plus"] == 0
    register = dict(zip(found["register"][1], found["register"][0]))
    assert register["pitch_mean"] == pytest.approx((20 * 60 + 10 * 64 + 10 * 67) / 40)
    # Vertical pairs in the chord: C-E (4 semitones), C-G (5, as 7 folded), E-G (3).
    intervals = dict(zip(found["vertical_intervals"][1], found["vertical_intervals"][0]))
    assert intervals["vertical_ic3"] == intervals["vertical_ic4"] == intervals["vertical_ic5"] == pytest.approx(1 / 3)


def test_melodic_steps_follow_the_top_voice_and_onsets_are_peaks():
    # The top voice goes C4 -> E4 -> D4 (steps +4, -2) over a held C3.
    note = posteriorgram({60: (0, 10), 64: (10, 20), 62: (20, 30), 48: (0, 30)}, 30)
    onset = posteriorgram({60: (0, 1), 64: (10, 11), 62: (20, 21), 48: (0, 1)}, 30)
    found = pitch_cnn.summaries({"note": note, "onset": onset}, 0.5)
    steps = dict(zip(found["melodic_intervals"][1], found["melodic_intervals"][0]))
    assert steps["melodic_step04"] == steps["melodic_step02"] == pytest.approx(0.5)
    assert steps["upward_share"] == pytest.approx(0.5)
    seconds = 30 / pitch_cnn.FRAMES_PER_SECOND
    onsets = dict(zip(found["onsets"][1], found["onsets"][0]))
    assert onsets["onsets_per_second"] == pytest.approx(4 / seconds)
    assert onsets["onset_frames_per_second"] == pytest.approx(3 / seconds)


def test_extract_concatenates_the_chosen_summaries_in_order():
    clips = [tone(60, 1.0), tone(72, 0.5)]
    settings = {"threshold": 0.5, "summaries": ["register", "key_profile"]}
    X, names = pitch_cnn.extract(clips, RATE, settings)
    assert X.shape == (2, 4 + 18) and names[:4] == ["pitch_mean", "pitch_std", "pitch_p05", "pitch_p95"]
    assert X[1, 0] > X[0, 0]  # the higher tone's register
    with pytest.raises(ValueError, match="unknown or none"):
        pitch_cnn.extract(clips, RATE, {"threshold": 0.5, "summaries": ["loudness"]})


def test_the_registry_serves_it_as_a_further_audio_feature_set(params):
    assert run_feature_sets(params["features"], ["audio", "text"]) == ["audio", "text", "audio.pitch_cnn"]
    assert run_feature_sets(params["features"], ["video", "text"]) == ["video", "text"]
    entry = extractor("audio.pitch_cnn")
    assert entry.modality == "audio" and entry.media == "audio" and not entry.per_fold
    assert feature_settings("audio.pitch_cnn", params["features"]) is params["features"]["pitch_cnn"]
    with pytest.raises(ValueError, match="describes modality 'audio', not 'video'"):
        feature_settings("video.mine", {"onnx_models": {"mine": {"modality": "audio"}}})
    with pytest.raises(ValueError, match="no feature set 'text.mine'"):
        extractor("text.mine")
