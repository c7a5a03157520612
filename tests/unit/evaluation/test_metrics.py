"""Metrics: the one way every prediction is scored."""

from __future__ import annotations

import warnings

import pytest

from musicfusion.evaluation.metrics import METRICS, classification_metrics, score


def test_metrics_match_hand_computed_values():
    m = classification_metrics(["a", "a", "b", "b"], ["a", "b", "b", "b"])
    assert m == pytest.approx({
        "accuracy": 3 / 4,
        "precision_macro": (1 + 2 / 3) / 2,  # a: 1/1, b: 2/3
        "recall_macro": (1 / 2 + 1) / 2,  # a: 1/2, b: 2/2
        "f1_macro": (2 / 3 + 4 / 5) / 2,  # a: 2*1*.5/1.5, b: 2*(2/3)*1/(5/3)
    })
    assert list(m) == list(METRICS)
    assert all(type(v) is float for v in m.values())


def test_never_predicted_class_counts_as_zero_without_warning():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        m = classification_metrics(["a", "b", "c"], ["a", "a", "a"])
    assert m["precision_macro"] == pytest.approx((1 / 3) / 3)
    assert m["recall_macro"] == pytest.approx(1 / 3)
    with pytest.raises(ValueError, match="auc"):
        score("auc", ["a"], ["a"])


def test_estimators_load_without_the_plotting_stack():
    """Fitting a method needs metrics, never matplotlib (the plots module is for the scripts)."""
    import subprocess
    import sys

    code = ("import sys, musicfusion.models.fusion, musicfusion.crossmodal.mappings, musicfusion.models.train; "
            "print(any(m == 'matplotlib' or m.startswith('matplotlib.') for m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
