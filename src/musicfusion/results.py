"""Results: per-method metrics and plots from predictions, and the summary across methods.

Every number is a mean over repeats (repeated stratified splits) with a Student-t confidence
interval beside it; the per-repeat values are kept in each method's metrics.json.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from musicfusion.evaluate import (SUMMARY_COLUMNS, classification_metrics, markdown_table,
                                  plot_confusion_matrix, plot_method_comparison, summary_table)
from musicfusion.io import write_csv, write_json, write_text
from musicfusion.stats import mean_ci


def evaluate_method(method: str, predictions_path: str | Path, tasks: list[str], metrics_out: str | Path,
                    confusion_paths: list[str | Path], confidence: float) -> dict:
    """Per task: validation and test metrics of every repeat, their mean and confidence interval,
    and a confusion matrix of the test predictions pooled over repeats."""
    predictions = pd.read_csv(predictions_path, dtype=str, keep_default_na=False)
    metrics: dict = {}
    for task, png in zip(tasks, confusion_paths):
        rows = predictions[predictions["task"] == task]
        if rows.empty:
            raise ValueError(f"{predictions_path}: no predictions for task {task!r}")
        entry: dict = {"n_repeats": int(rows["repeat"].nunique())}
        for split in ("validation", "test"):
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
        plot_confusion_matrix(test["true"].to_numpy(), test["predicted"].to_numpy(), labels, png,
                              f"{method} - {task} (test, {entry['n_repeats']} repeats pooled)")
    write_json(metrics_out, metrics)
    return metrics


def readable_summary(table: pd.DataFrame) -> pd.DataFrame:
    """Each metric as 'mean [ci_low, ci_high]', for Markdown and the README."""
    out = table[["method", "task", "modalities"]].copy()
    for name in SUMMARY_COLUMNS[3:]:
        low, high = table.get(f"{name}_ci_low"), table.get(f"{name}_ci_high")
        out[name] = [f"{m:.3f}" if low is None or pd.isna(lo) else f"{m:.3f} [{lo:.3f}, {hi:.3f}]"
                     for m, lo, hi in zip(table[name], low if low is not None else table[name],
                                          high if high is not None else table[name])]
    if "n_repeats" in table:
        out["repeats"] = table["n_repeats"]
    return out


def summarize(metric_paths: list[str | Path], methods: dict, metric: str, csv_out: str | Path,
              markdown_out: str | Path, json_out: str | Path, plot_out: str | Path) -> pd.DataFrame:
    """One row per method and task (test split); the same as Markdown, JSON for DVC, and a chart."""
    rows, nested = [], {}
    for path in metric_paths:
        method = Path(path).parent.name
        with open(path, encoding="utf-8") as fh:
            per_task = json.load(fh)
        nested[method] = {}
        for task, entry in per_task.items():
            test = dict(entry["test"])
            # Every metric lies in [0, 1]; a t-interval over few repeats can step outside it.
            ci = {f"{name}_ci_{side}": round(float(np.clip(bounds[i], 0.0, 1.0)), 4)
                  for name, bounds in entry["test_ci"].items() for i, side in enumerate(("low", "high"))}
            rows.append({"method": method, "task": task,
                         "modalities": "+".join(methods[method]["modalities"]), **test, **ci,
                         "n_repeats": entry["n_repeats"], "n_test_clips": entry["n_test_clips"]})
            nested[method][task] = {**test, **ci}
    table = summary_table(rows)
    write_csv(csv_out, table)
    write_text(markdown_out, markdown_table(readable_summary(table)) + "\n")
    write_json(json_out, nested)
    plot_method_comparison(table, metric, plot_out)
    return table


def describe_dataset(clips_path: str | Path, out_path: str | Path) -> pd.DataFrame:
    """Clips per label and split (repeat 0, after preprocessing): the dataset at a glance."""
    clips = pd.read_csv(clips_path, dtype=str, keep_default_na=False)
    parts = []
    for task in ("style", "instrument"):
        counts = pd.crosstab(clips[task], clips["split"]).reindex(columns=["train", "validation", "test"],
                                                                  fill_value=0)
        counts["total"] = counts.sum(axis=1)
        counts = counts.reset_index().rename(columns={task: "label"})
        counts.insert(0, "task", task)
        parts.append(counts)
    table = pd.concat(parts, ignore_index=True)
    write_csv(out_path, table)
    return table
