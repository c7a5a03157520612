"""Compare: is a fusion method really better than the best single modality?

For each task the baseline is the single-modality method with the best mean validation score
(chosen on validation, so the test split stays untouched). Each fusion method is compared with
it on the same test clips of every repeat: the fusion gain in macro recall, a paired bootstrap
(resampling clips within each repeat) for its confidence interval and p-value, and an exact
McNemar test on the pooled per-clip correctness. Per-class gains show where fusion helps.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from musicfusion.io import atomic_path, write_csv
from musicfusion.stats import macro_recall_by_group, mcnemar, paired_bootstrap, per_class_recall

SIGNIFICANCE_COLUMNS = ["task", "method", "modalities", "baseline", "recall_macro", "baseline_recall_macro",
                        "fusion_gain", "gain_ci_low", "gain_ci_high", "p_bootstrap", "only_method_correct",
                        "only_baseline_correct", "p_mcnemar", "significant"]


def best_single_modality(methods: dict, metrics: dict, task: str, selection_metric: str) -> str:
    singles = [m for m, p in methods.items() if len(p["modalities"]) == 1]
    if not singles:
        raise ValueError("no single-modality method is configured: nothing to measure fusion gain against")
    # Ties go to the first in params order.
    return max(singles, key=lambda m: (metrics[m][task]["validation"][selection_metric], -singles.index(m)))


def _test_rows(predictions: pd.DataFrame, task: str) -> pd.DataFrame:
    rows = predictions[(predictions["task"] == task) & (predictions["split"] == "test")]
    return rows.sort_values(["repeat", "clip_id"]).reset_index(drop=True)


def compare_to_best_single(predictions: dict[str, pd.DataFrame], metrics: dict, methods: dict, tasks: list[str],
                           selection_metric: str, n_samples: int, seed: int, confidence: float,
                           alpha: float) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The significance table and the per-class gain table."""
    rows, per_class = [], []
    for task in tasks:
        baseline = best_single_modality(methods, metrics, task, selection_metric)
        base = _test_rows(predictions[baseline], task)
        classes = sorted(base["true"].unique())
        for method, params in methods.items():
            if len(params["modalities"]) < 2:
                continue
            ours = _test_rows(predictions[method], task)
            if not (ours[["repeat", "clip_id"]].equals(base[["repeat", "clip_id"]])):
                raise ValueError(f"{method} and {baseline} were not tested on the same clips ({task})")
            y, a, b = base["true"].to_numpy(), ours["predicted"].to_numpy(), base["predicted"].to_numpy()
            groups = base["repeat"].to_numpy()

            def gain(index, y=y, a=a, b=b, groups=groups):
                return macro_recall_by_group(y, a, groups, index) - macro_recall_by_group(y, b, groups, index)

            boot = paired_bootstrap(gain, groups, n_samples, seed, confidence)
            test = mcnemar(a == y, b == y)
            everything = np.arange(len(y))
            rows.append({
                "task": task, "method": method, "modalities": "+".join(params["modalities"]),
                "baseline": baseline, "recall_macro": macro_recall_by_group(y, a, groups, everything),
                "baseline_recall_macro": macro_recall_by_group(y, b, groups, everything),
                "fusion_gain": boot["difference"], "gain_ci_low": boot["ci_low"], "gain_ci_high": boot["ci_high"],
                "p_bootstrap": boot["p_value"], "only_method_correct": test["only_a_correct"],
                "only_baseline_correct": test["only_b_correct"], "p_mcnemar": test["p_value"],
                "significant": bool(boot["p_value"] < alpha)})
            mine = np.nanmean([per_class_recall(y[groups == g], a[groups == g], classes)
                               for g in np.unique(groups)], axis=0)
            theirs = np.nanmean([per_class_recall(y[groups == g], b[groups == g], classes)
                                 for g in np.unique(groups)], axis=0)
            for cls, r_a, r_b in zip(classes, mine, theirs):
                per_class.append({"task": task, "method": method, "baseline": baseline, "class": cls,
                                  "recall": float(r_a), "baseline_recall": float(r_b), "gain": float(r_a - r_b)})
    table = pd.DataFrame(rows, columns=SIGNIFICANCE_COLUMNS)
    for col in ("recall_macro", "baseline_recall_macro", "fusion_gain", "gain_ci_low", "gain_ci_high"):
        table[col] = table[col].round(4)
    return table, pd.DataFrame(per_class).round(4)


def plot_fusion_gain(table: pd.DataFrame, per_class: pd.DataFrame, path: str | Path) -> None:
    """Overall gain with its interval per method (top), per-class gains as a heat map (bottom)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    tasks = list(dict.fromkeys(table["task"]))
    fig = Figure(figsize=(6 * len(tasks), 8), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(2, len(tasks), squeeze=False)
    for col, task in enumerate(tasks):
        part = table[table["task"] == task]
        ax = axes[0][col]
        err = np.vstack([part["fusion_gain"] - part["gain_ci_low"], part["gain_ci_high"] - part["fusion_gain"]])
        colours = ["tab:green" if s else "tab:grey" for s in part["significant"]]
        ax.barh(part["method"], part["fusion_gain"], xerr=err, color=colours, capsize=3)
        ax.axvline(0, color="black", linewidth=0.8)
        ax.set_title(f"{task}: macro-recall gain over {part['baseline'].iloc[0]}\n(green: p < alpha)")
        ax.invert_yaxis()
        grid = per_class[per_class["task"] == task].pivot(index="method", columns="class", values="gain")
        grid = grid.loc[part["method"]]
        ax = axes[1][col]
        limit = max(0.05, float(np.nanmax(np.abs(grid.to_numpy()))))
        image = ax.imshow(grid.to_numpy(), cmap="RdBu", vmin=-limit, vmax=limit, aspect="auto")
        ax.set_xticks(range(grid.shape[1]), grid.columns, rotation=45, ha="right")
        ax.set_yticks(range(grid.shape[0]), grid.index)
        ax.set_title(f"{task}: recall gain per class")
        fig.colorbar(image, ax=ax, shrink=0.8)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=100)


def compare(prediction_paths: list[str | Path], metric_paths: list[str | Path], methods: dict, tasks: list[str],
            settings: dict, seed: int, out_csv, out_per_class, out_png) -> pd.DataFrame:
    predictions = {Path(p).parent.name: pd.read_csv(p, dtype={"repeat": int}, keep_default_na=False)
                   for p in prediction_paths}
    metrics = {}
    for path in metric_paths:
        with open(path, encoding="utf-8") as fh:
            metrics[Path(path).parent.name] = json.load(fh)
    table, per_class = compare_to_best_single(
        predictions, metrics, methods, tasks, settings["selection_metric"], settings["bootstrap_samples"],
        seed, settings["confidence"], 1.0 - settings["confidence"])
    write_csv(out_csv, table)
    write_csv(out_per_class, per_class)
    plot_fusion_gain(table, per_class, out_png)
    return table
