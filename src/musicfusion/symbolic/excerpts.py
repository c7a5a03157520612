"""Excerpts of scores: the notes sounding in a clip's first seconds, at a tempo drawn per clip.

The tempo is set on the score's pulse (the median time between onsets), so how a collection
happens to notate its music (Palestrina's half notes, Bach's quarters, a reel's eighths) does
not set how many notes a second a clip plays.
"""

from __future__ import annotations

import numpy as np

from musicfusion.symbolic.notes import NoteEvent


def pulse_quarters(score) -> float:
    """The score's pulse in quarter notes: the median time between successive onsets.

    Notation sets it (Palestrina's half notes, Bach's quarters, a reel's eighths); tying the
    tempo to it makes onsets per second follow a drawn tempo, not a convention of the encoding.
    """
    onsets = sorted({float(n.offset) for n in score.flatten().notes})
    gaps = np.diff(onsets)
    gaps = gaps[gaps > 0]
    return float(np.median(gaps)) if len(gaps) else 1.0


def excerpt_notes(score, clip_seconds: float, pulse_bpm: float, max_repeats: int) -> list[NoteEvent]:
    """The notes sounding in the first ``clip_seconds`` of the score, tunes repeated if short.

    The score plays at ``pulse_bpm`` pulses (:func:`pulse_quarters`) per minute.
    """
    seconds_per_quarter = 60.0 / pulse_bpm / pulse_quarters(score)
    parts = list(score.parts) or [score]
    one_pass: list[NoteEvent] = []
    for voice, part in enumerate(parts):
        for element in part.stripTies().flatten().notes:
            start = float(element.offset) * seconds_per_quarter
            end = start + float(element.duration.quarterLength) * seconds_per_quarter
            if end <= start:
                continue  # grace notes carry no duration
            for pitch in element.pitches:
                one_pass.append(NoteEvent(int(pitch.midi), start, end, voice))
    if not one_pass:
        return []
    length = float(score.highestTime) * seconds_per_quarter
    notes: list[NoteEvent] = []
    for repeat in range(max(1, max_repeats)):
        shift = repeat * length
        if shift >= clip_seconds:
            break
        for note in one_pass:
            start = note.start + shift
            if start < clip_seconds:
                notes.append(NoteEvent(note.pitch, start, min(note.end + shift, clip_seconds), note.voice))
    notes.sort(key=lambda n: (n.start, n.pitch, n.voice))
    return notes
