"""Transcription scores summarised over clips: every clip, then per instrument and per style."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from musicfusion.evaluation.transcription import SCORES, SUMMARY_COLUMNS, summarize


def per_clip_scores(f_measures) -> pd.DataFrame:
    rows = []
    for i, f in enumerate(f_measures):
        rows.append({"clip_id": f"c{i}", **{score: f for score in SCORES}, "n_reference": 10, "n_estimate": i})
    return pd.DataFrame(rows)


def test_groups_means_intervals_and_counts():
    per_clip = per_clip_scores([0.2, 0.4, 0.9, 0.5])
    clips = pd.DataFrame({"clip_id": ["c3", "c2", "c1", "c0", "c9"],
                          "instrument": ["organ", "piano", "organ", "organ", "x"], "style": ["a", "a", "a", "b", "b"]})
    table = summarize(per_clip, clips, ["instrument", "style"], 0.95)
    assert list(table.columns) == SUMMARY_COLUMNS
    assert list(zip(table["group_by"], table["group"])) == [("all", "all"), ("instrument", "organ"),
                                                           ("instrument", "piano"), ("style", "a"), ("style", "b")]
    rows = table.set_index(["group_by", "group"])
    assert rows.loc[("all", "all"), "n_clips"] == 4 and rows.loc[("all", "all"), "f_measure"] == pytest.approx(0.5)
    organ = np.array([0.2, 0.4, 0.5])  # c0, c1, c3
    half = stats.t.ppf(0.975, 2) * organ.std(ddof=1) / np.sqrt(3)
    assert rows.loc[("instrument", "organ"), "f_measure"] == pytest.approx(organ.mean(), abs=1e-4)
    assert rows.loc[("instrument", "organ"), "f_measure_ci_high"] == pytest.approx(organ.mean() + half, abs=1e-4)
    # One clip: a mean without an interval.
    assert rows.loc[("instrument", "piano"), "f_measure"] == 0.9
    assert np.isnan(rows.loc[("instrument", "piano"), "f_measure_ci_low"])
    assert rows.loc[("style", "b"), "n_estimate"] == 0 and rows.loc[("style", "a"), "n_reference"] == 30


def test_a_clip_missing_from_the_table_is_an_error():
    with pytest.raises(Exception):
        summarize(per_clip_scores([0.1, 0.2]), pd.DataFrame({"clip_id": ["c0", "c0"], "style": ["a", "b"]}),
                  ["style"], 0.95)
