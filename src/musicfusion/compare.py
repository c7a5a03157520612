"""Compare: is a fusion method really better than the best single modality?

For each task the baseline is the single-modality method with the best mean validation score
(chosen on validation, so the test split stays untouched). Each fusion method is compared with
it on the same test clips of every repeat: the fusion gain in macro recall, a paired bootstrap
(resampling clips within each repeat) for its confidence interval and p-value, and an exact
McNemar test on the pooled per-clip correctness. Per-class gains show where fusion helps.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from musicfusion import plots
from musicfusion.metrics import DECIMALS
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
        table[col] = table[col].round(DECIMALS)
    return table, pd.DataFrame(per_class).round(DECIMALS)


@dataclass(frozen=True)
class Comparison:
    """Fusion against the best single modality: the tests, the gain per class, a figure."""

    table: pd.DataFrame  # results/significance.csv
    per_class: pd.DataFrame  # results/fusion_gain_per_class.csv
    figure: Figure  # results/fusion_gain.png


def compare(predictions: dict[str, pd.DataFrame], metrics: dict[str, dict], methods: dict, tasks: list[str],
            settings: dict, seed: int) -> Comparison:
    """Every fusion method against the task's best single modality (chosen on validation).

    ``predictions`` and ``metrics`` map each method to its predictions.csv and metrics.json;
    ``settings`` is params.yaml's ``evaluate`` section.
    """
    predictions = {name: frame.astype({"repeat": int}) for name, frame in predictions.items()}
    table, per_class = compare_to_best_single(
        predictions, metrics, methods, tasks, settings["selection_metric"], settings["bootstrap_samples"],
        seed, settings["confidence"], 1.0 - settings["confidence"])
    return Comparison(table, per_class, plots.fusion_gain(table, per_class))
