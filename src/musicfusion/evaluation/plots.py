"""Plots: every figure of the workflow, in one style, and the one way they are written.

Figures are drawn with matplotlib's object-oriented API on an Agg canvas (no pyplot state, no
display needed). Functions here build and return a :class:`~matplotlib.figure.Figure` from data;
:func:`save_png` writes it atomically (a failed job never leaves a half-written PNG) and without
the library version in the file, so the same figure gives the same bytes.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from musicfusion.plumbing.files import atomic_path

# Presentation only (not experiment settings).
DPI = 110
XTICK_ROTATION = 45
CONFUSION_SIZE_PER_LABEL = 0.7  # inches of figure per class, on each side
CONFUSION_MIN_SIZE = 4.5
BAR_SIZE_PER_METHOD = 1.1  # inches of figure width per method group
BAR_MIN_WIDTH = 6.0
BAR_HEIGHT = 4.5
BAR_GROUP_WIDTH = 0.8  # fraction of a group's slot filled by its bars
GAIN_WIDTH_PER_TASK = 6.0
GAIN_HEIGHT = 8.0
GAIN_MIN_COLOUR_LIMIT = 0.05  # the per-class heat map spans at least +-5 points
GRID_COLUMNS = 3  # panels per row in the recall@k figure
PANEL_WIDTH = 5.5
PANEL_HEIGHT = 4.2
SIGNIFICANT_COLOUR, OTHER_COLOUR = "tab:green", "tab:grey"


def new_figure(width: float, height: float) -> Figure:
    """An empty figure of the house style (size in inches, constrained layout)."""
    fig = Figure(figsize=(width, height), dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def save_png(fig: Figure, path: str | Path) -> None:
    """Write ``fig`` as a PNG at ``path``, atomically."""
    with atomic_path(path, suffix=".png") as tmp:
        fig.savefig(tmp, format="png", dpi=DPI, metadata={"Software": None})


def _rotate_xticks(ax) -> None:
    for label in ax.get_xticklabels():
        label.set_rotation(XTICK_ROTATION)
        label.set_horizontalalignment("right")


def confusion_matrix(y_true, y_pred, labels, title: str) -> Figure:
    """Confusion matrix (rows: true class, columns: predicted)."""
    from sklearn.metrics import ConfusionMatrixDisplay

    labels = list(labels)
    side = max(CONFUSION_MIN_SIZE, CONFUSION_SIZE_PER_LABEL * len(labels) + 2)
    fig = new_figure(side, side)
    ax = fig.add_subplot()
    ConfusionMatrixDisplay.from_predictions(y_true, y_pred, labels=labels, ax=ax, colorbar=False)
    ax.set_title(title)
    _rotate_xticks(ax)
    return fig


def method_comparison(table: pd.DataFrame, metric: str) -> Figure:
    """Grouped bar chart of ``metric``: one group per method, one bar (colour) per task."""
    if metric not in table.columns:
        raise ValueError(f"no column {metric!r} in the summary; have {list(table.columns)}")
    methods = list(pd.unique(table["method"]))
    tasks = list(pd.unique(table["task"]))
    # pivot refuses duplicate (method, task) pairs rather than silently picking one.
    values = table.pivot(index="method", columns="task", values=metric).reindex(index=methods, columns=tasks)
    fig = new_figure(max(BAR_MIN_WIDTH, BAR_SIZE_PER_METHOD * len(methods)), BAR_HEIGHT)
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
    return fig


def fusion_gain(table: pd.DataFrame, per_class: pd.DataFrame) -> Figure:
    """Overall gain with its interval per method (top), per-class gains as a heat map (bottom)."""
    tasks = list(dict.fromkeys(table["task"]))
    if not tasks:  # no fusion method configured: say so rather than draw empty axes
        fig = new_figure(GAIN_WIDTH_PER_TASK, GAIN_HEIGHT / 4)
        fig.text(0.5, 0.5, "no fusion method to compare", ha="center", va="center")
        return fig
    fig = new_figure(GAIN_WIDTH_PER_TASK * len(tasks), GAIN_HEIGHT)
    axes = fig.subplots(2, len(tasks), squeeze=False)
    for col, task in enumerate(tasks):
        part = table[table["task"] == task]
        ax = axes[0][col]
        err = np.vstack([part["gain"] - part["gain_ci_low"], part["gain_ci_high"] - part["gain"]])
        colours = [SIGNIFICANT_COLOUR if s else OTHER_COLOUR for s in part["significant"]]
        ax.barh(part["method"], part["gain"], xerr=err, color=colours, capsize=3)
        ax.axvline(0, color="black", linewidth=0.8)
        ax.set_title(f"{task}: macro-recall gain over {part['baseline'].iloc[0]}\n(green: Holm-adjusted p < alpha)")
        ax.invert_yaxis()
        grid = per_class[per_class["task"] == task].pivot(index="method", columns="class", values="gain")
        grid = grid.loc[part["method"]]
        ax = axes[1][col]
        limit = max(GAIN_MIN_COLOUR_LIMIT, float(np.nanmax(np.abs(grid.to_numpy()))))
        image = ax.imshow(grid.to_numpy(), cmap="RdBu", vmin=-limit, vmax=limit, aspect="auto")
        ax.set_xticks(range(grid.shape[1]), grid.columns, rotation=XTICK_ROTATION, ha="right")
        ax.set_yticks(range(grid.shape[0]), grid.index)
        ax.set_title(f"{task}: recall gain per class")
        fig.colorbar(image, ax=ax, shrink=0.8)
    return fig


def recall_at_k(panels: list[tuple[str, dict[str, np.ndarray], int]]) -> Figure:
    """Recall@k against k: one panel per ``(title, {label: curve}, n_gallery)``, one line per
    label, and the chance diagonal min(k, n) / n."""
    if not panels:
        raise ValueError("no recall curves to draw")
    n_cols = min(GRID_COLUMNS, len(panels))
    n_rows = -(-len(panels) // n_cols)
    fig = new_figure(PANEL_WIDTH * n_cols, PANEL_HEIGHT * n_rows)
    axes = fig.subplots(n_rows, n_cols, squeeze=False).ravel()
    for ax, (title, curves, n_gallery) in zip(axes, panels):
        max_k = max((len(c) for c in curves.values()), default=1)
        for label, curve in curves.items():
            curve = np.asarray(curve, dtype=np.float64)
            ax.plot(np.arange(1, len(curve) + 1), curve, marker=".", markersize=3, label=label)
        ks = np.arange(1, max_k + 1)
        ax.plot(ks, np.minimum(ks, n_gallery) / n_gallery, linestyle="--", color="grey",
                label=f"chance (n={n_gallery})")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlim(1, max(max_k, 2))
        ax.set_ylim(0.0, 1.02)
        ax.set_xlabel("k")
        ax.set_ylabel("recall@k")
        ax.set_title(title)
        ax.grid(True, alpha=0.3)
        ax.legend(loc="lower right", fontsize="small")
    for ax in axes[len(panels):]:
        ax.set_visible(False)
    return fig


def robustness_curves(summary: pd.DataFrame, metric: str, xlabel: str, noise: dict | None = None) -> Figure:
    """One panel per task and curve (perturbation, modality): ``metric`` against the level, one
    line per method. Without ``noise`` the levels are fractions (the absent sweep); with it they
    are the clean level then ``noise[perturbation]['levels']``, evenly spaced."""
    from musicfusion.evaluation.perturb import curve_levels

    if summary.empty:
        raise ValueError("no robustness rows to draw")
    panels = list(summary.groupby(["task", "perturbation", "modality"], sort=False))
    curves_per_task = max(sum(1 for (t, _, _), _ in panels if t == task) for task in summary["task"].unique())
    n_rows, n_cols = summary["task"].nunique(), curves_per_task
    fig = new_figure(PANEL_WIDTH * n_cols, PANEL_HEIGHT * n_rows)
    axes = fig.subplots(n_rows, n_cols, squeeze=False)
    column = dict.fromkeys(summary["task"].unique(), 0)
    row_of = {task: i for i, task in enumerate(summary["task"].unique())}
    for (task, perturbation, modality), rows in panels:
        ax = axes[row_of[task], column[task]]
        column[task] += 1
        if noise is None:
            levels = sorted(rows["level"].unique())
            positions, labels = levels, [f"{v:g}" for v in levels]
        else:
            levels = curve_levels(perturbation, noise)
            positions, labels = list(range(len(levels))), ["clean", *[f"{v:g}" for v in levels[1:]]]
        for method, curve in rows.groupby("method", sort=False):
            values = curve.set_index("level")[metric].reindex(levels).to_numpy(dtype=float)
            ax.plot(positions, values, marker="o", markersize=3, label=method)
        ax.set_xticks(positions, labels)
        ax.set_ylim(0.0, 1.02)
        ax.set_xlabel(xlabel)
        ax.set_ylabel(metric)
        ax.set_title(f"{task}: {perturbation.replace('_', ' ')} ({modality})")
        ax.grid(True, alpha=0.3)
    for task, used in column.items():
        for ax in axes[row_of[task], used:]:
            ax.set_visible(False)
    axes[0, 0].legend(loc="lower left", fontsize="x-small", ncols=2)
    return fig


def relative_robustness(table: pd.DataFrame) -> Figure:
    """Relative robustness (area under the curve / clean score) of every method (rows) on every
    curve (columns), one heat map per task, each cell annotated."""
    tasks = list(table["task"].unique())
    curve = table["perturbation"].str.replace("_", " ") + "\n(" + table["modality"] + ")"
    table = table.assign(curve=curve)
    columns = list(dict.fromkeys(table["curve"]))
    methods = list(dict.fromkeys(table["method"]))
    fig = new_figure(max(BAR_MIN_WIDTH, 1.2 * len(columns) + 2.5) * len(tasks), 0.45 * len(methods) + 2.0)
    axes = fig.subplots(1, len(tasks), squeeze=False)[0]
    for ax, task in zip(axes, tasks):
        grid = table[table["task"] == task].pivot(index="method", columns="curve", values="relative_robustness")
        grid = grid.reindex(index=methods, columns=columns)
        image = ax.imshow(grid.to_numpy(dtype=float), cmap="viridis", vmin=0.0, vmax=1.0, aspect="auto")
        for (i, j), value in np.ndenumerate(grid.to_numpy(dtype=float)):
            if np.isfinite(value):
                ax.text(j, i, f"{value:.2f}", ha="center", va="center", fontsize="x-small",
                        color="black" if value > 0.6 else "white")
        ax.set_xticks(range(len(columns)), columns, fontsize="small")
        ax.set_yticks(range(len(methods)), methods)
        ax.set_title(f"{task}: relative robustness (area / clean score)")
        fig.colorbar(image, ax=ax, shrink=0.8)
    return fig


def _annotated_grid(ax, grid: pd.DataFrame, cmap: str, vmin: float, vmax: float, title: str, fig: Figure) -> None:
    values = grid.to_numpy(dtype=float)
    image = ax.imshow(values, cmap=cmap, vmin=vmin, vmax=vmax, aspect="auto")
    middle = (vmin + vmax) / 2
    for (i, j), value in np.ndenumerate(values):
        if np.isfinite(value):
            ax.text(j, i, f"{value:.2f}", ha="center", va="center", fontsize="x-small",
                    color="black" if value > middle else "white")
    ax.set_xticks(range(grid.shape[1]), list(grid.columns), fontsize="small")
    ax.set_yticks(range(grid.shape[0]), list(grid.index))
    _rotate_xticks(ax)
    ax.set_title(title)
    fig.colorbar(image, ax=ax, shrink=0.8)


def style_transfer(success: pd.DataFrame, shift: pd.DataFrame) -> Figure:
    """Style transfer's heat maps, operator sets (rows) by judging method (columns): the success rate
    toward the target, and the mean change of the probability of the clip's own style."""
    columns = list(dict.fromkeys([*success.columns, *shift.columns]))
    fig = new_figure(2 * max(BAR_MIN_WIDTH, 1.1 * len(columns) + 2.5), 0.5 * max(len(success), len(shift)) + 2.5)
    left, right = fig.subplots(1, 2)
    _annotated_grid(left, success.reindex(columns=columns), "viridis", 0.0, 1.0,
                    "success: source predicted before, target after", fig)
    limit = max(GAIN_MIN_COLOUR_LIMIT, float(np.nanmax(np.abs(shift.to_numpy(dtype=float)))) if shift.size else 0.0)
    _annotated_grid(right, shift.reindex(columns=columns), "RdBu", -limit, limit,
                    "mean change of P(own style)", fig)
    return fig


