"""Style transfer's table: success, probability shifts and content kept, with intervals over clips.

The rows of the transfers (musicfusion.apps.restyle, one per transfer, judge and task) are summarised
per (kind, operator set, judge, task), pooled over source and target styles, and per source and
target style beside. The success rate follows Brunner et al. (ICTAI 2018): among the transfers whose
source the judge predicted before, the fraction it predicts as the target after. A clip is the unit
of every interval: a clip's transfers (to several targets) are averaged first, so the intervals
count independent clips (drawn one per group), and the t intervals of each level of the table are
Bonferroni-corrected for the number of its rows that have an interval.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from musicfusion.evaluation.stats import mean_t_interval

ALL = "all"
KEYS = ["kind", "operator_set", "judge", "task", "source_style", "target"]
SHIFTS = ("delta_p_target", "delta_p_source")
SUMMARY_COLUMNS = [*KEYS, "n_clips", "n_transfers", "n_eligible", "success_rate", "changed_rate",
                   *[f"{s}{suffix}" for s in SHIFTS for suffix in ("", "_ci_low", "_ci_high")],
                   "chroma_similarity", "melody_kept", "query_rank_median", "query_rank_before_median",
                   "gallery_size", "family_size"]
DECIMALS = 6


def _with_shifts(rows: pd.DataFrame) -> pd.DataFrame:
    rows = rows.copy()
    rows["delta_p_target"] = rows["p_target_after"] - rows["p_target_before"]
    rows["delta_p_source"] = rows["p_source_after"] - rows["p_source_before"]
    rows["eligible"] = rows["predicted_before"] == rows["source_label"]
    rows["success"] = rows["eligible"] & (rows["predicted_after"] == rows["target_label"])
    rows["changed"] = rows["predicted_after"] != rows["predicted_before"]
    return rows


def _summary_row(group: pd.DataFrame) -> dict:
    per_clip = group.groupby("clip_id", sort=True)[list(SHIFTS)].mean()
    eligible = group[group["eligible"]]
    moves_target = (group["target_label"] != group["source_label"]).all()
    return {"n_clips": int(group["clip_id"].nunique()), "n_transfers": len(group), "n_eligible": len(eligible),
            "success_rate": float(eligible["success"].mean()) if moves_target and len(eligible) else np.nan,
            "changed_rate": float(group["changed"].mean()),
            **{s: float(per_clip[s].mean()) for s in SHIFTS},
            "chroma_similarity": float(group["chroma_similarity"].mean()),
            "melody_kept": float(group["melody_kept"].mean()),
            "query_rank_median": float(group["query_rank"].median()),
            "query_rank_before_median": float(group["query_rank_before"].median()),
            "gallery_size": int(group["gallery_size"].max()), "_per_clip": per_clip}


def _level(rows: pd.DataFrame, keys: list[str], confidence: float) -> pd.DataFrame:
    """One summary row per group of ``keys``, intervals Bonferroni-corrected across the level."""
    summaries = [{**dict(zip(keys, key)), **_summary_row(group)}
                 for key, group in rows.groupby(keys, sort=True)]
    family = sum(s["n_clips"] >= 2 for s in summaries)
    corrected = 1 - (1 - confidence) / max(family, 1)
    for s in summaries:
        per_clip = s.pop("_per_clip")
        for shift in SHIFTS:
            s[f"{shift}_ci_low"], s[f"{shift}_ci_high"] = mean_t_interval(per_clip[shift].to_numpy(), corrected)
        s["family_size"] = family
    return pd.DataFrame(summaries)


def summarize(rows: pd.DataFrame, confidence: float) -> pd.DataFrame:
    """The style-transfer table: each (kind, operator set, judge, task) pooled over source styles and
    targets (``source_style`` and ``target`` = ``all``), then per source style and target."""
    rows = _with_shifts(rows)
    pooled = _level(rows, KEYS[:4], confidence).assign(source_style=ALL, target=ALL)
    per_pair = _level(rows, KEYS, confidence)
    table = pd.concat([pooled, per_pair], ignore_index=True)[SUMMARY_COLUMNS]
    numeric = table.select_dtypes("float").columns
    table[numeric] = table[numeric].round(DECIMALS)
    return table


def heatmap_values(table: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The two panels of the figure, rows operator sets and columns judges, from the pooled rows:
    the success rate toward the target (style transfers on style, the instrument control on
    instrument), and the mean change of P(source style) of every set on the style task."""
    pooled = table[(table["source_style"] == ALL) & (table["target"] == ALL)]
    moving = pooled[pooled["success_rate"].notna()]
    success = moving.pivot_table(index="operator_set", columns="judge", values="success_rate", sort=False)
    style = pooled[pooled["task"] == "style"]
    shift = style.pivot_table(index="operator_set", columns="judge", values="delta_p_source", sort=False)
    return success, shift
