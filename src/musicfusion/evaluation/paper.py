"""A published table rerun: cross-validate a paper's learners on its tunes and compare with its figures.

Two protocols, on the same tunes and features:

- ``ungrouped``: the paper's, stratified k-fold cross-validation, here repeated so that our
  figure has an interval (Weka's one 10-fold run gives a single number);
- ``grouped``: what the paper could not do, folds grouped by tune (musicfusion.data.presets.paper_tunes),
  so that variants of one melody never sit on both sides of a split.

Every fold's percent correct goes to a table; :func:`comparison_table` gives each learner's mean
and corrected resampled t interval (musicfusion.evaluation.stats) per protocol beside the paper's
figure and a verdict: *reproduced* when the paper's figure lies inside our interval of the
paper's protocol, else *not reproduced, by N points* (N = |ours - paper|).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

# scikit-learn and the statistics (scipy) are imported where they are used: the workflow reads
# PROTOCOLS when it starts, and every Snakemake invocation would pay for them.
PROTOCOLS = ("ungrouped", "grouped")
PAPER_PROTOCOL = "ungrouped"
FOLD_COLUMNS = ["protocol", "learner", "repetition", "fold", "n_train", "n_test", "n_correct", "percent_correct"]
# Figures are reported to this many decimals of a percentage point.
PERCENT_DECIMALS = 2
REPRODUCED = "reproduced"


def splits(labels: np.ndarray, groups: np.ndarray, protocol: str, folds: int, repetitions: int,
           seed: int) -> list[tuple[int, int, np.ndarray, np.ndarray]]:
    """(repetition, fold, train indices, test indices) of every fold of ``protocol``, seeded."""
    from sklearn.model_selection import RepeatedStratifiedKFold, StratifiedGroupKFold

    if protocol == "ungrouped":
        splitter = RepeatedStratifiedKFold(n_splits=folds, n_repeats=repetitions, random_state=seed)
        return [(i // folds, i % folds, train, test)
                for i, (train, test) in enumerate(splitter.split(np.zeros(len(labels)), labels))]
    if protocol == "grouped":
        out = []
        for repetition in range(repetitions):
            splitter = StratifiedGroupKFold(n_splits=folds, shuffle=True, random_state=seed + repetition)
            out += [(repetition, fold, train, test)
                    for fold, (train, test) in enumerate(splitter.split(np.zeros(len(labels)), labels, groups))]
        return out
    raise ValueError(f"unknown protocol {protocol!r}; one of {PROTOCOLS}")


def cross_validate(learner, X: np.ndarray, labels: np.ndarray, folds_of_protocol, protocol: str,
                   name: str) -> pd.DataFrame:
    """One row per fold (:data:`FOLD_COLUMNS`): ``learner`` refitted on each training part and
    scored on its test part."""
    from sklearn.base import clone

    rows = []
    for repetition, fold, train, test in folds_of_protocol:
        model = clone(learner).fit(X[train], labels[train])
        correct = int((model.predict(X[test]) == labels[test]).sum())
        rows.append({"protocol": protocol, "learner": name, "repetition": repetition, "fold": fold,
                     "n_train": len(train), "n_test": len(test), "n_correct": correct,
                     "percent_correct": 100.0 * correct / len(test)})
    return pd.DataFrame(rows, columns=FOLD_COLUMNS)


def verdict(published: float, ci_low: float, ci_high: float, mean: float) -> str:
    """*reproduced* when the published figure lies inside [ci_low, ci_high], else by how far our mean misses it."""
    if ci_low <= published <= ci_high:
        return REPRODUCED
    return f"not reproduced, by {abs(mean - published):.1f} points"


def _protocol_stats(rows: pd.DataFrame, confidence: float) -> dict:
    from musicfusion.evaluation.stats import corrected_resampled_t

    ratio = float((rows["n_test"] / rows["n_train"]).mean())
    stats = corrected_resampled_t(rows["percent_correct"].to_numpy(), ratio, confidence)
    # A percentage lies in [0, 100]: the t interval is cut there (a few folds can stretch it past).
    low, high = (float(np.clip(stats[bound], 0.0, 100.0)) for bound in ("ci_low", "ci_high"))
    return {"mean": stats["mean"], "ci_low": low, "ci_high": high, "n_folds": len(rows)}


def comparison_table(fold_scores: pd.DataFrame, learners: Mapping[str, Mapping], confidence: float,
                     reasons: Mapping[str, str] | None = None) -> pd.DataFrame:
    """One row per learner (in ``learners``' order): the paper's percent correct, ours under the
    paper's protocol (mean and corrected interval), the difference, the verdict, ours with folds
    grouped by tune and how far grouping moved it. ``learners`` is the papers entry's
    ``learners`` (each with its ``published`` figure); ``reasons`` a known reason per learner
    for a figure that is not reproduced."""
    rows = []
    for name, entry in learners.items():
        published = float(entry["published"])
        mine = fold_scores[fold_scores["learner"] == name]
        if mine.empty:
            raise ValueError(f"no fold scores for learner {name!r}")
        stats = {p: _protocol_stats(mine[mine["protocol"] == p], confidence) for p in PROTOCOLS
                 if (mine["protocol"] == p).any()}
        if PAPER_PROTOCOL not in stats:
            raise ValueError(f"learner {name!r} has no fold scores under the paper's protocol ({PAPER_PROTOCOL})")
        ours, grouped = stats[PAPER_PROTOCOL], stats.get("grouped")
        row = {"learner": name, "paper_percent": published, "ours_percent": ours["mean"],
               "ours_ci_low": ours["ci_low"], "ours_ci_high": ours["ci_high"],
               "difference": ours["mean"] - published,
               "verdict": verdict(published, ours["ci_low"], ours["ci_high"], ours["mean"]),
               "grouped_percent": np.nan, "grouped_ci_low": np.nan, "grouped_ci_high": np.nan,
               "grouping_effect": np.nan, "n_folds": ours["n_folds"]}
        if grouped is not None:
            row.update({"grouped_percent": grouped["mean"], "grouped_ci_low": grouped["ci_low"],
                        "grouped_ci_high": grouped["ci_high"], "grouping_effect": grouped["mean"] - ours["mean"]})
        row["reason"] = "" if row["verdict"] == REPRODUCED else (reasons or {}).get(name, "")
        rows.append(row)
    table = pd.DataFrame(rows)
    numeric = table.select_dtypes("number").columns.drop("n_folds")
    table[numeric] = table[numeric].round(PERCENT_DECIMALS)
    return table


def _signed(value: float) -> str:
    """+1.2 / -0.3, and +0.0 for a difference that rounds to nothing (not -0.0)."""
    return f"{round(value, 1) + 0.0:+.1f}"


def comparison_markdown(table: pd.DataFrame, citation: str, n_tunes: int, class_counts: Mapping[str, int],
                        folds: int, repetitions: int, confidence: float) -> str:
    """The comparison as a page a reader can check: what was rerun, and one line per learner."""
    level = f"{confidence:.0%}"
    counts = ", ".join(f"{label} {count}" for label, count in class_counts.items())
    lines = [f"# Reproduced: {citation}", "",
             f"{n_tunes} tunes ({counts}); {folds}-fold stratified cross-validation repeated {repetitions} times; "
             f"means with corrected resampled t {level} intervals (Nadeau & Bengio). A figure is *reproduced* "
             "when the paper's lies inside our interval. *Grouped*: folds grouped by tune (the same opening "
             "melody never on both sides of a split), which the paper did not do.", "",
             f"| learner | paper % | ours % ({level} CI) | ours - paper | verdict | grouped % ({level} CI) "
             "| grouped - ungrouped |",
             "|---|---:|---:|---:|---|---:|---:|"]
    for row in table.to_dict("records"):
        grouped = "-" if pd.isna(row["grouped_percent"]) else (
            f"{row['grouped_percent']:.1f} [{row['grouped_ci_low']:.1f}, {row['grouped_ci_high']:.1f}]")
        effect = "-" if pd.isna(row["grouping_effect"]) else _signed(row["grouping_effect"])
        verdict_text = row["verdict"] + (f" ({row['reason']})" if row["reason"] else "")
        lines.append(f"| {row['learner']} | {row['paper_percent']:g} | {row['ours_percent']:.1f} "
                     f"[{row['ours_ci_low']:.1f}, {row['ours_ci_high']:.1f}] | {_signed(row['difference'])} "
                     f"| {verdict_text} | {grouped} | {effect} |")
    return "\n".join(lines) + "\n"
