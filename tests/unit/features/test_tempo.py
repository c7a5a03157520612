"""Tempo estimates (musicfusion.features.tempo) on synthetic clips with a known pulse."""

from __future__ import annotations

import math

import cv2
import librosa
import numpy as np
import pytest

from musicfusion.features import tempo
from musicfusion.symbolic.notes import NoteEvent
from musicfusion.symbolic.render import piano_roll_frames

SAMPLE_RATE = 22050
PULSE = 0.4  # seconds: 150 pulses a minute
BPM = 60.0 / PULSE
RANGE = [72, 160]  # collect.pulse_bpm
PICK = {"bpm_range": RANGE, "prefer_fast": 1.5}
AUDIO = {"hop_length": 256, "min_rms_dbfs": -60.0, **PICK}
SCORE = {"frame_rate": 100, "smooth_seconds": 0.01, **PICK}
ROLL = {"fps": 25, "width": 320, "height": 240, "window_seconds": 4.0, "lowest_pitch": 24, "highest_pitch": 96}
SCROLL = {"method": "scroll", "min_change": 10, "window_seconds": ROLL["window_seconds"], "playhead": 0.5,
          "skip": 0.02, "region": [0.0, 1.0, 0.0, 1.0], **PICK}
MOTION = {**SCROLL, "method": "motion"}
# A melody with repeated notes (a piano roll shows them only as a one-pixel gap) and a chord.
MELODY = [60, 62, 64, 64, 65, 67, 67, 67, 65, 64, 62, 60]


def close(value: float, expected: float, tolerance: float = 0.01) -> bool:
    return math.isfinite(value) and abs(value / expected - 1) <= tolerance


# ---------------------------------------------------------------- notes

def note_array(onsets_quarters, pitch: int = 60, duration: float = 0.5) -> np.ndarray:
    return np.array([[pitch, onset, duration] for onset in onsets_quarters], dtype=np.float64)


def test_notes_give_the_median_interval_between_distinct_onsets():
    # Distinct onsets 0, 1, 2, 2.5, 3, 4 (a chord at 2 counts once): gaps 1, 1, .5, .5, 1 -> median 1 quarter.
    notes = note_array([0, 1, 2, 2, 2.5, 3, 4])
    notes[3, 0] = 64
    assert tempo.tempo_from_notes(notes, seconds_per_quarter=0.4) == pytest.approx(150.0)
    assert tempo.tempo_from_notes(notes, seconds_per_quarter=0.5) == pytest.approx(120.0)


def test_notes_follow_the_presets_pulse_definition():
    from musicfusion.data.scores import notes_to_stream
    from musicfusion.symbolic.excerpts import pulse_quarters

    notes = note_array([0, 0.5, 1, 1.5, 3, 4, 4.75, 5, 7])
    seconds_per_quarter = 0.3
    pulse = pulse_quarters(notes_to_stream(notes))
    assert tempo.tempo_from_notes(notes, seconds_per_quarter) == pytest.approx(60.0 / (pulse * seconds_per_quarter))


def test_notes_with_fewer_than_two_onsets_give_nan():
    assert math.isnan(tempo.tempo_from_notes(note_array([2, 2]), 0.5))  # one chord
    assert math.isnan(tempo.tempo_from_notes(np.zeros((0, 3)), 0.5))
    assert math.isnan(tempo.tempo_from_score(note_array([1]), 0.5, SCORE))


@pytest.mark.parametrize("notes, seconds_per_quarter", [
    (np.zeros((4, 2)), 0.5),  # not (n, 3)
    (note_array([0, 1, 2]), 0.0),
    (note_array([0, 1, 2]), -1.0),
    (note_array([0, -1, 2]), 0.5),  # a negative onset
])
def test_malformed_notes_raise(notes, seconds_per_quarter):
    with pytest.raises(ValueError):
        tempo.tempo_from_notes(notes, seconds_per_quarter)
    with pytest.raises(ValueError):
        tempo.tempo_from_score(notes, seconds_per_quarter, SCORE)


def test_score_estimate_finds_the_pulse_of_a_dotted_rhythm():
    # Dotted eighth, sixteenth, eighth, eighth: onset gaps .75, .25, .5, .5 quarters, median an eighth
    # (0.4 s at 0.8 s a quarter). The onsets also recur every quarter and every dotted eighth: the
    # eighth is the fastest of the equally strong periodicities in the range.
    onsets = [bar * 2 + offset for bar in range(8) for offset in (0, 0.75, 1, 1.5)]
    notes = note_array(onsets, duration=0.25)
    assert close(tempo.tempo_from_notes(notes, 0.8), 150.0, 0.001)
    assert close(tempo.tempo_from_score(notes, 0.8, SCORE), 150.0)
    assert close(tempo.tempo_from_score(notes, 1.0, SCORE), 120.0)