RELIABILITY_SIZE = 4.5  # inches on each side: square, so perfect calibration is the 45-degree diagonal


def reliability_diagram(tables: dict[str, pd.DataFrame], title: str) -> Figure:
    """Reliability diagram: accuracy against mean confidence over the non-empty bins of each
    :func:`~musicfusion.evaluation.calibration.reliability_table` (one line per entry, its key the
    legend label), with perfect calibration as a dashed diagonal (below it: over-confident)."""
    if not tables:
        raise ValueError("no reliability tables to draw")
    fig = new_figure(RELIABILITY_SIZE, RELIABILITY_SIZE)
    ax = fig.add_subplot()
    for label, table in tables.items():
        filled = table[table["n"] > 0]
        ax.plot(filled["confidence"].to_numpy(dtype=float), filled["accuracy"].to_numpy(dtype=float),
                marker="o", markersize=3, label=label)
    ax.plot([0.0, 1.0], [0.0, 1.0], linestyle="--", color="grey", linewidth=0.8)  # no label: not in legend
    ax.set_xlim(0.0, 1.0)
    ax.set_ylim(0.0, 1.0)
    ax.set_aspect("equal")
    ax.set_xlabel("mean confidence (top label)")
    ax.set_ylabel("accuracy")
    ax.set_title(title)
    ax.grid(True, alpha=0.3)
    ax.legend(loc="upper left", fontsize="small")
    return fig
