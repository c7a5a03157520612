"""Notes as every modality of a clip is rendered from them: pitch, onset and offset in seconds, voice."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class NoteEvent:
    pitch: int
    start: float  # seconds
    end: float  # seconds
    voice: int  # index of the part the note came from
