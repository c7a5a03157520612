"""Plots: every figure is built from data and written as a PNG, atomically."""

from __future__ import annotations

import matplotlib.image
import numpy as np
import pandas as pd
import pytest

from musicfusion.evaluation import plots

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
SUMMARY = pd.DataFrame({"method": ["audio_only", "audio_only", "late_fusion", "late_fusion"],
                        "task": ["style", "instrument", "style", "instrument"],
                        "f1_macro": [0.5, 0.9, 0.8, 0.95]})


def save_and_check(fig, path):
    plots.save_png(fig, path)
    assert path.read_bytes()[:8] == PNG_SIGNATURE
    image = matplotlib.image.imread(path)
    assert image.ndim == 3 and image.shape[0] > 100 and image.shape[1] > 100
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temporary file left
    return image


def test_confusion_matrix_png(tmp_path):
    labels = ["chorale", "renaissance_mass", "fiddle_tune"]
    fig = plots.confusion_matrix(["chorale", "fiddle_tune", "fiddle_tune"], ["chorale", "chorale", "fiddle_tune"],
                                 labels, "audio_only: style")
    save_and_check(fig, tmp_path / "confusion.png")
    assert fig.axes[0].get_title() == "audio_only: style"
    assert [t.get_text() for t in fig.axes[0].get_yticklabels()] == labels


def test_method_comparison_has_one_bar_per_method_and_task(tmp_path):
    fig = plots.method_comparison(SUMMARY, "f1_macro")
    save_and_check(fig, tmp_path / "f1.png")
    heights = sorted(round(p.get_height(), 3) for p in fig.axes[0].patches)
    assert heights == sorted(SUMMARY["f1_macro"])
    with pytest.raises(ValueError, match="auc"):
        plots.method_comparison(SUMMARY, "auc")


def test_fusion_gain_draws_gains_and_per_class_heat_map(tmp_path):
    table = pd.DataFrame({"task": ["style"] * 2, "method": ["late_fusion", "stacking"], "baseline": "text_only",
                          "gain": [0.03, -0.01], "gain_ci_low": [0.01, -0.04], "gain_ci_high": [0.05, 0.02],
                          "significant": [True, False]})
    per_class = pd.DataFrame({"task": "style", "method": ["late_fusion"] * 2 + ["stacking"] * 2,
                              "class": ["a", "b", "a", "b"], "gain": [0.1, -0.04, 0.0, -0.02]})
    fig = plots.fusion_gain(table, per_class)
    save_and_check(fig, tmp_path / "gain.png")
    bars = [p for p in fig.axes[0].patches]
    assert [round(b.get_width(), 3) for b in bars] == [0.03, -0.01]
    np.testing.assert_allclose(fig.axes[1].images[0].get_array(), [[0.1, -0.04], [0.0, -0.02]])


def test_fusion_gain_without_fusion_methods_says_so(tmp_path):
    empty = pd.DataFrame(columns=["task", "method", "baseline", "gain", "gain_ci_low", "gain_ci_high",
                                  "significant"])
    fig = plots.fusion_gain(empty, pd.DataFrame(columns=["task", "method", "class", "gain"]))
    save_and_check(fig, tmp_path / "gain.png")
    assert [t.get_text() for t in fig.texts] == ["no fusion method to compare"]


def test_recall_at_k_has_a_panel_per_pair_with_chance(tmp_path):
    panels = [("video -> audio", {"ridge": np.array([0.25, 0.75, 0.75, 1.0])}, 4),
              ("text -> audio", {"ridge": np.array([0.5, 0.5, 1.0, 1.0]), "cca": np.array([0.0, 0.5, 0.5, 1.0])}, 4)]
    fig = plots.recall_at_k(panels)
    save_and_check(fig, tmp_path / "recall.png")
    visible = [ax for ax in fig.axes if ax.get_visible()]
    assert [ax.get_title() for ax in visible] == ["video -> audio", "text -> audio"]
    chance = visible[0].lines[-1]
    np.testing.assert_allclose(chance.get_ydata(), [0.25, 0.5, 0.75, 1.0])
    assert len(visible[1].lines) == 3  # two methods and chance
    with pytest.raises(ValueError, match="no recall curves"):
        plots.recall_at_k([])


def test_the_same_figure_gives_the_same_bytes(tmp_path):
    plots.save_png(plots.method_comparison(SUMMARY, "f1_macro"), tmp_path / "a" / "f.png")
    plots.save_png(plots.method_comparison(SUMMARY, "f1_macro"), tmp_path / "b" / "f.png")
    assert (tmp_path / "a" / "f.png").read_bytes() == (tmp_path / "b" / "f.png").read_bytes()


def test_reliability_diagram_has_a_line_per_table_and_the_diagonal(tmp_path):
    from musicfusion.evaluation.calibration import reliability_table

    proba = np.array([[0.9, 0.1], [0.7, 0.3], [0.4, 0.6], [0.2, 0.8]])
    tables = {"video / style": reliability_table(["a", "b", "b", "a"], proba, ["a", "b"], n_bins=4),
              "audio / style": reliability_table(["a", "a", "b", "b"], proba, ["a", "b"], n_bins=4)}
    fig = plots.reliability_diagram(tables, "assist: style")
    save_and_check(fig, tmp_path / "reliability.png")
    ax = fig.axes[0]
    assert ax.get_title() == "assist: style"
    assert len(ax.lines) == 3  # two tables and the diagonal
    assert [t.get_text() for t in ax.get_legend().get_texts()] == list(tables)
    # Only the non-empty bins are drawn ([0.5, 0.75): 0.6, 0.7; [0.75, 1]: 0.8, 0.9), accuracy on y.
    np.testing.assert_allclose(ax.lines[0].get_xdata(), [0.65, 0.85])
    np.testing.assert_allclose(ax.lines[0].get_ydata(), [0.5, 0.5])
    np.testing.assert_allclose(ax.lines[1].get_ydata(), [1.0, 1.0])
    diagonal = ax.lines[-1]
    assert diagonal.get_linestyle() == "--"
    np.testing.assert_allclose(diagonal.get_xdata(), diagonal.get_ydata())
    assert ax.get_xlim() == (0.0, 1.0) and ax.get_ylim() == (0.0, 1.0)
    with pytest.raises(ValueError, match="no reliability tables"):
        plots.reliability_diagram({}, "empty")
