"""Note-level perturbations: exactly the stated number of notes deleted or moved a semitone, the same
for the same seed, and the input left as it was."""

from __future__ import annotations

import numpy as np
import pytest

from musicfusion.evaluation.score_noise import delete_notes, shift_notes

# Ten notes, one an onset (pitches 60..69): a row's onset tells which input row it came from.
MELODY = np.column_stack([60 + np.arange(10), np.arange(10) * 0.5, np.full(10, 0.5)]).astype(np.float64)


def rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


@pytest.mark.parametrize("fraction, kept", [(0.3, 7), (0.25, 8), (0.04, 10), (0.96, 1), (1.0, 1)])
def test_delete_notes_deletes_round_fraction_of_them(fraction, kept):
    # round(2.5) is 2 (to even): 0.25 deletes 2 of 10; 1.0 would delete all and keeps one
    original = MELODY.copy()
    deleted = delete_notes(MELODY, fraction, rng())
    assert len(deleted) == kept
    assert {tuple(row) for row in deleted} <= {tuple(row) for row in MELODY}
    np.testing.assert_array_equal(deleted, deleted[np.lexsort((deleted[:, 0], deleted[:, 1]))])  # still sorted
    np.testing.assert_array_equal(MELODY, original)


def test_delete_notes_is_reproducible_and_zero_deletes_nothing():
    np.testing.assert_array_equal(delete_notes(MELODY, 0.5, rng(3)), delete_notes(MELODY, 0.5, rng(3)))
    assert not np.array_equal(delete_notes(MELODY, 0.5, rng(3)), delete_notes(MELODY, 0.5, rng(4)))
    unchanged = delete_notes(MELODY, 0.0, rng())
    np.testing.assert_array_equal(unchanged, MELODY)
    assert unchanged is not MELODY
    assert delete_notes(np.zeros((0, 3)), 0.5, rng()).shape == (0, 3)


@pytest.mark.parametrize("fraction, moved", [(0.3, 3), (0.0, 0), (1.0, 10)])
def test_shift_notes_moves_round_fraction_of_them_a_semitone(fraction, moved):
    original = MELODY.copy()
    shifted = shift_notes(MELODY, fraction, rng(1))
    assert shifted.shape == MELODY.shape
    np.testing.assert_array_equal(shifted[:, 1:], MELODY[:, 1:])  # one note an onset: rows line up
    steps = shifted[:, 0] - MELODY[:, 0]
    assert np.count_nonzero(steps) == moved and set(np.abs(steps[steps != 0])) <= {1.0}
    np.testing.assert_array_equal(MELODY, original)


def test_shift_notes_uses_both_directions_reproducibly():
    steps = shift_notes(MELODY, 1.0, rng(2))[:, 0] - MELODY[:, 0]
    assert set(steps) == {-1.0, 1.0}
    np.testing.assert_array_equal(shift_notes(MELODY, 0.5, rng(5)), shift_notes(MELODY, 0.5, rng(5)))


def test_shift_notes_resorts_chords_and_stays_in_midi_range():
    chord = np.array([[0, 0, 1], [61, 0, 1], [62, 0, 1], [127, 1, 1]], dtype=np.float64)
    for seed in range(20):
        shifted = shift_notes(chord, 1.0, rng(seed))
        np.testing.assert_array_equal(shifted, shifted[np.lexsort((shifted[:, 0], shifted[:, 1]))])
        assert shifted[:, 0].min() >= 0 and shifted[:, 0].max() <= 127
        assert sorted(shifted[:, 1]) == [0, 0, 0, 1]


@pytest.mark.parametrize("perturb", [delete_notes, shift_notes])
@pytest.mark.parametrize("fraction", [-0.1, 1.1, float("nan")])
def test_a_fraction_outside_0_1_is_an_error(perturb, fraction):
    with pytest.raises(ValueError, match=r"fraction must be in \[0, 1\]"):
        perturb(MELODY, fraction, rng())
