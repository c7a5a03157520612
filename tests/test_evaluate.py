"""Evaluate: per-method metrics over folds, the summary table and its readable forms."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from musicfusion.evaluate import (SUMMARY_COLUMNS, evaluate_method, method_rows, readable_summary, summarize,
                                  summary_row, summary_table)
from musicfusion.io import markdown_table
from musicfusion.metrics import METRICS
from musicfusion.stats import corrected_resampled_t

ROWS = [
    {"method": "late_fusion", "task": "style", "kind": "fusion", "modalities": ["audio", "video", "text"],
     "accuracy": 0.912345, "precision_macro": 0.9, "recall_macro": 0.91, "f1_macro": 0.905,
     "seconds": 1.5},
    {"method": "audio_only", "task": "style", "kind": "single", "modalities": ["audio"], "accuracy": 0.58,
     "precision_macro": 0.57, "recall_macro": 0.58, "f1_macro": 0.575, "seconds": 0.2},
    {"method": "audio_only", "task": "instrument", "kind": "single", "modalities": ["audio"], "accuracy": 0.99,
     "precision_macro": 0.99, "recall_macro": 0.99, "f1_macro": 0.99, "seconds": 0.2},
]
CONFIDENCE = 0.95
N_TRAIN = 8
AUDIO = {"type": "single_modality", "modalities": ["audio"]}


def predictions(correct_by_fold: list[int], n: int = 4) -> pd.DataFrame:
    """Predictions of one task over folds, as predictions.csv reads: fold f gets its first
    ``correct_by_fold[f]`` test clips right (validation is always right). Each fold tests its
    own clips; two folds make a repetition."""
    rows = []
    for fold, correct in enumerate(correct_by_fold):
        for split in ("validation", "test"):
            for i in range(n):
                true = "ab"[i % 2]
                wrong = split == "test" and i >= correct
                rows.append({"repetition": str(fold // 2), "fold": str(fold), "clip_id": f"f{fold % 2}c{i}",
                             "split": split, "task": "style", "true": true,
                             "predicted": ("ba"[i % 2] if wrong else true), "confidence": "0.9",
                             "n_train": str(N_TRAIN)})
    return pd.DataFrame(rows)


def test_evaluate_method_gives_per_fold_metrics_with_a_corrected_interval():
    metrics, figures = evaluate_method("m", predictions([4, 2, 4]), ["style"], CONFIDENCE)
    entry = metrics["style"]
    assert entry["n_folds"] == 3 and entry["n_repetitions"] == 2 and entry["n_test_clips"] == 8
    assert entry["test_by_fold"]["accuracy"] == [1.0, 0.5, 1.0]
    assert entry["test"]["accuracy"] == pytest.approx(2.5 / 3)
    assert entry["test_train_ratio"] == pytest.approx(4 / N_TRAIN)
    low, high = entry["test_ci"]["accuracy"]
    expected = corrected_resampled_t([1.0, 0.5, 1.0], 4 / N_TRAIN, CONFIDENCE)
    assert (low, high) == pytest.approx((expected["ci_low"], expected["ci_high"]))
    assert low < entry["test"]["accuracy"] < high and high > 1.0  # the raw interval, unclipped
    plain = corrected_resampled_t([1.0, 0.5, 1.0], 0.0, CONFIDENCE)
    assert high - low > plain["ci_high"] - plain["ci_low"]  # wider than the uncorrected t
    assert entry["validation"] == {name: 1.0 for name in METRICS}
    assert isinstance(figures["style"], Figure)
    with pytest.raises(ValueError, match="instrument"):
        evaluate_method("m", predictions([4]), ["style", "instrument"], CONFIDENCE)


def test_summary_row_clips_and_rounds_the_interval():
    metrics, _ = evaluate_method("m", predictions([4, 2, 4]), ["style"], CONFIDENCE)
    row = summary_row("m", "style", {"type": "early_fusion", "modalities": ["audio", "text"]}, metrics["style"])
    assert row["modalities"] == "audio+text" and row["n_folds"] == 3 and row["kind"] == "fusion"
    assert row["validation_accuracy"] == 1.0
    assert row["accuracy_ci_high"] == 1.0  # clipped to [0, 1]
    assert row["accuracy_ci_low"] == 0.0  # the corrected interval reaches below 0: clipped too
    assert row["f1_macro_ci_high"] == round(min(1.0, metrics["style"]["test_ci"]["f1_macro"][1]), 4)
    rows = method_rows("m", AUDIO, metrics)
    assert rows.loc[0, "kind"] == "single"
    assert method_rows("m", {"type": "control", "modalities": ["audio"]}, metrics).loc[0, "kind"] == "control"
    assert rows.loc[0, "accuracy"] == round(2.5 / 3, 4)


def test_summary_table_orders_sorts_and_rounds():
    df = summary_table(ROWS)
    assert list(df.columns) == SUMMARY_COLUMNS + ["seconds"]
    assert list(zip(df["task"], df["method"])) == [
        ("instrument", "audio_only"), ("style", "audio_only"), ("style", "late_fusion")]
    assert df.loc[2, "accuracy"] == 0.9123
    assert df.loc[2, "modalities"] == "audio+video+text"
    with pytest.raises(ValueError, match="f1_macro"):
        summary_table([{k: v for k, v in ROWS[0].items() if k != "f1_macro"}])


def test_markdown_table():
    df = summary_table(ROWS)
    lines = markdown_table(df).splitlines()
    assert len(lines) == 2 + len(df)
    assert lines[0] == "| " + " | ".join(df.columns) + " |"
    assert set(lines[1].replace("|", "").split()) <= {"---", "---:"}
    assert all(line.startswith("| ") and line.endswith(" |") for line in lines)
    assert {line.count("|") for line in lines} == {len(df.columns) + 1}
    assert "| late_fusion | style | fusion | audio+video+text | 0.9123 |" in lines[4]


def test_summarize_builds_table_readable_form_metrics_and_chart():
    good, _ = evaluate_method("good", predictions([4, 4, 4]), ["style"], CONFIDENCE)
    half, _ = evaluate_method("half", predictions([2, 2, 2]), ["style"], CONFIDENCE)
    methods = {"good": AUDIO, "half": {"type": "early_fusion", "modalities": ["audio", "video"]}}
    summary = summarize({"good": good, "half": half}, methods, "recall_macro")
    table = summary.table.set_index("method")
    assert table.loc["good", "recall_macro"] == 1.0 and table.loc["half", "recall_macro"] == 0.5
    assert table.loc["half", "modalities"] == "audio+video" and table.loc["half", "n_test_clips"] == 8
    # Zero spread over folds: the interval collapses onto the mean.
    assert table.loc["half", "recall_macro_ci_low"] == table.loc["half", "recall_macro_ci_high"] == 0.5
    assert summary.readable.set_index("method").loc["half", "recall_macro"] == "0.500 [0.500, 0.500]"
    assert set(summary.metrics["half"]["style"]) == set(METRICS) | {
        f"{m}_ci_{side}" for m in METRICS for side in ("low", "high")}
    assert isinstance(summary.figure, Figure)


def test_readable_summary_without_intervals_shows_the_mean_only():
    out = readable_summary(summary_table(ROWS[:1]))
    assert out.loc[0, "accuracy"] == "0.912" and "folds" not in out
    assert np.all(out.columns[:4] == ["method", "task", "kind", "modalities"])
