"""Symbolic features of a score: music21's feature extractors (jSymbolic and native), chosen by id.

An id is what ``music21.features.extractorsById`` accepts: ``r31`` (jSymbolic's initial time
signature), ``p20`` (its pitch-class distribution), ``ql1`` (a native one). An extractor gives one
value or a vector (``p19``, the basic pitch histogram, gives 128): each becomes as many columns,
named ``<id>.<ExtractorName>`` or ``<id>.<ExtractorName>.<i>``.
"""

from __future__ import annotations

import numpy as np


def extractors(ids: list[str]) -> list[type]:
    """The extractor classes of ``ids``, in that order; an id music21 does not know is an error."""
    from music21 import features

    found, unknown = [], []
    for feature_id in ids:
        classes = features.extractorsById([feature_id])
        (found if classes else unknown).append(classes[0] if classes else feature_id)
    if unknown:
        raise ValueError(f"music21 has no feature extractor with id {unknown}")
    return found


def feature_names(ids: list[str]) -> list[str]:
    """One name per column that :func:`score_features` gives for ``ids``."""
    names = []
    for feature_id, extractor in zip(ids, extractors(ids)):
        base = f"{feature_id}.{extractor.__name__.removesuffix('Feature')}"
        dimensions = int(extractor().dimensions)
        names += [base] if dimensions == 1 else [f"{base}.{i}" for i in range(dimensions)]
    return names


def score_features(score, classes: list[type]) -> np.ndarray:
    """The concatenated feature vectors of ``classes`` (:func:`extractors`) for one music21 score.

    One ``DataInstance`` is shared by all extractors: it caches the score's flattened, tie-stripped
    streams and histograms, which makes 24 extractors 30 times faster than separate instances.
    """
    from music21 import features

    instance = features.DataInstance(score)
    return np.concatenate([np.asarray(extractor(instance).extract().vector, dtype=np.float64)
                           for extractor in classes])
