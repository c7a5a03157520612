"""Metrics, summary tables and figures."""

from __future__ import annotations

import warnings

import matplotlib.image
import numpy as np
import pytest

from musicfusion.evaluate import (SUMMARY_COLUMNS, classification_metrics, markdown_table,
                                  plot_confusion_matrix, plot_method_comparison, score,
                                  summary_table)

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def assert_png(path):
    assert path.read_bytes()[:8] == PNG_SIGNATURE
    image = matplotlib.image.imread(path)
    assert image.ndim == 3 and image.shape[0] > 100 and image.shape[1] > 100
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temporary file left


def test_metrics_match_hand_computed_values():
    m = classification_metrics(["a", "a", "b", "b"], ["a", "b", "b", "b"])
    assert m == pytest.approx({
        "accuracy": 3 / 4,
        "precision_macro": (1 + 2 / 3) / 2,  # a: 1/1, b: 2/3
        "recall_macro": (1 / 2 + 1) / 2,  # a: 1/2, b: 2/2
        "f1_macro": (2 / 3 + 4 / 5) / 2,  # a: 2*1*.5/1.5, b: 2*(2/3)*1/(5/3)
    })
    assert list(m) == SUMMARY_COLUMNS[3:]
    assert all(type(v) is float for v in m.values())


def test_never_predicted_class_counts_as_zero_without_warning():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        m = classification_metrics(["a", "b", "c"], ["a", "a", "a"])
    assert m["precision_macro"] == pytest.approx((1 / 3) / 3)
    assert m["recall_macro"] == pytest.approx(1 / 3)
    with pytest.raises(ValueError, match="auc"):
        score("auc", ["a"], ["a"])


def test_confusion_matrix_png(tmp_path):
    path = tmp_path / "confusion.png"
    labels = ["chorale", "renaissance_mass", "fiddle_tune"]
    plot_confusion_matrix(["chorale", "fiddle_tune", "fiddle_tune"],
                          ["chorale", "chorale", "fiddle_tune"], labels, path, "audio_only: style")
    assert_png(path)


ROWS = [
    {"method": "late_fusion", "task": "style", "modalities": ["audio", "video", "text"],
     "accuracy": 0.912345, "precision_macro": 0.9, "recall_macro": 0.91, "f1_macro": 0.905,
     "seconds": 1.5},
    {"method": "audio_only", "task": "style", "modalities": ["audio"], "accuracy": 0.58,
     "precision_macro": 0.57, "recall_macro": 0.58, "f1_macro": 0.575, "seconds": 0.2},
    {"method": "audio_only", "task": "instrument", "modalities": ["audio"], "accuracy": 0.99,
     "precision_macro": 0.99, "recall_macro": 0.99, "f1_macro": 0.99, "seconds": 0.2},
]


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
    assert "| late_fusion | style | audio+video+text | 0.9123 |" in lines[4]


def test_method_comparison_png(tmp_path):
    path = tmp_path / "f1_macro.png"
    plot_method_comparison(summary_table(ROWS), "f1_macro", path)
    assert_png(path)
    with pytest.raises(ValueError, match="auc"):
        plot_method_comparison(summary_table(ROWS), "auc", tmp_path / "x.png")
