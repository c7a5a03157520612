"""Evaluate: per-method metrics from predictions, and the summary table across methods.

Every number is a mean over repeats (repeated stratified splits) with a Student-t confidence
interval beside it; the per-repeat values are kept in each method's metrics.json. Functions
return data and figures; the workflow's scripts write them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from musicfusion import plots
from musicfusion.metrics import DECIMALS, METRICS, classification_metrics
from musicfusion.stats import mean_ci

SUMMARY_COLUMNS = ["method", "task", "modalities", *METRICS]
EVALUATED_SPLITS = ("validation", "test")


def evaluate_method(method: str, predictions: pd.DataFrame, tasks: list[str],
                    confidence: float) -> tuple[dict, dict[str, Figure]]:
    """Per task: validation and test metrics of every repeat, their mean and confidence interval;
    and a confusion matrix of the test predictions pooled over repeats.

    ``predictions`` is the method's predictions.csv (musicfusion.train). Returns the content of
    the method's metrics.json and one figure per task.
    """
    metrics: dict = {}
    figures: dict[str, Figure] = {}
    for task in tasks:
        rows = predictions[predictions["task"] == task]
        if rows.empty:
            raise ValueError(f"{method}: no predictions for task {task!r}")
        entry: dict = {"n_repeats": int(rows["repeat"].nunique())}
        for split in EVALUATED_SPLITS:
            part = rows[rows["split"] == split]
            by_repeat = [classification_metrics(g["true"].to_numpy(), g["predicted"].to_numpy())
                         for _, g in sorted(part.groupby("repeat"), key=lambda kv: int(kv[0]))]
            names = list(by_repeat[0])
            stats = {name: mean_ci([m[name] for m in by_repeat], confidence) for name in names}
            entry[split] = {name: stats[name][0] for name in names}
            entry[f"{split}_ci"] = {name: [stats[name][1], stats[name][2]] for name in names}
            entry[f"{split}_by_repeat"] = {name: [m[name] for m in by_repeat] for name in names}
            entry[f"n_{split}_clips"] = int(len(part) // entry["n_repeats"])
        metrics[task] = entry
        test = rows[rows["split"] == "test"]
        labels = sorted(set(test["true"]) | set(test["predicted"]))
        figures[task] = plots.confusion_matrix(
            test["true"].to_numpy(), test["predicted"].to_numpy(), labels,
            f"{method} - {task} (test, {entry['n_repeats']} repeats pooled)")
    return metrics, figures


def summary_row(method: str, task: str, modalities: list[str], entry: dict) -> dict:
    """One row of the summary: test means, their confidence bounds, repeats and test clips.

    ``entry`` is one task of a method's metrics.json. The same row is logged to MLflow.
    """
    # Every metric lies in [0, 1]; a t-interval over few repeats can step outside it.
    ci = {f"{name}_ci_{side}": round(float(np.clip(bounds[i], 0.0, 1.0)), DECIMALS)
          for name, bounds in entry["test_ci"].items() for i, side in enumerate(("low", "high"))}
    return {"method": method, "task": task, "modalities": "+".join(modalities), **entry["test"], **ci,
            "n_repeats": entry["n_repeats"], "n_test_clips": entry["n_test_clips"]}


def summary_table(rows: list[dict]) -> pd.DataFrame:
    """One row per (method, task): SUMMARY_COLUMNS first, sorted by task then method.

    A ``modalities`` list is written as ``audio+video+text``; metrics are rounded to DECIMALS.
    Extra keys in the rows are kept as further columns after SUMMARY_COLUMNS.
    """
    df = pd.DataFrame(list(rows))
    missing = [c for c in SUMMARY_COLUMNS if c not in df.columns]
    if missing:
        raise ValueError(f"summary rows lack column(s) {missing}")
    df["modalities"] = df["modalities"].map(
        lambda v: "+".join(map(str, v)) if isinstance(v, (list, tuple)) else v)
    df = df[SUMMARY_COLUMNS + [c for c in df.columns if c not in SUMMARY_COLUMNS]]
    df = df.sort_values(["task", "method"], kind="mergesort").reset_index(drop=True)
    return df.round({name: DECIMALS for name in METRICS})


def method_rows(method: str, modalities: list[str], per_task: dict) -> pd.DataFrame:
    """One method's rows of results/summary.csv, from its metrics.json content."""
    return summary_table([summary_row(method, task, modalities, entry) for task, entry in per_task.items()])


def readable_summary(table: pd.DataFrame) -> pd.DataFrame:
    """Each metric as 'mean [ci_low, ci_high]', for Markdown and the README."""
    out = table[["method", "task", "modalities"]].copy()
    for name in METRICS:
        low, high = table.get(f"{name}_ci_low"), table.get(f"{name}_ci_high")
        out[name] = [f"{m:.3f}" if low is None or pd.isna(lo) else f"{m:.3f} [{lo:.3f}, {hi:.3f}]"
                     for m, lo, hi in zip(table[name], low if low is not None else table[name],
                                          high if high is not None else table[name])]
    if "n_repeats" in table:
        out["repeats"] = table["n_repeats"]
    return out


@dataclass(frozen=True)
class Summary:
    """The results across methods: the table, its readable form, DVC's metrics, a chart."""

    table: pd.DataFrame  # results/summary.csv
    readable: pd.DataFrame  # results/summary.md
    metrics: dict  # results/metrics.json: method -> task -> test means and bounds
    figure: Figure  # results/method_comparison.png


def summarize(method_metrics: dict[str, dict], methods: dict, metric: str) -> Summary:
    """One row per method and task (test split) from each method's metrics.json content.

    ``method_metrics`` maps method name to its metrics.json; ``methods`` is params.yaml's
    ``methods`` (for their modalities); ``metric`` is the one the bar chart shows.
    """
    rows, nested = [], {}
    for method, per_task in method_metrics.items():
        nested[method] = {}
        for task, entry in per_task.items():
            row = summary_row(method, task, methods[method]["modalities"], entry)
            rows.append(row)
            nested[method][task] = {k: v for k, v in row.items()
                                    if k in METRICS or k.rsplit("_ci_", 1)[0] in METRICS}
    table = summary_table(rows)
    return Summary(table, readable_summary(table), nested, plots.method_comparison(table, metric))
