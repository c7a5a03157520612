"""Style transfer's table: Brunner et al.'s success rate, shifts averaged per clip, corrected intervals."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from musicfusion.evaluation import plots
from musicfusion.evaluation.style_transfer import ALL, heatmap_values, summarize


def row(clip, target, before, after, p_target=(0.1, 0.6), p_source=(0.7, 0.2), judge="audio_only",
        operator_set="all", kind="style", source_style="chorale", task="style", source_label=None):
    return {"clip_id": clip, "source_style": source_style, "fold": 0, "kind": kind, "operator_set": operator_set,
            "target": target, "judge": judge, "task": task, "source_label": source_label or source_style,
            "target_label": target, "p_source_before": p_source[0], "p_source_after": p_source[1],
            "p_target_before": p_target[0], "p_target_after": p_target[1], "predicted_before": before,
            "predicted_after": after, "chroma_similarity": 0.5, "melody_kept": 0.75, "query_rank": 3.0,
            "query_rank_before": 1.0, "gallery_size": 10}


def pooled(table, **keys):
    rows = table[(table["source_style"] == ALL) & (table["target"] == ALL)]
    for key, value in keys.items():
        rows = rows[rows[key] == value]
    assert len(rows) == 1
    return rows.iloc[0]


def test_success_counts_only_transfers_whose_source_was_predicted_before():
    rows = pd.DataFrame([
        row("a", "reel", "chorale", "reel"),  # success
        row("b", "reel", "chorale", "chorale"),  # eligible, failed
        row("c", "reel", "mass", "reel"),  # source not predicted before: not counted
        row("d", "reel", "chorale", "mass")])  # eligible, failed
    result = pooled(summarize(rows, 0.95), judge="audio_only")
    assert result["n_eligible"] == 3 and result["success_rate"] == pytest.approx(1 / 3)
    assert result["changed_rate"] == pytest.approx(3 / 4)


def test_a_clip_is_the_unit_of_the_interval_and_the_level_is_bonferroni_corrected():
    shifts = {"a": [0.1, 0.3], "b": [0.5, 0.5], "c": [0.0, 0.2]}  # two targets per clip
    rows = pd.DataFrame([row(clip, target, "chorale", "reel", p_target=(0.0, shift))
                         for clip, values in shifts.items() for target, shift in zip(("reel", "mass"), values)]
                        + [row("a", "reel", "chorale", "reel", judge="video_only")])
    table = summarize(rows, 0.95)
    result = pooled(table, judge="audio_only")
    per_clip = np.array([0.2, 0.5, 0.1])
    assert result["n_clips"] == 3 and result["n_transfers"] == 6
    assert result["delta_p_target"] == pytest.approx(per_clip.mean(), abs=1e-6)  # rounded to 6 decimals
    family = int(result["family_size"])
    assert family == 1  # video_only's row has one clip: no interval, not in the family
    half = sps.t.ppf(1 - 0.05 / family / 2, 2) * per_clip.std(ddof=1) / np.sqrt(3)
    assert result["delta_p_target_ci_low"] == pytest.approx(per_clip.mean() - half, abs=1e-6)
    assert np.isnan(pooled(table, judge="video_only")["delta_p_target_ci_low"])
    # Per source and target: each target's row has its own three clips.
    per_pair = table[(table["target"] == "reel") & (table["judge"] == "audio_only")].iloc[0]
    assert per_pair["n_clips"] == 3 and per_pair["delta_p_target"] == pytest.approx(0.2, abs=1e-6)


def test_a_control_that_keeps_the_label_has_no_success_rate_but_a_shift():
    rows = pd.DataFrame([row(c, "chorale", "chorale", "chorale", kind="tempo", operator_set="tempo",
                             p_source=(0.6, 0.5), p_target=(0.6, 0.5)) for c in "ab"])
    result = pooled(summarize(rows, 0.95), operator_set="tempo")
    assert np.isnan(result["success_rate"]) and result["delta_p_source"] == pytest.approx(-0.1)


def test_the_heat_map_panels_hold_the_pooled_success_and_own_style_shift():
    rows = pd.DataFrame([row("a", "reel", "chorale", "reel"), row("b", "reel", "chorale", "chorale"),
                         row("a", "reel", "chorale", "chorale", judge="video_only"),
                         row("a", "chorale", "chorale", "chorale", kind="tempo", operator_set="tempo",
                             p_source=(0.6, 0.4))])
    success, shift = heatmap_values(summarize(rows, 0.95))
    assert success.loc["all", "audio_only"] == pytest.approx(0.5) and success.loc["all", "video_only"] == 0
    assert "tempo" not in success.index and shift.loc["tempo", "audio_only"] == pytest.approx(-0.2)
    figure = plots.style_transfer(success, shift)
    assert len(figure.axes) == 4  # two panels and their colour bars
