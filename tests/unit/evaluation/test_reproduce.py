"""Reproduce: the comparison with a committed reference, and its readable diff."""

from __future__ import annotations

import pandas as pd

from musicfusion.evaluation.reproduce import compare_tables, reproduce, update_reference

ROWS = [{"method": "audio_only", "task": "style", "modalities": "audio", "accuracy": 0.5, "recall_macro": 0.25},
        {"method": "late_fusion", "task": "style", "modalities": "audio+text", "accuracy": 0.75,
         "recall_macro": 0.5}]


def _write(path, rows):
    path.parent.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def test_identical_tables_reproduce(tmp_path):
    fresh = _write(tmp_path / "results/summary.csv", ROWS)
    update_reference([fresh], tmp_path / "reference/tiny")
    assert reproduce([fresh], tmp_path / "reference/tiny", 1e-4) == []


def test_a_moved_metric_is_named_with_both_values(tmp_path):
    fresh = _write(tmp_path / "results/summary.csv", ROWS)
    edited = [dict(r) for r in ROWS]
    edited[1]["recall_macro"] = 0.51
    reference = _write(tmp_path / "reference/summary.csv", edited)
    problems = compare_tables(fresh, reference, 1e-4)
    assert len(problems) == 1
    assert "late_fusion/style recall_macro" in problems[0]
    assert "reference 0.51" in problems[0] and "now 0.5" in problems[0]
    assert compare_tables(fresh, reference, 0.02) == []  # within a looser tolerance


def test_missing_and_new_rows_and_missing_reference_are_reported(tmp_path):
    fresh = _write(tmp_path / "results/summary.csv", ROWS[:1])
    reference = _write(tmp_path / "reference/summary.csv", ROWS[1:])
    problems = compare_tables(fresh, reference, 1e-4)
    assert any("late_fusion/style is in the reference but not in the results" in p for p in problems)
    assert any("audio_only/style is new" in p for p in problems)
    assert "no reference table" in reproduce([fresh], tmp_path / "nowhere", 1e-4)[0]
