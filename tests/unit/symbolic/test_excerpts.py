"""Excerpts of scores: the notes of a clip's first seconds, the tempo set on the score's pulse
(drawn per clip), so notation does not set how many notes a second a clip plays."""

from __future__ import annotations

import pytest

from musicfusion.symbolic.excerpts import excerpt_notes, timeline

from support import melody_score


def onsets(notes) -> list[float]:
    return [round(n.start, 6) for n in notes]


def test_quarter_note_pulse_at_120_bpm_is_half_a_second():
    notes = excerpt_notes(timeline(melody_score(1.0)), clip_seconds=2.0, pulse_bpm=120, max_repeats=1)
    assert onsets(notes) == [0.0, 0.5, 1.0, 1.5]
    assert [round(n.end - n.start, 6) for n in notes] == [0.5] * 4
    assert [n.pitch for n in notes] == [60, 64, 67, 72]


def test_the_tempo_follows_pulse_bpm():
    notes = excerpt_notes(timeline(melody_score(1.0)), clip_seconds=4.0, pulse_bpm=60, max_repeats=1)
    assert onsets(notes) == [0.0, 1.0, 2.0, 3.0]
    fast = excerpt_notes(timeline(melody_score(1.0)), clip_seconds=4.0, pulse_bpm=150, max_repeats=1)
    assert onsets(fast) == [0.0, 0.4, 0.8, 1.2]


@pytest.mark.parametrize("quarter_length", [0.5, 2.0, 4.0])
def test_notation_does_not_set_the_tempo(quarter_length):
    quarters = excerpt_notes(timeline(melody_score(1.0)), clip_seconds=2.0, pulse_bpm=120, max_repeats=1)
    other = excerpt_notes(timeline(melody_score(quarter_length)), clip_seconds=2.0, pulse_bpm=120, max_repeats=1)
    assert onsets(other) == onsets(quarters)
    assert [round(n.end, 6) for n in other] == [round(n.end, 6) for n in quarters]


def test_a_metronome_mark_in_the_score_does_not_set_the_tempo():
    plain = excerpt_notes(timeline(melody_score(1.0)), clip_seconds=2.0, pulse_bpm=120, max_repeats=1)
    marked = excerpt_notes(timeline(melody_score(1.0, tempo_mark=40)), clip_seconds=2.0, pulse_bpm=120, max_repeats=1)
    assert onsets(marked) == onsets(plain)


def test_the_pulse_is_the_median_gap_between_onsets_of_all_parts():
    from music21 import note, stream

    def score(scale):
        melody, bass = stream.Part(), stream.Part()
        # quarter, quarter, half, quarter, quarter: gaps 1, 1, 2, 1 -> the pulse is a quarter
        for pitch, length in (("C5", 1), ("D5", 1), ("E5", 2), ("F5", 1), ("G5", 1)):
            melody.append(note.Note(pitch, quarterLength=length * scale))
        bass.append(note.Note("C3", quarterLength=6 * scale))  # one long note, on the first onset
        return stream.Score([melody, bass])

    notes = excerpt_notes(timeline(score(1.0)), clip_seconds=3.0, pulse_bpm=120, max_repeats=1)
    assert [(n.pitch, round(n.start, 6)) for n in notes] == [(48, 0.0), (72, 0.0), (74, 0.5), (76, 1.0),
                                                           (77, 2.0), (79, 2.5)]
    assert {n.voice for n in notes if n.pitch == 48} == {1}
    assert {n.voice for n in notes if n.pitch != 48} == {0}
    # the same music notated in halves plays identically
    doubled = excerpt_notes(timeline(score(2.0)), clip_seconds=3.0, pulse_bpm=120, max_repeats=1)
    assert [(n.pitch, round(n.start, 6), round(n.end, 6)) for n in doubled] == \
        [(n.pitch, round(n.start, 6), round(n.end, 6)) for n in notes]


def test_excerpt_repeats_short_tunes_and_stops_at_clip_length():
    # 4 quarters at 120 pulses a minute = 2 s per pass; a 5 s clip needs 3 passes, the last one cut.
    notes = excerpt_notes(timeline(melody_score(1.0)), clip_seconds=5.0, pulse_bpm=120, max_repeats=4)
    assert len(notes) == 10
    assert max(n.end for n in notes) <= 5.0
    assert notes[4].start == 2.0 and notes[4].pitch == notes[0].pitch
    # no more than max_repeats passes
    assert len(excerpt_notes(timeline(melody_score(1.0)), clip_seconds=10.0, pulse_bpm=120, max_repeats=2)) == 8
