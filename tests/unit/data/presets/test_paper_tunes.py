"""A reproduced paper's tunes: one row per tune of a corpus file, features and tune groups."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from musicfusion.data.presets.paper_tunes import (
    TUNE_COLUMNS,
    feature_columns,
    join_tunes,
    parse_corpus_file,
    tune_table,
)
from musicfusion.symbolic.features import feature_names

# Three tunes; the third is the first one transposed (same opening intervals).
ABC = """X:1
T:First tune
M:4/4
L:1/8
K:C
CDEF GABc | cBAG FEDC | CDEF GABc | c4 z4 |]

X:2
T:Second tune
M:3/4
L:1/4
K:G
G A B | c d e | d2 B | G3 |]

X:3
T:First tune again
M:4/4
L:1/8
K:D
DEFG ABcd | dcBA GFED | DEFG ABcd | d4 z4 |]
"""
FEATURES = ["r31", "p1", "p16", "p20"]  # time signature (2 values), pitch prevalence, top pitch class, PC distribution


@pytest.fixture(scope="module")
def opus(tmp_path_factory):
    from music21 import converter

    path = tmp_path_factory.mktemp("abc") / "tunes.abc"
    path.write_text(ABC, encoding="utf-8")
    return converter.parse(path)


def test_every_tune_is_a_row_with_its_features(opus):
    table = tune_table(opus, "folk/tunes.abc", "north", FEATURES, melody_intervals=6)
    assert list(table.columns) == TUNE_COLUMNS + feature_names(FEATURES)
    assert table["tune_id"].tolist() == ["folk_tunes-0000", "folk_tunes-0001", "folk_tunes-0002"]
    assert table["title"].tolist() == ["First tune", "Second tune", "First tune again"]
    assert (table["label"] == "north").all()
    # r31: the initial time signature as (numerator, denominator).
    assert table[["r31.InitialTimeSignature.0", "r31.InitialTimeSignature.1"]].to_numpy().tolist() == [
        [4, 4], [3, 4], [4, 4]]
    # p16: the most common pitch class (C of tune 1, D of its transposition).
    assert table["p16.MostCommonPitchClass"].tolist()[::2] == [0, 2]
    distribution = table[[f"p20.PitchClassDistribution.{i}" for i in range(12)]].to_numpy()
    assert np.allclose(distribution.sum(axis=1), 1.0)
    assert distribution[0, 0] == pytest.approx(7 / 25)  # 7 of the first tune's 25 notes are Cs


def test_a_melody_in_another_key_is_the_same_tune_group(opus):
    table = tune_table(opus, "folk/tunes.abc", "north", FEATURES, melody_intervals=6)
    assert table["melody"][0] == table["melody"][2] != table["melody"][1]
    short = tune_table(opus, "folk/tunes.abc", "north", FEATURES, melody_intervals=40)
    assert (short["melody"] == "").all()  # too short to tell tunes apart
    joined = join_tunes([table, short.assign(tune_id=lambda t: "other-" + t["tune_id"])])
    assert joined["group"].tolist() == [0, 1, 0, 2, 3, 4]  # short tunes are groups of their own
    assert feature_columns(joined) == feature_names(FEATURES)


def test_an_unknown_feature_id_or_an_unreadable_file_is_named(opus):
    with pytest.raises(ValueError, match=r"no feature extractor with id \['zz9'\]"):
        tune_table(opus, "folk/tunes.abc", "north", ["p1", "zz9"], 6)
    with pytest.raises(ValueError, match="nowhere/none.abc: music21 cannot parse it"):
        parse_corpus_file("nowhere/none.abc")


def test_an_empty_file_gives_an_empty_table_with_every_column():
    from music21 import stream

    table = tune_table(stream.Opus(), "folk/empty.abc", "north", FEATURES, 6)
    assert table.empty and list(table.columns) == TUNE_COLUMNS + feature_names(FEATURES)
    assert isinstance(table, pd.DataFrame)
