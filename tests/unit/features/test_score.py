"""Score features: music21 extractors on note arrays (columns, values, clips they cannot measure) and
the score modality's shortcut controls on hand-counted clips."""

from __future__ import annotations

import numpy as np
import pytest

from musicfusion.features.score import PROPOSED_IDS, extract, max_polyphony, score_controls
from musicfusion.symbolic.features import feature_names

# C4 D4 E4 C4, one a quarter: a melody of steps and a third.
MELODY = np.array([[60, 0, 1], [62, 1, 1], [64, 2, 1], [60, 3, 1]], dtype=np.float64)
# A C major chord of three half notes, then G4.
CHORD_THEN_NOTE = np.array([[60, 0, 2], [64, 0, 2], [67, 0, 2], [67, 2, 1]], dtype=np.float64)
ONE_NOTE = np.array([[60, 0, 1]], dtype=np.float64)


def column(X: np.ndarray, names: list[str], prefix: str) -> np.ndarray:
    (index,) = [i for i, name in enumerate(names) if name.startswith(prefix)]
    return X[:, index]


def test_one_row_per_clip_and_one_name_per_column():
    ids = ["p1", "p19", "p20", "m1", "r15"]
    X, names = extract([MELODY, CHORD_THEN_NOTE], {"ids": ids})
    assert names == feature_names(ids)
    assert len(names) == 1 + 128 + 12 + 128 + 1
    assert X.dtype == np.float64 and X.shape == (2, len(names))
    empty, empty_names = extract([], {"ids": ids})
    assert empty.shape == (0, len(names)) and empty_names == names


def test_pitch_histograms_reflect_the_notes():
    X, names = extract([MELODY, CHORD_THEN_NOTE], {"ids": ["p1", "p19", "p20"]})
    histogram = X[:, [i for i, name in enumerate(names) if name.startswith("p19.")]]  # by MIDI number
    assert np.flatnonzero(histogram[0]).tolist() == [60, 62, 64]
    assert histogram[0, 60] == histogram[0].max() and histogram[0, 62] == histogram[0, 64] < histogram[0, 60]
    assert np.flatnonzero(histogram[1]).tolist() == [60, 64, 67]
    assert column(X, names, "p1.") == pytest.approx([0.5, 0.5])  # C4 is 2 of 4 notes; G4 2 of 4
    pitch_classes = X[:, [i for i, name in enumerate(names) if name.startswith("p20.")]]
    assert np.flatnonzero(pitch_classes[0]).tolist() == [0, 2, 4]  # C, D, E
    # jSymbolic's p20 puts the most common pitch class in bin 0: G (2 of 4), then C 5 and E 9 above it
    assert np.flatnonzero(pitch_classes[1]).tolist() == [0, 5, 9]


def test_melodic_ids_follow_the_melody_and_give_0_without_one():
    ids = ["m1", "m2", "m11", "r22", "r23"]
    X, names = extract([MELODY, ONE_NOTE, CHORD_THEN_NOTE], {"ids": ids})
    # C-D, D-E steps and E-C a third: 2 of 3 intervals are steps
    assert column(X, names, "m11.")[0] == pytest.approx(2 / 3)
    intervals = X[0, [i for i, name in enumerate(names) if name.startswith("m1.")]]
    assert np.flatnonzero(intervals).tolist() == [2, 4]
    # One note or one chord: music21 raises (no interval, one onset); the columns are 0, no NaN
    assert np.isfinite(X).all()
    assert not X[1].any()
    assert not X[2, [i for i, name in enumerate(names) if name.split(".")[0] in ("m1", "m2", "m11")]].any()


def test_settings_and_clips_that_are_errors():
    with pytest.raises(ValueError, match=r"unknown keys \['idz'\]"):
        extract([MELODY], {"ids": ["p1"], "idz": ["p2"]})
    with pytest.raises(ValueError, match="non-empty list"):
        extract([MELODY], {"ids": []})
    with pytest.raises(ValueError, match="more than once"):
        extract([MELODY], {"ids": ["p1", "P1"]})
    with pytest.raises(ValueError, match="nope"):
        extract([MELODY], {"ids": ["p1", "nope"]})
    # instrument ids need an instrument, which a note array does not have
    with pytest.raises(ValueError, match=r"score clip 0: feature I1 \(PitchedInstrumentsPresentFeature\) failed"):
        extract([MELODY], {"ids": ["P1", "I1"]})
    with pytest.raises(ValueError, match="score clip 1: has no notes"):
        extract([MELODY, np.zeros((0, 3))], {"ids": ["p1"]})


def test_the_proposed_ids_run_on_melodies_and_chords():
    X, names = extract([MELODY, CHORD_THEN_NOTE, ONE_NOTE], {"ids": PROPOSED_IDS})
    assert len(PROPOSED_IDS) == 39 and X.shape == (3, 61) and len(names) == 61
    assert np.isfinite(X).all()
    assert not np.array_equal(X[0], X[1])


def test_controls_on_hand_counted_clips():
    touching = np.array([[60, 0, 1], [62, 1, 1], [64, 2, 2]], dtype=np.float64)
    overlapping = np.array([[60, 0, 3], [62, 1, 1], [64, 1.5, 1]], dtype=np.float64)
    X, names = score_controls([CHORD_THEN_NOTE, touching, overlapping, np.zeros((0, 3))], {})
    assert names == ["length_quarters", "n_notes", "notes_per_quarter", "max_polyphony"]
    assert X.dtype == np.float32
    np.testing.assert_allclose(X, [[3, 4, 4 / 3, 3],  # the chord of 3 sounds at once
                                   [4, 3, 3 / 4, 1],  # a note ending where the next starts is alone
                                   [3, 3, 1, 3],  # all three sound in [1.5, 2)
                                   [0, 0, 0, 0]])
    assert max_polyphony(np.array([[60, 0, 1], [60, 0, 1]], dtype=np.float64)) == 2  # unison counts twice


def test_controls_settings():
    assert score_controls([MELODY], {})[0].shape == (1, 4)
    with pytest.raises(ValueError, match=r"unknown keys \['window'\]"):
        score_controls([MELODY], {"window": 1})
    with pytest.raises(ValueError, match="score clip 0"):
        score_controls([np.zeros((2, 2))], {})
