"""Score features: music21's feature extractors (jSymbolic and native, chosen by id) on note arrays,
and the score modality's shortcut controls.

A clip's note array (:mod:`musicfusion.data.scores`) is rebuilt as a one-part music21 stream
(:func:`~musicfusion.data.scores.notes_to_stream`) and run through the extractors that
``settings["ids"]`` names (:mod:`musicfusion.symbolic.features` turns ids into extractor classes
and column names). :func:`score_controls` gives what a shortcut alone would use: how long the
clip is in quarter notes, how many notes it has, and how many sound at once.

Because the stream has one part, no instrument, no lyrics, a 4/4 time signature and music21's
default tempo, some ids describe the rebuilding rather than the clip and are not worth asking for:
instruments (``I*``: they raise, there is no instrument), meter and tempo (``R30``-``R35``:
the same for every clip), independent voices (``T1``-``T3``: one part is one voice) and lyrics
(``TX1``). Melodic-interval ids (``M*``) follow consecutive single notes of the one part, skipping
chords and overlapping notes: on a polyphonic clip they describe the passages where one note
sounds at a time. :data:`PROPOSED_IDS` avoids the rest and the slow ones.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from musicfusion.data.scores import DURATION, ONSET, check_notes, notes_to_stream
from musicfusion.symbolic.features import ExtractorError, extractors, feature_names, score_features

SETTINGS_KEYS = ("ids",)
CONTROL_NAMES = ["length_quarters", "n_notes", "notes_per_quarter", "max_polyphony"]

# The ids proposed for params.yaml (``features.score.ids``; extract uses what settings name, never
# these by default): 39 ids, 61 columns, ~25 ms a clip on average (~12 ms for a folk-song excerpt of
# ~40 notes, ~40 ms for a chorale one; measured on 120 excerpts of the five corpus styles of
# params.yaml). Pitch statistics, with the pitch-class histogram twice: P20 rotated so that its most
# common class is bin 0 (relative to the clip's main pitch class) and P21 absolute (bins in the order
# of the circle of fifths); P19, the 128-bin MIDI histogram, is left out as wide and sparse. Then
# melodic intervals, and note and inter-onset durations (in seconds at music21's default tempo, so in
# proportion to quarter notes). Left out besides the ids of the module docstring: R15 and R36 (note
# density and length: the controls' notes_per_quarter and length_quarters again), R24/R25 (R22/R23
# per voice: the same with one part), and the slowest: K1 and P22 (key analysis, ~15 ms a clip), the
# simultaneity ids CS1-CS12 (a chordify of the clip, ~10 ms, 40-90 ms for a few hundred notes) and TX1.
PROPOSED_IDS = [
    "P1", "P2", "P5", "P6", "P7", "P8", "P9", "P10", "P11", "P12", "P13", "P14", "P15", "P20", "P21",
    "M2", "M3", "M5", "M7", "M8", "M9", "M10", "M11", "M12", "M13", "M14", "M15", "M17", "M18", "M19",
    "R17", "R18", "R19", "R20", "R21", "R22", "R23", "QL1", "QL3",
]


def _feature_ids(settings) -> list[str]:
    """The ``ids`` of the settings, checked: a non-empty list of distinct strings, no other key."""
    if not isinstance(settings, Mapping):
        raise ValueError(f"score feature settings must be a mapping with keys {list(SETTINGS_KEYS)}, "
                         f"got {type(settings).__name__}")
    unknown = sorted(set(settings) - set(SETTINGS_KEYS))
    if unknown:
        raise ValueError(f"score feature settings have unknown keys {unknown}; expected {list(SETTINGS_KEYS)}")
    ids = settings.get("ids")
    if not isinstance(ids, (list, tuple)) or not ids or not all(isinstance(i, str) for i in ids):
        raise ValueError(f"score feature settings: ids must be a non-empty list of feature ids, got {ids!r}")
    # music21 ignores the case of ids: "p1" and "P1" would be one extractor under two names.
    folded = [i.strip().lower() for i in ids]
    repeated = sorted({i for i in ids if folded.count(i.strip().lower()) > 1})
    if repeated:
        raise ValueError(f"score feature settings: ids {repeated} are asked for more than once")
    return list(ids)


def _clip_features(score, classes: list[type], feature_ids: list[str], where: str) -> np.ndarray:
    """One clip's feature row (musicfusion.symbolic.features.score_features on one shared music21
    instance): an extractor with nothing to measure gives its columns 0 instead of losing the row."""
    try:
        row = score_features(score, classes, degenerate_as_zero=True)
    except ExtractorError as err:  # a wrong id for note arrays (I*: no instrument)
        raise ValueError(f"{where}: feature {feature_ids[err.index]} ({err.extractor.__name__}) failed: "
                         f"{type(err.error).__name__}: {err.error}") from err
    # No chosen id gave NaN or inf on 360 corpus excerpts (some cut to a tenth of their notes); if one
    # ever does, it measured an empty set like the degenerate inputs, and learners refuse NaN.
    return np.nan_to_num(row, nan=0.0, posinf=0.0, neginf=0.0)


def extract(note_arrays: list[np.ndarray], settings: dict) -> tuple[np.ndarray, list[str]]:
    """music21 features of each clip's note array: ``(X, names)``, X float64 ``(n_clips, n_columns)``.

    ``settings``: ``{"ids": [...]}``, ids that ``music21.features.extractorsById`` accepts (see
    :data:`PROPOSED_IDS`); any other key is an error. A vector extractor gives several columns
    (:func:`musicfusion.symbolic.features.feature_names`). A clip with no notes is an error.
    """
    feature_ids = _feature_ids(settings)
    classes, names = extractors(feature_ids), feature_names(feature_ids)
    X = np.zeros((len(note_arrays), len(names)), dtype=np.float64)
    for index, notes in enumerate(note_arrays):
        where = f"score clip {index}"
        notes = check_notes(notes, where)
        if len(notes) == 0:
            raise ValueError(f"{where}: has no notes; music21's features need at least one")
        X[index] = _clip_features(notes_to_stream(notes), classes, feature_ids, where)
    return X, names


def max_polyphony(notes: np.ndarray) -> int:
    """The most notes sounding at once; a note ending where another starts does not overlap it."""
    if len(notes) == 0:
        return 0
    starts, ends = notes[:, ONSET], notes[:, ONSET] + notes[:, DURATION]
    times = np.concatenate([starts, ends])
    steps = np.concatenate([np.ones(len(notes)), -np.ones(len(notes))])
    # At equal times ends (-1) sort before starts (+1): touching notes are not simultaneous.
    order = np.lexsort((steps, times))
    return int(np.cumsum(steps[order]).max())


def score_controls(note_arrays: list[np.ndarray], settings: dict) -> tuple[np.ndarray, list[str]]:
    """The score modality's shortcut controls: ``(X, names)``, X float32 ``(n_clips, 4)`` like the
    other modalities' controls (:mod:`musicfusion.features.controls`), names :data:`CONTROL_NAMES`.

    ``length_quarters``: the end of the last note (quarter notes from 0, not from the first onset:
    a clip is an excerpt from its start); ``n_notes``: rows of the note array; ``notes_per_quarter``:
    n_notes / length_quarters (0 for a clip without notes); ``max_polyphony``: :func:`max_polyphony`.
    ``settings`` takes no key yet (an empty mapping); any key is an error.
    """
    if not isinstance(settings, Mapping):
        raise ValueError(f"score control settings must be a mapping, got {type(settings).__name__}")
    if settings:
        raise ValueError(f"score control settings have unknown keys {sorted(settings)}; they take none")
    X = np.zeros((len(note_arrays), len(CONTROL_NAMES)), dtype=np.float32)
    for index, notes in enumerate(note_arrays):
        notes = check_notes(notes, f"score clip {index}")
        length = float((notes[:, ONSET] + notes[:, DURATION]).max()) if len(notes) else 0.0
        density = len(notes) / length if length > 0 else 0.0
        X[index] = (length, len(notes), density, max_polyphony(notes))
    return X, list(CONTROL_NAMES)
