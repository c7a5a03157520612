"""Excerpts of scores: the notes sounding in a clip's first seconds, at a tempo drawn per clip.

The tempo is set on the score's pulse (the median time between onsets), so how a collection
happens to notate its music (Palestrina's half notes, Bach's quarters, a reel's eighths) does
not set how many notes a second a clip plays.

A score is read once into a :class:`Timeline` (its notes in quarter notes, its pulse and its
length): reading walks music21's streams, which costs far more than cutting excerpts from the
result at any number of tempi.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from musicfusion.symbolic.notes import NoteEvent


@dataclass(frozen=True)
class Timeline:
    """A score's notes in its own time: one ``(pitch, offset, quarter_length, voice)`` per
    pitch of every note and chord, part by part in score order (ties joined), with the score's
    pulse and length in quarter notes."""

    notes: tuple[tuple[int, float, float, int], ...]
    pulse_quarters: float
    length_quarters: float

    def to_dict(self) -> dict:
        return {"notes": [list(n) for n in self.notes], "pulse_quarters": self.pulse_quarters,
                "length_quarters": self.length_quarters}

    @classmethod
    def from_dict(cls, data: dict) -> Timeline:
        return cls(tuple((int(p), float(o), float(q), int(v)) for p, o, q, v in data["notes"]),
                   float(data["pulse_quarters"]), float(data["length_quarters"]))


def pulse_quarters(score) -> float:
    """The score's pulse in quarter notes: the median time between successive onsets.

    Notation sets it (Palestrina's half notes, Bach's quarters, a reel's eighths); tying the
    tempo to it makes onsets per second follow a drawn tempo, not a convention of the encoding.
    """
    onsets = sorted({float(n.offset) for n in score.flatten().notes})
    gaps = np.diff(onsets)
    gaps = gaps[gaps > 0]
    return float(np.median(gaps)) if len(gaps) else 1.0


def part_notes(score) -> list:
    """Each part's notes and chords in order, ties joined (the score itself if it has no parts)."""
    return [list(part.stripTies().flatten().notes) for part in (list(score.parts) or [score])]


def timeline(score, parts: list | None = None) -> Timeline:
    """Read a music21 score into a :class:`Timeline` (``parts``: :func:`part_notes`, if already read)."""
    notes = []
    for voice, elements in enumerate(part_notes(score) if parts is None else parts):
        for element in elements:
            offset, quarters = float(element.offset), float(element.duration.quarterLength)
            notes.extend((int(pitch.midi), offset, quarters, voice) for pitch in element.pitches)
    return Timeline(tuple(notes), pulse_quarters(score), float(score.highestTime))


def excerpt_notes(score: Timeline, clip_seconds: float, pulse_bpm: float, max_repeats: int) -> list[NoteEvent]:
    """The notes sounding in the first ``clip_seconds`` of the score, tunes repeated if short.

    The score plays at ``pulse_bpm`` pulses (:func:`pulse_quarters`) per minute.
    """
    seconds_per_quarter = 60.0 / pulse_bpm / score.pulse_quarters
    one_pass: list[NoteEvent] = []
    for pitch, offset, quarters, voice in score.notes:
        start = offset * seconds_per_quarter
        end = start + quarters * seconds_per_quarter
        if end <= start:
            continue  # grace notes carry no duration
        one_pass.append(NoteEvent(pitch, start, end, voice))
    if not one_pass:
        return []
    length = score.length_quarters * seconds_per_quarter
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
