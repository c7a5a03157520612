"""The evaluation of creation assistance (rule ``assist_eval``): how good ``musicfusion assist``'s answers are
when a held-out clip is the query, with one modality at a time and with all of them.

One long table, ``results/<dataset>/assist.csv``, a row per (part, task, query, metric):

- ``suggestion``: accuracy and macro recall of the suggested style and instrument over the folds' test clips,
  mean and corrected resampled t interval over the folds (:func:`musicfusion.evaluation.stats.corrected_resampled_t`);
  the top-label expected calibration error and the multi-class Brier score over every test prediction; the
  ``chance`` column holds the majority class's share (accuracy) and 1/K (macro recall);
- ``tempo``: the share of clips whose tempo estimate is within each tolerance of the tempo they were rendered
  at and the median absolute relative error;
- ``references``: Recall@K (a same-style clip among the top K references) and the median rank of the first
  same-style reference, beside what a random ranking gives;
- ``sketch``: the share of sketches whose style, as the audio style classifier hears it, is the suggested one.

The shares of clips (tempo, references, sketch) have Wilson score intervals (:func:`share_interval`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.special import comb

from musicfusion.evaluation.calibration import confidence_table, table_ece
from musicfusion.evaluation.stats import corrected_resampled_t, macro_recall

COLUMNS = ["part", "task", "query", "metric", "value", "ci_low", "ci_high", "chance", "n"]


def share_interval(hits, confidence: float) -> tuple[float, float]:
    """The Wilson score interval of a share of independent clips (sound at 0 or 1 hits, unlike a t interval,
    which would shrink to a point); NaN for no clip."""
    from scipy.stats import binomtest

    hits = np.asarray(hits, dtype=bool)
    if not len(hits):
        return np.nan, np.nan
    ci = binomtest(int(hits.sum()), len(hits)).proportion_ci(confidence_level=confidence, method="wilson")
    return float(ci.low), float(ci.high)


def _row(part, task, query, metric, value, ci=(np.nan, np.nan), chance=np.nan, n=0) -> dict:
    """One row; an interval of a share is clipped to [0, 1], as the summary's are."""
    low, high = (float(np.clip(bound, 0.0, 1.0)) for bound in ci)
    return {"part": part, "task": task, "query": query, "metric": metric, "value": float(value),
            "ci_low": low, "ci_high": high, "chance": float(chance), "n": int(n)}


def suggestion_rows(predictions: pd.DataFrame, confidence: float, n_bins: int) -> list[dict]:
    """Rows of the ``suggestion`` part from per-clip test predictions: columns fold, task, query, true,
    predicted, confidence (the top probability), brier (the clip's own Brier term), n_test and n_train (the
    fold's sizes, for the corrected interval)."""
    rows = []
    for (task, query), group in predictions.groupby(["task", "query"], sort=False):
        per_fold = {"accuracy": [], "recall_macro": []}
        ratios = []
        for _, fold in group.groupby("fold"):
            true, predicted = fold["true"].astype(str).to_numpy(), fold["predicted"].astype(str).to_numpy()
            per_fold["accuracy"].append(float(np.mean(true == predicted)))
            per_fold["recall_macro"].append(macro_recall(true, predicted))
            ratios.append(float(fold["n_test"].iloc[0]) / float(fold["n_train"].iloc[0]))
        classes = group["true"].astype(str)
        chance = {"accuracy": classes.value_counts(normalize=True).max(), "recall_macro": 1.0 / classes.nunique()}
        for metric, values in per_fold.items():
            t = corrected_resampled_t(values, float(np.mean(ratios)), confidence)
            rows.append(_row("suggestion", task, query, metric, t["mean"], (t["ci_low"], t["ci_high"]),
                             chance[metric], len(group)))
        correct = (group["true"].astype(str) == group["predicted"].astype(str)).to_numpy()
        ece = table_ece(confidence_table(group["confidence"].to_numpy(), correct, n_bins))
        rows.append(_row("suggestion", task, query, "ece", ece, n=len(group)))
        rows.append(_row("suggestion", task, query, "brier", group["brier"].mean(), n=len(group)))
    return rows


