"""Presets: the embedded datasets built offline from the music21 corpus, and the cleaning of their text."""
