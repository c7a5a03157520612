"""Reproduce: compare fresh result tables with a committed reference, within a tolerance."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd

# Columns that identify a row in each result table; every other numeric column is compared.
KEYS = {"summary.csv": ["method", "task"], "significance.csv": ["task", "comparison", "method"],
        "transfer.csv": ["source", "target", "method"],
        "robustness.csv": ["method", "task", "perturbation", "modality", "level"],
        "paper_comparison.csv": ["learner"],
        "style_transfer.csv": ["kind", "operator_set", "judge", "task", "source_style", "target"],
        "transcription.csv": ["group_by", "group"], "assist.csv": ["part", "task", "query", "metric"]}


def compare_tables(fresh_path: str | Path, reference_path: str | Path, tolerance: float) -> list[str]:
    """Readable differences between two result tables; empty when they agree."""
    name = Path(fresh_path).name
    keys = KEYS[name]
    fresh = pd.read_csv(fresh_path).set_index(keys).sort_index()
    reference = pd.read_csv(reference_path).set_index(keys).sort_index()
    problems = []

    def label(row) -> str:  # an index of one key gives plain values, of several tuples
        return "/".join(map(str, row if isinstance(row, tuple) else (row,)))

    for row in sorted(set(reference.index) - set(fresh.index)):
        problems.append(f"{name}: row {label(row)} is in the reference but not in the results")
    for row in sorted(set(fresh.index) - set(reference.index)):
        problems.append(f"{name}: row {label(row)} is new (not in the reference)")
    for column in sorted(set(reference.columns) - set(fresh.columns)):
        problems.append(f"{name}: column {column} is in the reference but not in the results")
    common = sorted(set(fresh.index) & set(reference.index))
    numeric = [c for c in reference.columns if c in fresh.columns and pd.api.types.is_numeric_dtype(reference[c])]
    for row in common:
        for column in numeric:
            want, got = reference.at[row, column], fresh.at[row, column]
            if pd.isna(want) and pd.isna(got):
                continue
            if pd.isna(want) or pd.isna(got) or abs(float(got) - float(want)) > tolerance:
                delta = abs(float(got) - float(want)) if not (pd.isna(want) or pd.isna(got)) else np.nan
                problems.append(f"{name}: {label(row)} {column}: reference {want}, now {got} "
                                f"(|difference| {delta:.6g} > tolerance {tolerance})")
    return problems


def reproduce(fresh_paths: list[str | Path], reference_dir: str | Path, tolerance: float) -> list[str]:
    problems = []
    for fresh in fresh_paths:
        reference = Path(reference_dir) / Path(fresh).name
        if not reference.is_file():
            problems.append(f"{reference}: no reference table; create one with `snakemake update_reference`")
            continue
        problems += compare_tables(fresh, reference, tolerance)
    return problems


def update_reference(fresh_paths: list[str | Path], reference_dir: str | Path) -> None:
    Path(reference_dir).mkdir(parents=True, exist_ok=True)
    for fresh in fresh_paths:
        shutil.copyfile(fresh, Path(reference_dir) / Path(fresh).name)
