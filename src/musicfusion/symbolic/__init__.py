"""Symbolic music: note events, excerpts of scores, and rendering notes to MIDI, audio and a piano-roll video."""
