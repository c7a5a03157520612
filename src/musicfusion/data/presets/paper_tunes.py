"""The tunes of a reproduced paper: every tune of its corpus files, with its class, its tune group
and its symbolic features.

A paper dataset (params.yaml ``papers``) names, per class, music21 corpus files that hold many
tunes each (the Essen collections are ABC files of hundreds), or score files on disk. Each file is read once
(:func:`read_corpus_file`, one job per file) and the files are joined into one table
(:func:`join_tunes`), where tunes that open with the same melodic intervals share a group: the
same melody in two collections, or twice in one, is one tune for a grouped split.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from musicfusion.data.presets.collect import melody_signature
from musicfusion.plumbing.config import corpus_file_slug
from musicfusion.symbolic.excerpts import part_notes
from musicfusion.symbolic.features import extractors, feature_names, score_features

TUNE_COLUMNS = ["tune_id", "corpus_file", "number", "title", "label", "melody"]


def _melody(score) -> tuple[int, ...]:
    """The first part's top pitches, one per note or chord."""
    parts = part_notes(score)
    return tuple(int(max(p.midi for p in n.pitches)) for n in parts[0]) if parts else ()


def parse_corpus_file(corpus_file: str):
    """The music21 opus (or score) of a corpus path (``essenFolksong/han1.abc``) or of a score file
    on disk (any format music21 reads), or a ValueError naming the file."""
    from music21 import converter, corpus

    try:
        # forceSource: music21's own pickles would go to a temporary folder outside the project.
        if Path(corpus_file).is_file():
            return converter.parse(corpus_file, forceSource=True)
        return corpus.parse(corpus_file, forceSource=True)
    except Exception as err:  # music21 raises many types for unreadable files
        raise ValueError(f"{corpus_file}: music21 cannot parse it: {err}") from err


def tune_table(parsed, corpus_file: str, label: str, feature_ids: list[str], melody_intervals: int) -> pd.DataFrame:
    """One row per tune of a parsed corpus file (an opus, or one score): :data:`TUNE_COLUMNS`
    (``melody``: its opening intervals, empty when too short to tell) and one column per
    feature (musicfusion.symbolic.features)."""
    from music21 import stream

    classes, names = extractors(feature_ids), feature_names(feature_ids)
    scores = list(parsed.scores) if isinstance(parsed, stream.Opus) else [parsed]
    slug = corpus_file_slug(corpus_file)
    rows, vectors = [], []
    for index, score in enumerate(scores):
        metadata = score.metadata
        number = getattr(metadata, "number", None) if metadata is not None else None
        try:
            vectors.append(score_features(score, classes))
        except Exception as err:  # an extractor's failure names the tune, not just the extractor
            raise ValueError(f"{corpus_file}, tune {index} (number {number}): "
                             f"feature extraction failed: {err}") from err
        title = getattr(metadata, "title", None) if metadata is not None else None
        rows.append({"tune_id": f"{slug}-{index:04d}", "corpus_file": corpus_file, "number": str(number or ""),
                     "title": str(title or ""), "label": label,
                     "melody": melody_signature(_melody(score), melody_intervals)})
    features = pd.DataFrame(np.vstack(vectors) if vectors else np.empty((0, len(names))), columns=names)
    return pd.concat([pd.DataFrame(rows, columns=TUNE_COLUMNS), features], axis=1)


def read_corpus_file(corpus_file: str, label: str, feature_ids: list[str], melody_intervals: int) -> pd.DataFrame:
    """:func:`tune_table` of a music21 corpus file (read once: one Essen file holds hundreds of tunes)."""
    return tune_table(parse_corpus_file(corpus_file), corpus_file, label, feature_ids, melody_intervals)


def feature_columns(tunes: pd.DataFrame) -> list[str]:
    """The feature columns of a tunes table (everything after the tune columns and ``group``)."""
    return [c for c in tunes.columns if c not in TUNE_COLUMNS and c != "group"]


def join_tunes(tables: list[pd.DataFrame]) -> pd.DataFrame:
    """The files' tunes in one table with a ``group`` column after the tune columns: tunes with the
    same opening intervals share a group; a tune too short to tell is a group of its own."""
    tunes = pd.concat(tables, ignore_index=True)
    key = tunes["melody"].where(tunes["melody"] != "", "tune:" + tunes["tune_id"])
    # Groups numbered in order of first appearance: the same tables give the same numbers.
    groups = pd.Series(pd.factorize(key)[0], index=tunes.index)
    tunes.insert(len(TUNE_COLUMNS), "group", groups)
    return tunes
