"""Notes from synthetic posteriorgrams with known notes, the score's notes in seconds, and the
mir_eval scores of known estimates (musicfusion.crossmodal.transcription). The CNN is not run."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from musicfusion.crossmodal import transcription as tr
from musicfusion.features.pitch_cnn import FRAME_HOP, LOWEST_MIDI, MODEL_SAMPLE_RATE, N_KEYS

HOP = FRAME_HOP / MODEL_SAMPLE_RATE  # seconds between frames inside one stitched window
T = 100  # frames of a synthetic clip: inside the first window, so frame f is at f * HOP
# Exact frame times and no length limit unless a test says otherwise.
BASE = {"onset_threshold": 0.5, "frame_threshold": 0.3, "min_note_seconds": 0.0, "gap_frames": 2,
        "frame_notes": False, "infer_onsets": False, "latency_seconds": 0.0}


def settings(**changes) -> dict:
    return {**BASE, **changes}


def empty(n_frames: int = T) -> tuple[np.ndarray, np.ndarray]:
    return np.zeros((n_frames, N_KEYS)), np.zeros((n_frames, N_KEYS))


def add_note(note, onset, key, start, stop, level=0.8, onset_peak=0.9):
    """A key sounding over frames [start, stop) with an onset peak at ``start`` (None: no onset)."""
    note[start:stop, key] = level
    if onset_peak is not None:
        onset[start, key] = onset_peak
        if start > 0:
            onset[start - 1, key] = max(onset[start - 1, key], onset_peak / 2)
        onset[start + 1, key] = max(onset[start + 1, key], onset_peak / 3)


def rows(*notes) -> np.ndarray:
    """Expected rows from (key, first frame, frame after the last)."""
    return np.array([[a * HOP, b * HOP, key + LOWEST_MIDI] for key, a, b in notes], dtype=float).reshape(-1, 3)


def test_single_note_has_its_onset_offset_and_pitch():
    note, onset = empty()
    add_note(note, onset, key=40, start=10, stop=30)
    found = tr.notes_from_activations(note, onset, settings())
    np.testing.assert_allclose(found, rows((40, 10, 30)))
    assert found[0, 2] == 61  # key 40 is MIDI 21 + 40


def test_two_overlapping_notes_of_different_pitch():
    note, onset = empty()
    add_note(note, onset, key=40, start=10, stop=35)
    add_note(note, onset, key=44, start=20, stop=50)
    found = tr.notes_from_activations(note, onset, settings())
    np.testing.assert_allclose(found, rows((40, 10, 35), (44, 20, 50)))


def test_repeated_note_is_split_at_the_second_onset():
    note, onset = empty()
    add_note(note, onset, key=40, start=10, stop=50)
    onset[30, 40], onset[29, 40] = 0.9, 0.4  # a second onset while the key keeps sounding
    found = tr.notes_from_activations(note, onset, settings())
    np.testing.assert_allclose(found, rows((40, 10, 30), (40, 30, 50)))


def test_a_short_dip_is_bridged_and_a_long_one_splits():
    note, onset = empty()
    add_note(note, onset, key=40, start=10, stop=31)
    note[21:23, 40] = 0.1  # two frames below the frame threshold
    np.testing.assert_allclose(tr.notes_from_activations(note, onset, settings(gap_frames=2)), rows((40, 10, 31)))
    # One frame of tolerance: the note ends before the dip; the rest has no onset of its own.
    np.testing.assert_allclose(tr.notes_from_activations(note, onset, settings(gap_frames=1)), rows((40, 10, 21)))
    # ... unless notes without onsets are kept: then the rest is a note too.
    np.testing.assert_allclose(tr.notes_from_activations(note, onset, settings(gap_frames=1, frame_notes=True)),
                               rows((40, 10, 21), (40, 23, 31)))


def test_note_ends_at_its_last_active_frame_not_after_a_trailing_dip():
    note, onset = empty()
    add_note(note, onset, key=40, start=10, stop=20)
    note[21, 40] = 0.8  # one active frame after a one-frame dip, then silence
    found = tr.notes_from_activations(note, onset, settings(gap_frames=2))
    np.testing.assert_allclose(found, rows((40, 10, 22)))


def test_frame_notes_skip_the_neighbours_of_a_claimed_note():
    note, onset = empty()
    add_note(note, onset, key=40, start=10, stop=30)
    note[10:30, 41] = 0.6  # spill-over onto the next key, no onset
    note[50:70, 60] = 0.6  # a note without onset, far from any other
    found = tr.notes_from_activations(note, onset, settings(frame_notes=True))
    np.testing.assert_allclose(found, rows((40, 10, 30), (60, 50, 70)))
    np.testing.assert_allclose(tr.notes_from_activations(note, onset, settings()), rows((40, 10, 30)))


def test_too_short_notes_are_dropped():
    note, onset = empty()
    add_note(note, onset, key=40, start=10, stop=13)  # 3 frames = 34.8 ms
    add_note(note, onset, key=50, start=40, stop=60)
    assert len(tr.notes_from_activations(note, onset, settings(min_note_seconds=0.03))) == 2
    np.testing.assert_allclose(tr.notes_from_activations(note, onset, settings(min_note_seconds=0.05)),
                               rows((50, 40, 60)))


def test_onset_threshold_is_respected():
    note, onset = empty()
    add_note(note, onset, key=40, start=10, stop=30, onset_peak=0.6)
    assert len(tr.notes_from_activations(note, onset, settings(onset_threshold=0.55))) == 1
    assert len(tr.notes_from_activations(note, onset, settings(onset_threshold=0.65))) == 0


def test_frame_threshold_sets_the_offset():
    note, onset = empty()
    add_note(note, onset, key=40, start=10, stop=20, level=0.8)
    note[20:30, 40] = 0.35
    np.testing.assert_allclose(tr.notes_from_activations(note, onset, settings(frame_threshold=0.3)),
                               rows((40, 10, 30)))
    np.testing.assert_allclose(tr.notes_from_activations(note, onset, settings(frame_threshold=0.5)),
                               rows((40, 10, 20)))


def test_only_peaks_of_the_onset_activation_start_notes():
    note, onset = empty()
    note[10:40, 40] = 0.8
    onset[8:14, 40] = [0.6, 0.7, 0.9, 0.9, 0.7, 0.6]  # one rise, a two-frame plateau, one fall
    np.testing.assert_allclose(tr.notes_from_activations(note, onset, settings()), rows((40, 10, 40)))


def test_inferred_onsets_catch_a_soft_attack():
    note, onset = empty()
    add_note(note, onset, key=30, start=5, stop=15)  # sets the onset activation's scale
    note[40:60, 40] = 0.9  # a sharp rise of the note activation, onset activation silent
    note[0:20, 50] = 0.9  # sounding from the first frame: no rise heard, so no inferred onset
    assert len(tr.notes_from_activations(note, onset, settings())) == 1
    np.testing.assert_allclose(tr.notes_from_activations(note, onset, settings(infer_onsets=True)),
                               rows((30, 5, 15), (40, 40, 60)))


def test_latency_moves_notes_back_but_not_before_zero():
    note, onset = empty()
    add_note(note, onset, key=40, start=1, stop=30)
    add_note(note, onset, key=50, start=40, stop=60)
    found = tr.notes_from_activations(note, onset, settings(latency_seconds=0.02))
    np.testing.assert_allclose(found, [[0.0, 30 * HOP - 0.02, 61], [40 * HOP - 0.02, 60 * HOP - 0.02, 71]])


def test_frame_times_follow_the_stitched_windows():
    times = tr.frame_times(300)
    assert len(times) == 301
    np.testing.assert_allclose(times[:tr.KEPT_FRAMES], np.arange(tr.KEPT_FRAMES) * HOP)
    # The second window starts 36,164 samples into the audio, not 142 hops (36,352 samples).
    assert times[tr.KEPT_FRAMES] == pytest.approx(36164 / 22050)
    assert times[2 * tr.KEPT_FRAMES + 3] == pytest.approx((2 * 36164 + 3 * 256) / 22050)
    assert np.all(np.diff(times) > 0)


def brute_force_notes(note, onset, s) -> np.ndarray:
    """The onset rule, key by key and frame by frame."""
    peaks = tr.onset_peaks(onset, s["onset_threshold"])
    active = note >= s["frame_threshold"]
    times = tr.frame_times(len(note))
    out = []
    for key in range(note.shape[1]):
        starts = list(np.flatnonzero(peaks[:, key]))
        for i, start in enumerate(starts):
            stop = starts[i + 1] if i + 1 < len(starts) else len(note)
            last, misses = start, 0
            for f in range(start + 1, stop):
                if active[f, key]:
                    last, misses = f, 0
                else:
                    misses += 1
                    if misses > s["gap_frames"]:
                        break
            if times[last + 1] - times[start] >= s["min_note_seconds"]:
                out.append((times[start], times[last + 1], key + LOWEST_MIDI))
    out = np.array(out, dtype=float).reshape(-1, 3)
    return out[np.lexsort((out[:, 2], out[:, 0]))]


@pytest.mark.parametrize("seed", range(3))
def test_vectorised_notes_match_a_frame_by_frame_walk(seed):
    rng = np.random.default_rng(seed)
    # Smoothed noise over 400 frames (three stitched windows), every key.
    kernel = np.ones(5) / 5
    smooth = lambda a: np.apply_along_axis(lambda c: np.convolve(c, kernel, "same"), 0, a)  # noqa: E731
    note = smooth(rng.random((400, N_KEYS)) ** 3 * 1.6).clip(0, 1)
    onset = smooth(rng.random((400, N_KEYS)) ** 4 * 2).clip(0, 1)
    s = settings(onset_threshold=0.35, frame_threshold=0.25, min_note_seconds=0.04, gap_frames=3)
    expected = brute_force_notes(note, onset, s)
    assert len(expected) > 50
    np.testing.assert_allclose(tr.notes_from_activations(note, onset, s), expected)


def test_no_frames_or_silence_gives_no_notes():
    assert tr.notes_from_activations(*empty(0), settings()).shape == (0, 3)
    assert tr.notes_from_activations(*empty(), settings()).shape == (0, 3)
    assert tr.notes_from_activations(*empty(), settings(frame_notes=True, infer_onsets=True)).shape == (0, 3)


def test_bad_inputs_raise():
    with pytest.raises(ValueError, match="shape"):
        tr.notes_from_activations(np.zeros((10, 88)), np.zeros((11, 88)), settings())
    with pytest.raises(ValueError, match="unknown"):
        tr.notes_from_activations(*empty(), {"onset_treshold": 0.5})
    with pytest.raises(ValueError, match="frame_threshold"):
        tr.notes_from_activations(*empty(), settings(frame_threshold=1.5))


def test_defaults_fill_missing_settings():
    note, onset = empty()
    add_note(note, onset, key=40, start=10, stop=30)
    found = tr.notes_from_activations(note, onset)
    lag = tr.DEFAULT_SETTINGS["latency_seconds"]
    np.testing.assert_allclose(found, [[10 * HOP - lag, 30 * HOP - lag, 61]])


def test_reference_notes_in_seconds():
    score = np.array([[64, 2.0, 1.0], [60, 0.0, 0.5], [67, 2.0, 0.25], [70, 3.0, 0.0]])
    found = tr.reference_notes(score, seconds_per_quarter=0.5)
    # Sorted by onset then pitch; the note of no duration is dropped.
    np.testing.assert_allclose(found, [[0.0, 0.25, 60], [1.0, 1.5, 64], [1.0, 1.125, 67]])
    assert tr.reference_notes(np.zeros((0, 3)), 0.5).shape == (0, 3)


REFERENCE = np.array([[0.0, 0.5, 60], [0.5, 1.0, 62], [1.0, 2.0, 64], [1.0, 2.0, 67]])


def test_perfect_transcription_scores_one():
    out = tr.score_transcription(REFERENCE, REFERENCE.copy())
    for key in tr.SCORE_KEYS[:6]:
        assert out[key] == pytest.approx(1.0), key
    assert out["n_reference"] == out["n_estimate"] == 4


def test_wrong_pitch_scores_zero():
    shifted = REFERENCE + [0, 0, 1]  # a semitone off, far past the 50 cent tolerance
    out = tr.score_transcription(REFERENCE, shifted)
    assert all(out[key] == 0.0 for key in tr.SCORE_KEYS[:6])


def test_offsets_count_only_in_the_scores_with_offsets():
    longer = REFERENCE.copy()
    longer[:, 1] = longer[:, 0] + 3 * (longer[:, 1] - longer[:, 0])  # three times as long
    out = tr.score_transcription(REFERENCE, longer)
    assert out["f_measure_no_offset"] == pytest.approx(1.0)
    assert out["f_measure"] == 0.0


def test_partial_match_precision_and_recall():
    estimate = np.vstack([REFERENCE[:2], [[5.0, 6.0, 60]]])  # two right, one wrong onset
    out = tr.score_transcription(REFERENCE, estimate)
    assert out["precision"] == pytest.approx(2 / 3)
    assert out["recall"] == pytest.approx(2 / 4)
    assert out["f_measure"] == pytest.approx(2 * (2 / 3) * (1 / 2) / (2 / 3 + 1 / 2))


@pytest.mark.parametrize("reference, estimate", [(REFERENCE, np.zeros((0, 3))), (np.zeros((0, 3)), REFERENCE),
                                                 (np.zeros((0, 3)), np.zeros((0, 3)))])
def test_empty_reference_or_estimate_scores_zero_without_warnings(reference, estimate):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = tr.score_transcription(reference, estimate)
    assert all(out[key] == 0.0 for key in tr.SCORE_KEYS[:6])
    assert (out["n_reference"], out["n_estimate"]) == (len(reference), len(estimate))


def test_transcribe_and_score_one_row_per_clip(monkeypatch):
    def fake_activations(signal, sample_rate):
        # The "network" hears one note, on key 39 (MIDI 60), for as many frames as the signal is long.
        note, onset = empty()
        add_note(note, onset, key=39, start=0, stop=len(signal))
        return {"note": note, "onset": onset}

    monkeypatch.setattr(tr, "activations", fake_activations)
    s = settings()
    right = np.array([[0.0, 40 * HOP, 60]])
    wrong = np.array([[0.0, 40 * HOP, 72]])
    df = tr.transcribe_and_score(["a-0000", "b-0001"], [np.zeros(40), np.zeros(40)], 22050, [right, wrong], s)
    assert isinstance(df, pd.DataFrame)
    assert list(df["clip_id"]) == ["a-0000", "b-0001"]
    assert list(df.columns) == ["clip_id", *tr.SCORE_KEYS, "seconds"]
    assert df["f_measure"].tolist() == [1.0, 0.0]
    assert df["n_estimate"].tolist() == [1, 1]
    with pytest.raises(ValueError, match="one each per clip"):
        tr.transcribe_and_score(["a-0000"], [np.zeros(40), np.zeros(40)], 22050, [right], s)


def test_score_rows_are_the_inverse_of_reference_notes():
    score = np.array([[60, 0.0, 0.5], [64, 2.0, 1.0], [67, 2.0, 0.25]])
    np.testing.assert_allclose(tr.score_rows(tr.reference_notes(score, 0.5), 0.5), score)
    with pytest.raises(ValueError, match="transcribed notes"):
        tr.score_rows(np.array([[1.0, 1.0, 60]]), 0.5)  # a note of no duration is no score note


def test_derived_scores_of_a_shard_and_the_clips_left_without_notes(monkeypatch):
    def fake_activations(signal, sample_rate):
        # The "network" hears as many notes on key 39 (MIDI 60) as the signal's first sample says.
        note, onset = empty()
        for i in range(int(signal[0])):
            add_note(note, onset, key=39, start=20 * i, stop=20 * i + 10)
        return {"note": note, "onset": onset}

    monkeypatch.setattr(tr, "activations", fake_activations)
    clips = [np.full(40, 3.0), np.full(40, 1.0), np.full(40, 2.0)]
    content, absent = tr.derived_scores(["a", "b", "c"], clips, 22050, settings(), min_notes=2, seconds_per_quarter=0.5)
    assert list(content["clip_ids"]) == ["a", "c"] and absent == ["b"]  # one note is too few
    assert content["lengths"].tolist() == [3, 2] and content["notes"].shape == (5, 3)
    first = content["notes"][:3]
    np.testing.assert_array_equal(first[:, 0], [60, 60, 60])
    np.testing.assert_allclose(first[:, 1], np.array([0, 20, 40]) * HOP / 0.5)  # onsets in quarter notes
    np.testing.assert_allclose(first[:, 2], 10 * HOP / 0.5)


def test_derived_scores_hear_the_pitches_played():
    """The real network on two sung-like tones, A4 then C5: the derived score has those pitches."""
    rate = 22050
    t = np.arange(int(0.6 * rate)) / rate
    envelope = np.minimum(1.0, t / 0.01) * np.exp(-2 * t)
    tone = lambda hz: (0.3 * envelope * sum(np.sin(2 * np.pi * hz * k * t) / k for k in (1, 2, 3))).astype(np.float32)
    signal = np.concatenate([tone(440.0), tone(523.25), np.zeros(rate // 5, np.float32)])
    content, absent = tr.derived_scores(["x"], [signal], rate, tr.DEFAULT_SETTINGS, min_notes=2,
                                        seconds_per_quarter=0.5)
    assert not absent
    np.testing.assert_array_equal(content["notes"][:, 0], [69, 72])
    # 0 s and 0.6 s, in quarters of 0.5 s, within 75 ms (the fixed latency correction fits no one timbre exactly).
    np.testing.assert_allclose(content["notes"][:, 1], [0.0, 1.2], atol=0.15)
