"""Evaluate: per-method metrics from predictions, and the summary table across methods.

Every number is a mean over the folds of repeated stratified group k-fold with a corrected
resampled t interval beside it (Nadeau & Bengio: the folds' training sets overlap, so a plain
t interval over folds is too narrow); the per-fold values are kept in each method's
metrics.json. Functions return data and figures; the workflow's scripts write them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from musicfusion.evaluation import plots
from musicfusion.evaluation.metrics import DECIMALS, METRICS, classification_metrics
from musicfusion.evaluation.stats import corrected_resampled_t
from musicfusion.models.methods import is_control
from musicfusion.models.train import typed_predictions
from musicfusion.models.tuning import search_seconds, task_trials

SUMMARY_COLUMNS = ["method", "task", "kind", "modalities", *METRICS]
EVALUATED_SPLITS = ("validation", "test")


def fold_ratio(rows: pd.DataFrame, split: str) -> float:
    """Mean over folds of (clips scored on ``split``) / (training clips): the corrected t's n2/n1."""
    per_fold = rows[rows["split"] == split].groupby("fold").agg(n=("clip_id", "size"), n_train=("n_train", "first"))
    return float((per_fold["n"] / per_fold["n_train"]).mean())


def _split_stats(rows: pd.DataFrame, split: str, confidence: float) -> dict:
    """Metrics of every fold on ``split``, their mean and corrected interval."""
    part = rows[rows["split"] == split]
    by_fold = [classification_metrics(g["true"].to_numpy(), g["predicted"].to_numpy())
               for _, g in part.groupby("fold", sort=True)]
    names = list(by_fold[0])
    ratio = fold_ratio(rows, split)
    stats = {name: corrected_resampled_t([m[name] for m in by_fold], ratio, confidence) for name in names}
    return {split: {name: stats[name]["mean"] for name in names},
            f"{split}_ci": {name: [stats[name]["ci_low"], stats[name]["ci_high"]] for name in names},
            f"{split}_by_fold": {name: [m[name] for m in by_fold] for name in names},
            f"{split}_train_ratio": ratio}


def _format(value) -> str:
    return f"{value:.3g}" if isinstance(value, float) else str(value)


def settings_summary(chosen: list[dict]) -> str:
    """The configurations chosen across folds in one line: each setting's median over the folds
    (the most frequent value for a choice), e.g. ``audio.C=0.316; video.C=1.2``."""
    if not chosen or not chosen[0]:
        return "untuned (nothing to search)"
    parts = []
    for key in chosen[0]:
        values = [c[key] for c in chosen]
        if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
            typical = float(np.median(values))
            typical = int(typical) if all(isinstance(v, int) for v in values) and typical.is_integer() else typical
        else:
            typical = pd.Series(values).value_counts(sort=True).index[0]
        parts.append(f"{key}={_format(typical)}")
    return "; ".join(parts)


def search_record(trials: pd.DataFrame, task: str) -> dict:
    """The search of one task across folds, from the method's trials.csv (musicfusion.models.train): the
    configuration chosen in every fold and the trials per fold."""
    rows = task_trials(trials, task)
    chosen = rows[rows["chosen"].astype(str) == "True"].sort_values("fold")
    return {"n_trials": int(rows.groupby("fold").size().max()),
            "chosen_untuned_folds": int((chosen["untuned"].astype(str) == "True").sum()),
            "chosen_by_fold": [json.loads(s) for s in chosen["settings"]],
            "settings": settings_summary([json.loads(s) for s in chosen["settings"]]),
            "shared_by_tasks": str(rows["task"].iloc[0])}


