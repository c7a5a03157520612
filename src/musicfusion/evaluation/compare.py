"""Compare: is a method really better than what it should beat?

Two families of comparisons, made on the same test folds and corrected together (Holm):

- ``fusion_vs_best_single``: each fusion method against the task's best single modality. The
  baseline is the single-modality method with the best mean **validation** score, so the test
  folds never influence the choice.
- ``modality_vs_control``: each single modality against its shortcut control (the same learner
  on trivial features of that modality): does the modality carry more than the shortcut?

Each comparison is the per-fold difference in macro recall, tested with the corrected resampled
t-test (Nadeau & Bengio; :func:`musicfusion.evaluation.stats.corrected_resampled_t`), which accounts for
the overlap of the folds' training sets: a paired bootstrap or McNemar test over pooled test
predictions would hold the trained models fixed and call ordinary variation significant.
Per-class gains (mean over folds) show where fusion helps.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from musicfusion import modality_of
from musicfusion.evaluation import plots
from musicfusion.evaluation.evaluate import fold_ratio, method_kind
from musicfusion.evaluation.metrics import DECIMALS
from musicfusion.evaluation.stats import corrected_resampled_t, holm, macro_recall, per_class_recall
from musicfusion.models.train import typed_predictions

SIGNIFICANCE_COLUMNS = ["task", "comparison", "method", "modalities", "baseline", "recall_macro",
                        "baseline_recall_macro", "gain", "gain_ci_low", "gain_ci_high", "t", "df", "p_raw",
                        "p_holm", "significant", "n_folds", "n_clips"]
ROUNDED = ("recall_macro", "baseline_recall_macro", "gain", "gain_ci_low", "gain_ci_high", "t", "p_raw", "p_holm")


def best_single_modality(methods: dict, metrics: dict, task: str, selection_metric: str) -> str:
    """The single-modality method (not a control) with the best mean validation score."""
    singles = [m for m, p in methods.items() if method_kind(p) == "single"]
    if not singles:
        raise ValueError("no single-modality method is configured: nothing to measure fusion gain against")
    # Ties go to the first in params order.
    return max(singles, key=lambda m: (metrics[m][task]["validation"][selection_metric], -singles.index(m)))


def control_of(methods: dict, method: str) -> str | None:
    """The shortcut control of a single-modality method: the control of the same modality (a
    further feature set's, such as audio.pitch_cnn, is its modality's: the shortcut is the media's)."""
    modalities = [modality_of(key) for key in methods[method]["modalities"]]
    return next((m for m, p in methods.items() if method_kind(p) == "control" and p["modalities"] == modalities),
                None)


def _test_rows(predictions: pd.DataFrame, task: str) -> pd.DataFrame:
    rows = predictions[(predictions["task"] == task) & (predictions["split"] == "test")]
    return rows.sort_values(["fold", "clip_id"]).reset_index(drop=True)


def _per_fold(rows: pd.DataFrame) -> np.ndarray:
    return np.array([macro_recall(g["true"], g["predicted"]) for _, g in rows.groupby("fold", sort=True)])


def _common_rows(ours: pd.DataFrame, base: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Both methods' test rows restricted to the clips both were tested on, in one order.

    Methods differ in their clips when a dataset's clips lack some modality: a method is
    tested on the clips that have its modalities, so a comparison uses the clips both have.
    """
    keys = ["fold", "clip_id"]
    common = ours[keys].merge(base[keys], on=keys)
    return tuple(rows.merge(common, on=keys).sort_values(keys).reset_index(drop=True) for rows in (ours, base))


def compare_pair(method: str, baseline: str, predictions: dict[str, pd.DataFrame], task: str,
                 confidence: float) -> dict:
    """``method`` against ``baseline`` on the test clips of each fold that both were tested on:
    mean macro recalls and the corrected resampled t-test of their per-fold difference."""
    ours, base = _common_rows(_test_rows(predictions[method], task), _test_rows(predictions[baseline], task))
    if ours.empty or ours["fold"].nunique() != predictions[method]["fold"].nunique():
        raise ValueError(f"{method} and {baseline} share no test clip in some fold ({task})")
    a, b = _per_fold(ours), _per_fold(base)
    ratio = fold_ratio(predictions[method][predictions[method]["task"] == task], "test")
    test = corrected_resampled_t(a - b, ratio, confidence)
    return {"method": method, "baseline": baseline, "recall_macro": float(a.mean()),
            "baseline_recall_macro": float(b.mean()), "gain": test["mean"], "gain_ci_low": test["ci_low"],
            "gain_ci_high": test["ci_high"], "t": test["t"], "df": int(test["df"]), "p_raw": test["p_value"],
            "n_folds": len(a), "n_clips": int(ours["clip_id"].nunique())}


def per_class_gain(method: str, baseline: str, predictions: dict[str, pd.DataFrame], task: str) -> list[dict]:
    """Each class's recall of method and baseline, mean over test folds, and the difference."""
    ours, base = _common_rows(_test_rows(predictions[method], task), _test_rows(predictions[baseline], task))
    classes = sorted(base["true"].unique())

    def mean_recall(rows):
        return np.nanmean([per_class_recall(g["true"], g["predicted"], classes)
                           for _, g in rows.groupby("fold", sort=True)], axis=0)

    mine, theirs = mean_recall(ours), mean_recall(base)
    return [{"task": task, "method": method, "baseline": baseline, "class": cls, "recall": float(r_a),
             "baseline_recall": float(r_b), "gain": float(r_a - r_b)} for cls, r_a, r_b in zip(classes, mine, theirs)]


def comparison_table(predictions: dict[str, pd.DataFrame], metrics: dict, methods: dict, tasks: list[str],
                     selection_metric: str, confidence: float) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The significance table (both families, Holm across all its rows) and the per-class gains."""
    rows, per_class = [], []
    for task in tasks:
        for method, params in methods.items():
            control = control_of(methods, method) if method_kind(params) == "single" else None
            if control:
                rows.append({"task": task, "comparison": "modality_vs_control", "modalities": params["modalities"],
                             **compare_pair(method, control, predictions, task, confidence)})
        baseline = best_single_modality(methods, metrics, task, selection_metric)
        for method, params in methods.items():
            if method_kind(params) != "fusion":
                continue
            rows.append({"task": task, "comparison": "fusion_vs_best_single", "modalities": params["modalities"],
                         **compare_pair(method, baseline, predictions, task, confidence)})
            per_class.extend(per_class_gain(method, baseline, predictions, task))
    table = pd.DataFrame(rows, columns=[c for c in SIGNIFICANCE_COLUMNS if c not in ("p_holm", "significant")])
    table["modalities"] = table["modalities"].map("+".join)
    table.insert(table.columns.get_loc("p_raw") + 1, "p_holm", holm(table["p_raw"].to_numpy(dtype=float)))
    table.insert(table.columns.get_loc("p_holm") + 1, "significant", table["p_holm"] < 1.0 - confidence)
    return table[SIGNIFICANCE_COLUMNS].round({c: DECIMALS for c in ROUNDED}), pd.DataFrame(per_class).round(DECIMALS)


@dataclass(frozen=True)
class Comparison:
    """Fusion against the best single modality and each modality against its control: the
    tests, the fusion gain per class, a figure."""

    table: pd.DataFrame  # results/significance.csv
    per_class: pd.DataFrame  # results/fusion_gain_per_class.csv
    figure: Figure  # results/fusion_gain.png


def compare(predictions: dict[str, pd.DataFrame], metrics: dict[str, dict], methods: dict, tasks: list[str],
            settings: dict) -> Comparison:
    """Both families of comparisons for every task (see the module docstring).

    ``predictions`` and ``metrics`` map each method to its predictions.csv and metrics.json;
    ``settings`` is params.yaml's ``evaluate`` section.
    """
    predictions = {name: typed_predictions(frame) for name, frame in predictions.items()}
    table, per_class = comparison_table(predictions, metrics, methods, tasks, settings["selection_metric"],
                                        settings["confidence"])
    fusion = table[table["comparison"] == "fusion_vs_best_single"]
    return Comparison(table, per_class, plots.fusion_gain(fusion, per_class))
