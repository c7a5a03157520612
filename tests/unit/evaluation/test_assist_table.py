"""The evaluation table of creation assistance (musicfusion.evaluation.assist), on hand-made rows."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from musicfusion.evaluation import assist as table


def predictions() -> pd.DataFrame:
    """Two folds of four test clips: fold 0 all right, fold 1 half right."""
    return pd.DataFrame({
        "fold": [0, 0, 0, 0, 1, 1, 1, 1], "task": "style", "query": "video",
        "true": ["a", "a", "b", "b", "a", "a", "b", "b"], "predicted": ["a", "a", "b", "b", "a", "b", "a", "b"],
        "confidence": [0.9, 0.9, 0.9, 0.9, 0.6, 0.6, 0.6, 0.6], "brier": [0.02] * 4 + [0.32, 0.72, 0.72, 0.32],
        "n_test": 4, "n_train": 16})


def test_suggestion_rows_mean_over_folds_calibration_and_chance():
    rows = {r["metric"]: r for r in table.suggestion_rows(predictions(), 0.95, 10)}
    assert rows["accuracy"]["value"] == pytest.approx(0.75) and rows["recall_macro"]["value"] == pytest.approx(0.75)
    assert rows["accuracy"]["chance"] == 0.5 and rows["recall_macro"]["chance"] == 0.5 and rows["accuracy"]["n"] == 8
    assert 0.0 <= rows["accuracy"]["ci_low"] < 0.75 < rows["accuracy"]["ci_high"] <= 1.0  # clipped to a share
    # Bins: 0.9 right 4 of 4 (gap 0.1); 0.6 right 2 of 4 (gap 0.1): ECE 0.1.
    assert rows["ece"]["value"] == pytest.approx(0.1)
    assert rows["brier"]["value"] == pytest.approx(np.mean([0.02] * 4 + [0.32, 0.72, 0.72, 0.32]))


def test_tempo_rows_count_a_missing_estimate_as_wrong():
    estimates = pd.DataFrame({"query": "audio", "truth": [100.0, 100.0, 100.0, 100.0],
                              "estimate": [103.0, 107.0, 50.0, np.nan]})
    rows = {r["metric"]: r for r in table.tempo_rows(estimates, [0.04, 0.08], 0.95)}
    assert rows["within_0.04"]["value"] == 0.25 and rows["within_0.08"]["value"] == 0.5
    assert rows["median_relative_error"]["value"] == pytest.approx(0.07) and rows["median_relative_error"]["n"] == 3


def test_chance_recall_and_first_relevant_rank():
    assert table.chance_recall_at(5, 10, 1) == pytest.approx(0.5)
    assert table.chance_recall_at(1, 10, 3) == pytest.approx(0.3) and table.chance_recall_at(3, 10, 0) == 0.0
    scores = np.array([[0.9, 0.8, 0.1], [0.2, np.nan, 0.7], [0.5, 0.4, 0.3]])
    relevant = np.array([[False, True, False], [False, True, False], [False, False, False]])
    ranks = table.first_relevant_ranks(scores, relevant)
    assert ranks[0] == 2 and np.isnan(ranks[1]) and np.isnan(ranks[2])  # an unranked relevant item is no hit


def test_reference_rows_beside_a_random_ranking():
    ranks = pd.DataFrame({"query": "text", "rank": [1.0, 3.0, np.nan, 6.0], "n_library": 9, "n_relevant": 2})
    rows = {r["metric"]: r for r in table.reference_rows(ranks, [1, 5], 0.95)}
    assert rows["recall@1"]["value"] == 0.25 and rows["recall@5"]["value"] == 0.5
    assert rows["recall@1"]["chance"] == pytest.approx(2 / 9)
    assert rows["median_rank"]["value"] == 3.0 and rows["median_rank"]["chance"] == pytest.approx(10 / 3)


def test_sketch_rows_split_moved_from_unmoved_sketches():
    agreement = pd.DataFrame({"query": "all", "agrees": [True, True, False, True], "moved": [False, False, True, True],
                              "n_styles": 4})
    rows = {r["metric"]: r for r in table.sketch_rows(agreement, 0.95)}
    assert rows["style_agreement"]["value"] == 0.75 and rows["style_agreement"]["chance"] == 0.25
    assert rows["style_agreement_moved"]["value"] == 0.5 and rows["style_agreement_moved"]["n"] == 2
    assert rows["style_agreement_unmoved"]["value"] == 1.0


def test_a_share_of_none_or_all_keeps_a_wide_interval():
    low, high = table.share_interval([False, False, False], 0.95)
    assert low == 0.0 and 0.5 < high < 0.6  # Wilson: 0 of 3 leaves up to 0.56
    low, high = table.share_interval([True] * 12, 0.95)
    assert 0.7 < low < 0.8 and high == pytest.approx(1.0)
