"""Render: the piano-roll video colours notes by pitch class (what the audio carries), not by part."""

from __future__ import annotations

import cv2
import numpy as np

from musicfusion.symbolic.notes import NoteEvent
from musicfusion.symbolic.render import _PITCH_COLOURS, piano_roll_frames, pitch_class_colours

BACKGROUND = 16
# fps, width, height, window_seconds, lowest_pitch, highest_pitch (the params.yaml video settings)
VIDEO = dict(fps=25, width=320, height=240, window_seconds=4.0, lowest_pitch=24, highest_pitch=96)


def frames_of(notes, clip_seconds=2.0):
    return np.stack(list(piano_roll_frames(notes, clip_seconds, **VIDEO)))


def grey(colours: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(np.asarray(colours, dtype=np.uint8).reshape(1, -1, 3), cv2.COLOR_BGR2GRAY)[0]


def note_pixel(frame: np.ndarray, pitch: int, start: float) -> np.ndarray:
    """The BGR value inside the bar of a note starting at ``start`` (frame 0: no scrolling)."""
    px_per_second = VIDEO["width"] / VIDEO["window_seconds"]
    row = VIDEO["height"] / (VIDEO["highest_pitch"] - VIDEO["lowest_pitch"] + 1)
    x = VIDEO["width"] // 2 + int(start * px_per_second) + 4  # right of the playhead line
    y = int(VIDEO["height"] - (pitch - VIDEO["lowest_pitch"]) * row) - 2
    return frame[y, x]


CHORD = [(60, 0.0, 1.0), (64, 0.0, 1.0), (67, 0.5, 1.5), (71, 1.0, 2.0), (50, 0.25, 0.75)]


def test_the_voice_of_a_note_does_not_change_the_video():
    one_part = [NoteEvent(p, s, e, 0) for p, s, e in CHORD]
    many_parts = [NoteEvent(p, s, e, v) for v, (p, s, e) in enumerate(CHORD)]
    shuffled_parts = [NoteEvent(p, s, e, (7 * v + 3) % 5) for v, (p, s, e) in enumerate(CHORD)]
    reference = frames_of(one_part)
    assert np.array_equal(reference, frames_of(many_parts))
    assert np.array_equal(reference, frames_of(shuffled_parts))


def test_a_note_is_drawn_in_its_pitch_class_colour():
    for pitch in (36, 49, 60, 62, 67, 71, 84):
        frame = frames_of([NoteEvent(pitch, 0.0, 1.0, 3)], clip_seconds=1.0)[0]
        assert np.array_equal(note_pixel(frame, pitch, 0.0), _PITCH_COLOURS[pitch % 12]), pitch


def test_octaves_share_a_colour_and_pitch_classes_differ():
    frame = frames_of([NoteEvent(48, 0.0, 1.0, 0), NoteEvent(60, 0.0, 1.0, 1), NoteEvent(61, 0.0, 1.0, 0),
                       NoteEvent(72, 0.0, 1.0, 2)], clip_seconds=1.0)[0]
    c3, c4, c_sharp4, c5 = (note_pixel(frame, p, 0.0) for p in (48, 60, 61, 72))
    assert np.array_equal(c3, c4) and np.array_equal(c4, c5)
    assert not np.array_equal(c4, c_sharp4)


def test_twelve_distinct_pitch_class_colours():
    assert _PITCH_COLOURS.shape == (12, 3) and _PITCH_COLOURS.dtype == np.uint8
    assert len({tuple(int(v) for v in c) for c in _PITCH_COLOURS}) == 12
    np.testing.assert_array_equal(pitch_class_colours(0.45, 235), _PITCH_COLOURS)
    # C is red (BGR: red channel largest)
    assert int(np.argmax(_PITCH_COLOURS[0])) == 2


def test_every_pitch_class_colour_is_far_brighter_than_the_background():
    levels = grey(_PITCH_COLOURS)
    assert levels.min() > 100, levels.tolist()
    # and above the octave lines (48) and the video control's note threshold (80)
    assert levels.min() > 80 + 20


def test_the_drawn_notes_are_bright_in_grey_frames():
    notes = [NoteEvent(60 + pc, 0.0, 1.0, 0) for pc in range(12)]
    frame = frames_of(notes, clip_seconds=1.0)[0]
    grey_frame = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
    for note in notes:
        x = VIDEO["width"] // 2 + 4
        row = VIDEO["height"] / (VIDEO["highest_pitch"] - VIDEO["lowest_pitch"] + 1)
        y = int(VIDEO["height"] - (note.pitch - VIDEO["lowest_pitch"]) * row) - 2
        assert grey_frame[y, x] > 100, note.pitch
    # the background stays dark
    assert grey_frame[5, 5] == BACKGROUND