def evaluate_method(method: str, predictions: pd.DataFrame, tasks: list[str], confidence: float,
                    trials: pd.DataFrame | None = None) -> tuple[dict, dict[str, Figure]]:
    """Per task: validation and test metrics of every fold, their mean and corrected interval, for
    the tuned configuration, and the untuned configuration's test metrics beside them; the
    search record (:func:`search_record`) when ``trials`` are given; and a confusion matrix of
    the tuned test predictions of every fold pooled.

    ``predictions`` is the method's predictions.csv (musicfusion.models.train). Returns the content of
    the method's metrics.json and one figure per task.
    """
    untuned = typed_predictions(predictions, "untuned")
    predictions = typed_predictions(predictions)
    metrics: dict = {}
    figures: dict[str, Figure] = {}
    for task in tasks:
        rows = predictions[predictions["task"] == task]
        if rows.empty:
            raise ValueError(f"{method}: no predictions for task {task!r}")
        entry: dict = {"n_folds": int(rows["fold"].nunique()), "n_repetitions": int(rows["repetition"].nunique())}
        for split in EVALUATED_SPLITS:
            entry.update(_split_stats(rows, split, confidence))
        untuned_stats = _split_stats(untuned[untuned["task"] == task], "test", confidence)
        entry["untuned"] = untuned_stats
        if trials is not None:
            entry["search"] = search_record(trials, task)
        # Every clip is tested once per repetition.
        entry["n_test_clips"] = int(rows.loc[rows["split"] == "test", "clip_id"].nunique())
        metrics[task] = entry
        test = rows[rows["split"] == "test"]
        labels = sorted(set(test["true"]) | set(test["predicted"]))
        figures[task] = plots.confusion_matrix(
            test["true"].to_numpy(), test["predicted"].to_numpy(), labels,
            f"{method} - {task} (test folds of {entry['n_repetitions']} repetition(s) pooled)")
    return metrics, figures


def method_kind(method_params: dict) -> str:
    """``single``, ``control`` or ``fusion``: how the summary and the comparisons treat a method."""
    if is_control(method_params):
        return "control"
    return "single" if len(method_params["modalities"]) == 1 else "fusion"


def summary_row(method: str, task: str, method_params: dict, entry: dict) -> dict:
    """One row of the summary: test means, their confidence bounds, folds and test clips.

    ``entry`` is one task of a method's metrics.json. The same row is logged to MLflow.
    """
    # Every metric lies in [0, 1]; a t-interval over few folds can step outside it.
    ci = {f"{name}_ci_{side}": round(float(np.clip(bounds[i], 0.0, 1.0)), DECIMALS)
          for name, bounds in entry["test_ci"].items() for i, side in enumerate(("low", "high"))}
    validation = {f"validation_{name}": round(float(value), DECIMALS) for name, value in entry["validation"].items()}
    search = entry.get("search", {})
    return {"method": method, "task": task, "kind": method_kind(method_params),
            "modalities": "+".join(method_params["modalities"]), **entry["test"], **ci, **validation,
            "n_folds": entry["n_folds"], "n_test_clips": entry["n_test_clips"],
            "learner": learner_label(method_params), "tuned_settings": search.get("settings", "")}


def learner_label(method_params: dict) -> str:
    """The learner(s) of a ``methods`` entry: ``svm``, or ``audio:svm video:logistic ...``."""
    learner = method_params.get("learner", "")
    return learner if isinstance(learner, str) else " ".join(f"{unit}:{name}" for unit, name in learner.items())


def tuning_table(method_metrics: dict[str, dict], methods: dict, metric: str, confidence: float,
                 trials: dict[str, pd.DataFrame] | None = None) -> pd.DataFrame:
    """Tuned against untuned, per method and task, on the test folds: both means with corrected
    intervals, the gain with its corrected interval (paired by fold), how often the search kept
    the untuned configuration, the trials per fold and, from each method's ``trials`` (its
    trials.csv), the search time (all folds, one core)."""
    rows = []
    for method, per_task in method_metrics.items():
        for task, entry in per_task.items():
            tuned, untuned = entry["test_by_fold"][metric], entry["untuned"]["test_by_fold"][metric]
            gain = corrected_resampled_t(np.subtract(tuned, untuned), entry["test_train_ratio"], confidence)
            search = entry.get("search", {})
            rows.append({"method": method, "task": task, "kind": method_kind(methods[method]),
                         "learner": learner_label(methods[method]),
                         f"untuned_{metric}": entry["untuned"]["test"][metric],
                         f"untuned_{metric}_ci_low": entry["untuned"]["test_ci"][metric][0],
                         f"untuned_{metric}_ci_high": entry["untuned"]["test_ci"][metric][1],
                         f"tuned_{metric}": entry["test"][metric],
                         f"tuned_{metric}_ci_low": entry["test_ci"][metric][0],
                         f"tuned_{metric}_ci_high": entry["test_ci"][metric][1],
                         "gain": gain["mean"], "gain_ci_low": gain["ci_low"], "gain_ci_high": gain["ci_high"],
                         "folds_kept_untuned": search.get("chosen_untuned_folds"), "n_trials": search.get("n_trials"),
                         "search_seconds": round(search_seconds(trials[method], task), 1)
                         if trials and method in trials else float("nan"),
                         "tuned_settings": search.get("settings", "")})
    table = pd.DataFrame(rows).sort_values(["task", "method"], kind="mergesort").reset_index(drop=True)
    # A metric lies in [0, 1]; a t-interval over few folds can step outside it (as in summary_row).
    bounds = [c for c in table.columns if c.startswith(("untuned_", "tuned_")) and "_ci_" in c]
    table[bounds] = table[bounds].clip(0.0, 1.0)
    numbers = [c for c in table.columns if c.startswith(("untuned_", "tuned_", "gain")) and c != "tuned_settings"]
    return table.round({c: DECIMALS for c in numbers})


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


