"""Evaluate: classification metrics, confusion matrices and the method-comparison summary.

Figures are drawn with matplotlib's object-oriented API on an Agg canvas (no pyplot state, no
display needed) and written atomically, so a failed job never leaves a half-written PNG.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from sklearn.metrics import (ConfusionMatrixDisplay, accuracy_score, f1_score, precision_score,
                             recall_score)

from musicfusion.io import atomic_path

# Every metric is computed the same way everywhere (reports and choices on the validation
# split); macro averages weigh each class equally, and a class never predicted counts as 0.
METRICS = {
    "accuracy": accuracy_score,
    "precision_macro": partial(precision_score, average="macro", zero_division=0),
    "recall_macro": partial(recall_score, average="macro", zero_division=0),
    "f1_macro": partial(f1_score, average="macro", zero_division=0),
}
SUMMARY_COLUMNS = ["method", "task", "modalities", *METRICS]

# Presentation only (not experiment settings).
DPI = 120
CONFUSION_SIZE_PER_LABEL = 0.7  # inches of figure per class, on each side
CONFUSION_MIN_SIZE = 4.5
XTICK_ROTATION = 45
BAR_SIZE_PER_METHOD = 1.1  # inches of figure width per method group
BAR_MIN_WIDTH = 6.0
BAR_HEIGHT = 4.5
BAR_GROUP_WIDTH = 0.8  # fraction of a group's slot filled by its bars


def score(metric: str, y_true, y_pred) -> float:
    """One metric of METRICS by name, as a Python float."""
    if metric not in METRICS:
        raise ValueError(f"unknown metric {metric!r}; known: {sorted(METRICS)}")
    return float(METRICS[metric](y_true, y_pred))


def classification_metrics(y_true, y_pred) -> dict[str, float]:
    """accuracy, precision_macro, recall_macro, f1_macro as Python floats."""
    return {name: score(name, y_true, y_pred) for name in METRICS}


def _save_png(fig: Figure, path: str | Path) -> None:
    with atomic_path(path, suffix=".png") as tmp:
        fig.savefig(tmp, format="png", dpi=DPI)


def _rotate_xticks(ax) -> None:
    for label in ax.get_xticklabels():
        label.set_rotation(XTICK_ROTATION)
        label.set_horizontalalignment("right")


def plot_confusion_matrix(y_true, y_pred, labels, path: str | Path, title: str) -> None:
    """Confusion matrix (rows: true class, columns: predicted) as a PNG at ``path``."""
    labels = list(labels)
    side = max(CONFUSION_MIN_SIZE, CONFUSION_SIZE_PER_LABEL * len(labels) + 2)
    fig = Figure(figsize=(side, side))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    ConfusionMatrixDisplay.from_predictions(y_true, y_pred, labels=labels, ax=ax, colorbar=False)
    ax.set_title(title)
    _rotate_xticks(ax)
    fig.tight_layout()
    _save_png(fig, path)


def summary_table(rows: list[dict]) -> pd.DataFrame:
    """One row per (method, task): SUMMARY_COLUMNS first, sorted by task then method.

    A ``modalities`` list is written as ``audio+video+text``; metrics are rounded to 4 decimals.
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
    return df.round({name: 4 for name in METRICS})


def _cell(value, float_format: str) -> str:
    if isinstance(value, (float, np.floating)):
        return "" if np.isnan(value) else format(value, float_format)
    return str(value).replace("|", "\\|").replace("\n", " ")


def markdown_table(df: pd.DataFrame, float_format: str = ".4f") -> str:
    """A GitHub pipe table of ``df`` (numeric columns right-aligned); no trailing newline."""
    header = [_cell(c, float_format) for c in df.columns]
    align = ["---:" if pd.api.types.is_numeric_dtype(df[c]) else "---" for c in df.columns]
    body = [[_cell(v, float_format) for v in row] for row in df.itertuples(index=False)]
    return "\n".join(f"| {' | '.join(cells)} |" for cells in [header, align, *body])


def plot_method_comparison(df: pd.DataFrame, metric: str, path: str | Path) -> None:
    """Grouped bar chart of ``metric``: one group per method, one bar (colour) per task."""
    if metric not in df.columns:
        raise ValueError(f"no column {metric!r} in the summary; have {list(df.columns)}")
    methods = list(pd.unique(df["method"]))
    tasks = list(pd.unique(df["task"]))
    # pivot refuses duplicate (method, task) pairs rather than silently picking one.
    values = df.pivot(index="method", columns="task", values=metric).reindex(
        index=methods, columns=tasks)
    fig = Figure(figsize=(max(BAR_MIN_WIDTH, BAR_SIZE_PER_METHOD * len(methods)), BAR_HEIGHT))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    x = np.arange(len(methods))
    width = BAR_GROUP_WIDTH / len(tasks)
    for i, task in enumerate(tasks):
        offset = (i - (len(tasks) - 1) / 2) * width
        ax.bar(x + offset, values[task].to_numpy(dtype=float), width, label=str(task))
    ax.set_xticks(x, [str(m) for m in methods])
    _rotate_xticks(ax)
    ax.set_ylim(0, 1)
    ax.set_ylabel(metric)
    ax.set_title(f"{metric} by method and task")
    ax.legend(title="task", loc="upper left", bbox_to_anchor=(1.01, 1.0))  # clear of the bars
    fig.tight_layout()
    _save_png(fig, path)