def test_score_estimate_of_a_pulse_below_the_range_is_doubled_into_it():
    onsets = np.arange(12) * 2.0  # a half note every second at 0.5 s a quarter: 60 a minute, under 72
    assert close(tempo.tempo_from_score(note_array(onsets), 0.5, SCORE), 120.0)


# ---------------------------------------------------------------- audio

def tones(onsets, seconds: float, accents=None) -> np.ndarray:
    """Decaying tones of changing pitch starting at ``onsets`` (seconds), each ``accents[i]`` loud."""
    y = np.zeros(int(seconds * SAMPLE_RATE), dtype=np.float32)
    t = np.arange(int(0.35 * SAMPLE_RATE)) / SAMPLE_RATE
    for i, onset in enumerate(onsets):
        freq = 220.0 * 2 ** ((i * 5 % 12) / 12)
        tone = np.sin(2 * np.pi * freq * t) * np.exp(-t / 0.1) * (1.0 if accents is None else accents[i])
        start = int(onset * SAMPLE_RATE)
        y[start:start + len(tone)] += tone[:len(y) - start].astype(np.float32)
    return 0.3 * y


def test_audio_clicks_every_pulse():
    clicks = librosa.clicks(times=np.arange(0.1, 6.0, PULSE), sr=SAMPLE_RATE, length=6 * SAMPLE_RATE).astype(np.float32)
    assert close(tempo.tempo_from_audio(clicks, SAMPLE_RATE, AUDIO), BPM)


def test_audio_tones_with_accented_downbeats_give_the_pulse_not_the_bar():
    # Every other tone loud: the autocorrelation is as strong at 0.8 s (75 a minute, in range) as at 0.4 s.
    onsets = np.arange(0.1, 6.0, PULSE)
    accents = np.where(np.arange(len(onsets)) % 2 == 0, 1.0, 0.35)
    assert close(tempo.tempo_from_audio(tones(onsets, 6.0, accents), SAMPLE_RATE, AUDIO), BPM)
    # Without the preference for the faster octave the bar wins: the setting matters.
    slow = tempo.tempo_from_audio(tones(onsets, 6.0, accents), SAMPLE_RATE, {**AUDIO, "prefer_fast": 0.0})
    assert close(slow, BPM / 2)


def test_audio_tempo_scales_with_the_pulse():
    for pulse in (0.45, 0.6, 0.75):
        assert close(tempo.tempo_from_audio(tones(np.arange(0.05, 6.0, pulse), 6.0), SAMPLE_RATE, AUDIO), 60 / pulse)


def test_silent_or_unusable_audio_gives_nan():
    assert math.isnan(tempo.tempo_from_audio(np.zeros(3 * SAMPLE_RATE, np.float32), SAMPLE_RATE, AUDIO))
    hiss = 1e-5 * np.random.default_rng(0).standard_normal(3 * SAMPLE_RATE)  # -100 dBFS
    assert math.isnan(tempo.tempo_from_audio(hiss, SAMPLE_RATE, AUDIO))
    assert math.isnan(tempo.tempo_from_audio(np.zeros(0, np.float32), SAMPLE_RATE, AUDIO))
    assert math.isnan(tempo.tempo_from_audio(tones([0.0], 0.2), SAMPLE_RATE, AUDIO))  # shorter than a pulse


@pytest.mark.parametrize("signal, sample_rate", [
    (np.zeros((2, SAMPLE_RATE), np.float32), SAMPLE_RATE),  # stereo, not mono
    (np.zeros(SAMPLE_RATE, np.float32), 0),
    (np.zeros(SAMPLE_RATE, np.float32), -22050),
    (np.full(SAMPLE_RATE, np.nan, np.float32), SAMPLE_RATE),
])
def test_malformed_audio_raises(signal, sample_rate):
    with pytest.raises(ValueError):
        tempo.tempo_from_audio(signal, sample_rate, AUDIO)


# ---------------------------------------------------------------- video

