"""Note-level perturbations of a score's note array, for robustness curves of the score modality.

The score counterparts of white noise on audio and dropped frames on video
(:mod:`musicfusion.evaluation.perturb`): deleting notes (a transcription that misses some) and
moving notes a semitone (one that mishears some). Pure functions: the caller's
``numpy.random.Generator`` decides everything random (the same seed gives the same result), and
a new note array is returned, the input left as it was.
"""

from __future__ import annotations

import numpy as np

from musicfusion.data.scores import MIDI_PITCHES, PITCH, check_notes, sort_notes


def _count(fraction: float, n_notes: int, name: str) -> int:
    """round(fraction * n_notes), the number of notes a perturbation touches; a ValueError for a
    fraction outside [0, 1] (NaN included)."""
    if not 0.0 <= float(fraction) <= 1.0:
        raise ValueError(f"{name}: fraction must be in [0, 1], got {fraction!r}")
    # Python's round, as perturb.py's dropped_frames and token_deletion count (halves to even).
    return int(round(float(fraction) * n_notes))


def delete_notes(notes: np.ndarray, fraction: float, rng: np.random.Generator) -> np.ndarray:
    """``notes`` without round(fraction * n) of its rows chosen at random, at least one row kept
    (a score of no notes has no features): a fraction of 1 leaves one note."""
    notes = check_notes(notes, "delete_notes")
    n_lost = min(_count(fraction, len(notes), "delete_notes"), max(len(notes) - 1, 0))
    kept = np.ones(len(notes), dtype=bool)
    kept[rng.choice(len(notes), size=n_lost, replace=False)] = False
    return notes[kept]  # boolean indexing copies, and keeps the rows' (onset, pitch) order


def shift_notes(notes: np.ndarray, fraction: float, rng: np.random.Generator) -> np.ndarray:
    """``notes`` with round(fraction * n) rows chosen at random moved one semitone up or down
    (each its own random sign), re-sorted by onset and pitch. Pitches stay in MIDI's 0..127: a
    note at an end moved outwards stays where it is, so it is the one case of fewer changed notes.
    """
    notes = check_notes(notes, "shift_notes")
    n_moved = _count(fraction, len(notes), "shift_notes")
    moved = notes.copy()  # check_notes may return the caller's own float64 array
    chosen = rng.choice(len(notes), size=n_moved, replace=False)
    moved[chosen, PITCH] += rng.choice([-1.0, 1.0], size=n_moved)
    moved[:, PITCH] = np.clip(moved[:, PITCH], 0, MIDI_PITCHES - 1)
    return sort_notes(moved)