def method_rows(method: str, method_params: dict, per_task: dict) -> pd.DataFrame:
    """One method's rows of results/summary.csv, from its metrics.json content."""
    return summary_table([summary_row(method, task, method_params, entry) for task, entry in per_task.items()])


def readable_summary(table: pd.DataFrame, selection_metric: str) -> pd.DataFrame:
    """Each metric as 'mean [ci_low, ci_high]', for Markdown and the README, with the validation
    score of ``selection_metric`` (what tuning chose on)."""
    out = table[["method", "task", "kind", "modalities"]].copy()
    for name in METRICS:
        low, high = table.get(f"{name}_ci_low"), table.get(f"{name}_ci_high")
        out[name] = [f"{m:.3f}" if low is None or pd.isna(lo) else f"{m:.3f} [{lo:.3f}, {hi:.3f}]"
                     for m, lo, hi in zip(table[name], low if low is not None else table[name],
                                          high if high is not None else table[name])]
    validation = f"validation_{selection_metric}"
    if validation in table:
        out[f"validation {selection_metric}"] = table[validation].map(lambda v: f"{v:.3f}")
    if "n_folds" in table:
        out["folds"] = table["n_folds"]
    return out


def headline_scores(table: pd.DataFrame, metric: str) -> dict[str, dict]:
    """Each method's headline score for DVC: {method: {metric: {task: test mean}}}, one small
    results/<dataset>/headline/<method>.json per method, so that ``dvc metrics show`` prints a
    row per method and a column per task.

    ``table`` is the summary (results/<dataset>/summary.csv, as built or as read, numbers or
    text) and ``metric`` params.yaml's evaluate.selection_metric: the test mean of the tuned
    configuration, exactly as summary.csv holds it (rounded to DECIMALS), so that a rerun that
    reproduces summary.csv writes the same bytes.
    """
    return {method: {metric: {task: float(value) for task, value in zip(rows["task"], rows[metric])}}
            for method, rows in table.groupby("method", sort=True)}


@dataclass(frozen=True)
class Summary:
    """The results across methods: the table, its readable form, DVC's metrics, a chart."""

    table: pd.DataFrame  # results/summary.csv
    readable: pd.DataFrame  # results/summary.md
    metrics: dict  # results/metrics.json: method -> task -> test means and bounds
    figure: Figure  # results/method_comparison.png
    tuning: pd.DataFrame  # results/tuning.csv: tuned against untuned, search time


def summarize(method_metrics: dict[str, dict], methods: dict, metric: str, confidence: float,
              trials: dict[str, pd.DataFrame] | None = None) -> Summary:
    """One row per method and task (test folds) from each method's metrics.json content.

    ``method_metrics`` maps method name to its metrics.json; ``methods`` is params.yaml's
    ``methods`` (for their modalities); ``metric`` is the one the bar chart and the tuning table
    show.
    """
    rows, nested = [], {}
    for method, per_task in method_metrics.items():
        nested[method] = {}
        for task, entry in per_task.items():
            row = summary_row(method, task, methods[method], entry)
            rows.append(row)
            nested[method][task] = {k: v for k, v in row.items()
                                    if k in METRICS or k.rsplit("_ci_", 1)[0] in METRICS}
    table = summary_table(rows)
    return Summary(table, readable_summary(table, metric), nested, plots.method_comparison(table, metric),
                   tuning_table(method_metrics, methods, metric, confidence, trials))
