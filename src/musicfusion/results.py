"""Results: per-method metrics and plots from predictions, and the summary across methods."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from musicfusion.evaluate import (classification_metrics, markdown_table, plot_confusion_matrix,
                                  plot_method_comparison, summary_table)
from musicfusion.io import write_csv, write_json, write_text


def evaluate_method(method: str, predictions_path: str | Path, tasks: list[str], metrics_out: str | Path,
                    confusion_paths: list[str | Path]) -> dict:
    """Metrics on the validation and test splits per task; a test confusion matrix per task."""
    predictions = pd.read_csv(predictions_path, dtype=str, keep_default_na=False)
    metrics: dict = {}
    for task, png in zip(tasks, confusion_paths):
        rows = predictions[predictions["task"] == task]
        if rows.empty:
            raise ValueError(f"{predictions_path}: no predictions for task {task!r}")
        metrics[task] = {}
        for split in ("validation", "test"):
            part = rows[rows["split"] == split]
            metrics[task][split] = classification_metrics(part["true"].to_numpy(), part["predicted"].to_numpy())
            metrics[task][split]["n_clips"] = int(len(part))
        test = rows[rows["split"] == "test"]
        labels = sorted(set(test["true"]) | set(test["predicted"]))
        plot_confusion_matrix(test["true"].to_numpy(), test["predicted"].to_numpy(), labels, png,
                              f"{method} - {task} (test)")
    write_json(metrics_out, metrics)
    return metrics


def summarize(metric_paths: list[str | Path], methods: dict, metric: str, csv_out: str | Path,
              markdown_out: str | Path, json_out: str | Path, plot_out: str | Path) -> pd.DataFrame:
    """One row per method and task (test split); the same as Markdown, JSON for DVC, and a chart."""
    rows, nested = [], {}
    for path in metric_paths:
        method = Path(path).parent.name
        with open(path, encoding="utf-8") as fh:
            per_task = json.load(fh)
        nested[method] = {}
        for task, splits in per_task.items():
            test = {k: v for k, v in splits["test"].items() if k != "n_clips"}
            rows.append({"method": method, "task": task,
                         "modalities": "+".join(methods[method]["modalities"]), **test})
            nested[method][task] = test
    table = summary_table(rows)
    write_csv(csv_out, table)
    write_text(markdown_out, markdown_table(table) + "\n")
    write_json(json_out, nested)
    plot_method_comparison(table, metric, plot_out)
    return table