def tempo_rows(estimates: pd.DataFrame, tolerances, confidence: float) -> list[dict]:
    """Rows of the ``tempo`` part from columns query (the modality read), estimate and truth (pulses a minute);
    a clip with no estimate (NaN) counts as outside every tolerance."""
    rows = []
    for query, group in estimates.groupby("query", sort=False):
        error = np.abs(group["estimate"].to_numpy() / group["truth"].to_numpy() - 1.0)
        for tolerance in tolerances:
            within = np.nan_to_num(error, nan=np.inf) <= float(tolerance)
            rows.append(_row("tempo", "tempo", query, f"within_{tolerance:g}", within.mean(),
                             share_interval(within, confidence), n=len(group)))
        rows.append(_row("tempo", "tempo", query, "median_relative_error", np.nanmedian(error)
                         if np.isfinite(error).any() else np.nan, n=int(np.isfinite(error).sum())))
    return rows


def chance_recall_at(k: int, n_library: int, n_relevant: int) -> float:
    """P(at least one of ``n_relevant`` items in the top ``k`` of a random ranking of ``n_library``)."""
    if n_relevant <= 0:
        return 0.0
    k = min(k, n_library)
    return 1.0 - comb(n_library - n_relevant, k, exact=False) / comb(n_library, k, exact=False)


def first_relevant_ranks(scores: np.ndarray, relevant: np.ndarray) -> np.ndarray:
    """For each query (row of ``scores``, higher is nearer; NaN: not ranked), the rank (1 = first) of its first
    relevant library item (``relevant``: the same shape, boolean); NaN where none is ranked."""
    order = np.argsort(-np.nan_to_num(scores, nan=-np.inf), axis=1, kind="stable")
    hits = np.take_along_axis(relevant & np.isfinite(scores), order, axis=1)
    first = hits.argmax(axis=1).astype(float) + 1
    first[~hits.any(axis=1)] = np.nan
    return first


def reference_rows(ranks: pd.DataFrame, ks, confidence: float) -> list[dict]:
    """Rows of the ``references`` part from columns query, rank (of the first same-style reference), n_library
    and n_relevant (per query clip)."""
    rows = []
    for query, group in ranks.groupby("query", sort=False):
        rank = group["rank"].to_numpy(dtype=float)
        for k in ks:
            hit = (np.nan_to_num(rank, nan=np.inf) <= k).astype(float)
            chance = np.mean([chance_recall_at(k, n, r) for n, r in zip(group["n_library"], group["n_relevant"])])
            rows.append(_row("references", "style", query, f"recall@{k}", hit.mean(),
                             share_interval(hit, confidence), chance, len(group)))
        # A random ranking puts the first of r relevant among n items at rank (n + 1) / (r + 1) on average.
        chance_rank = np.median((group["n_library"] + 1) / (group["n_relevant"] + 1))
        rows.append(_row("references", "style", query, "median_rank", np.nanmedian(rank), chance=chance_rank,
                         n=len(group)))
    return rows


def sketch_rows(agreement: pd.DataFrame, confidence: float) -> list[dict]:
    """Rows of the ``sketch`` part from columns query, agrees (the judge heard the suggested style), moved (the
    operators moved a reference of another style) and n_styles: every sketch, then the moved ones and the
    others apart, since a reference of the suggested style agrees without any move."""
    rows = []
    for query, group in agreement.groupby("query", sort=False):
        chance = 1.0 / group["n_styles"].iloc[0]
        for metric, part in (("style_agreement", group), ("style_agreement_moved", group[group["moved"]]),
                             ("style_agreement_unmoved", group[~group["moved"]])):
            agrees = part["agrees"].to_numpy(dtype=float)
            rows.append(_row("sketch", "style", query, metric, agrees.mean() if len(agrees) else np.nan,
                             share_interval(agrees, confidence), chance, len(part)))
    return rows


def assist_table(rows: list[dict], decimals: int) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=COLUMNS).round({c: decimals for c in ("value", "ci_low", "ci_high", "chance")})