def melody_events(pulse: float, seconds: float) -> list[NoteEvent]:
    """The melody, legato, one note every ``pulse`` seconds, with a chord note under every fourth."""
    events = []
    for i, start in enumerate(np.arange(0.0, seconds, pulse)):
        events.append(NoteEvent(MELODY[i % len(MELODY)], float(start), float(start + pulse), 0))
        if i % 4 == 0:
            events.append(NoteEvent(48, float(start), float(start + 4 * pulse), 1))
    return events


def roll(pulse: float, seconds: float, fps: int, size=None) -> np.ndarray:
    """Grey piano-roll frames as the presets render them, sampled at ``fps`` (resized as preprocessing does)."""
    frames = piano_roll_frames(melody_events(pulse, seconds), seconds, fps, ROLL["width"], ROLL["height"],
                               ROLL["window_seconds"], ROLL["lowest_pitch"], ROLL["highest_pitch"])
    grey = [cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY) for frame in frames]
    if size is not None:
        grey = [cv2.resize(frame, size, interpolation=cv2.INTER_AREA) for frame in grey]
    return np.stack(grey)


@pytest.mark.parametrize("pulse", [0.45, 0.7])  # 2.25 and 3.5 frames: onsets between frames
def test_scrolling_piano_roll_at_five_frames_a_second(pulse):
    assert close(tempo.tempo_from_video(roll(pulse, 8.0, 5), 5, SCROLL), 60 / pulse)


def test_scrolling_piano_roll_at_the_workflows_frame_size():
    # 128 px for 4 s: onsets are timed to 1/32 s.
    assert close(tempo.tempo_from_video(roll(0.53, 8.0, 5, size=(128, 96)), 5, SCROLL), 60 / 0.53, 0.02)


def test_scrolling_piano_roll_by_motion_at_the_playhead():
    frames = roll(PULSE, 8.0, 25, size=(128, 96))
    assert close(tempo.tempo_from_video(frames, 25, {**MOTION, "region": [0.5, 0.53, 0.0, 1.0]}), BPM)


def test_motion_of_any_video_flashing_with_the_pulse():
    # A square flashing on for 0.1 s at every pulse, at 25 fps, on a dark frame: no piano roll at all.
    fps, seconds = 25, 6.0
    frames = np.full((int(seconds * fps), 60, 80), 20, np.uint8)
    for start in np.arange(0.0, seconds, PULSE):
        first = int(round(start * fps))
        frames[first:first + 3, 20:40, 30:50] = 230
    assert close(tempo.tempo_from_video(frames, fps, MOTION), BPM)


def test_still_or_too_short_video_gives_nan():
    still = np.repeat(roll(PULSE, 8.0, 5)[:1], 40, axis=0)  # a piano roll that does not scroll
    assert math.isnan(tempo.tempo_from_video(still, 5, SCROLL))
    assert math.isnan(tempo.tempo_from_video(still, 5, MOTION))
    assert math.isnan(tempo.tempo_from_video(still[:1], 5, SCROLL))
    assert math.isnan(tempo.tempo_from_video(np.zeros((0, 96, 128), np.uint8), 5, SCROLL))


@pytest.mark.parametrize("frames, fps, settings", [
    (np.zeros((10, 96)), 5, SCROLL),  # no frame axis
    (np.zeros((10, 96, 128, 3), np.uint8), 5, SCROLL),  # colour, not grey
    (np.zeros((10, 96, 128), np.uint8), 0, SCROLL),
    (np.zeros((10, 96, 128), np.uint8), float("nan"), SCROLL),
    (np.zeros((10, 96, 128), np.uint8), 5, {**SCROLL, "method": "optical_flow"}),
])
def test_malformed_video_raises(frames, fps, settings):
    with pytest.raises(ValueError):
        tempo.tempo_from_video(frames, fps, settings)


def test_scroll_needs_frames_often_enough_to_see_all_the_music():
    frames = roll(PULSE, 8.0, 5)[::10]  # 0.5 fps: 160 px of scroll between frames, beyond the strip
    with pytest.raises(ValueError, match="decode more frames"):
        tempo.tempo_from_video(frames, 0.5, SCROLL)


# ---------------------------------------------------------------- the shared pulse picker

def test_pulse_picker_on_an_impulse_train_and_a_flat_envelope():
    envelope = np.zeros(1000)
    envelope[::40] = 1.0  # every 0.4 s at 100 frames a second
    assert close(tempo.pulse_tempo(envelope, 100, PICK), BPM, 0.001)
    assert math.isnan(tempo.pulse_tempo(np.ones(1000), 100, PICK))
    with pytest.raises(ValueError):
        tempo.pulse_tempo(envelope, 100, {**PICK, "bpm_range": [160, 72]})
