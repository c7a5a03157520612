"""music21 feature extractors by id: names, order and one vector per score."""

from __future__ import annotations

import numpy as np
import pytest

from musicfusion.symbolic.features import extractors, feature_names, score_features

from support import melody_score


def test_extractors_keep_the_order_they_are_asked_in():
    assert [c.__name__ for c in extractors(["p20", "r31", "p1"])] == [
        "PitchClassDistributionFeature", "InitialTimeSignatureFeature", "MostCommonPitchPrevalenceFeature"]
    with pytest.raises(ValueError, match=r"\['nope'\]"):
        extractors(["p1", "nope"])


def test_one_name_per_column_of_the_vector():
    ids = ["r31", "p1", "p19", "p20"]
    names = feature_names(ids)
    assert len(names) == 2 + 1 + 128 + 12
    assert names[:3] == ["r31.InitialTimeSignature.0", "r31.InitialTimeSignature.1", "p1.MostCommonPitchPrevalence"]
    vector = score_features(melody_score(pitches=("C4", "D4", "E4", "C4")), extractors(ids))
    assert vector.shape == (len(names),) and vector.dtype == np.float64
    histogram = vector[3:3 + 128]  # p19: the basic pitch histogram, by MIDI number
    assert np.flatnonzero(histogram).tolist() == [60, 62, 64]
    assert vector[2] == pytest.approx(0.5)  # p1: C4 is 2 of the 4 notes
