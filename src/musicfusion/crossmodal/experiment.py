"""Transfer evaluation: fit every configured mapping per (source -> target) pair, score retrieval.

For one pair, :func:`run_pair` fits each ``transfer.methods`` entry on the training clips
(:mod:`musicfusion.crossmodal.mappings` does the preprocessing and the mapping), then on the **test** clips
measures how well the mapped source matches the target (``r2``, ``cosine_mean``) and how well a
source clip retrieves its own target among all test clips (recall@K, median rank, MRR, each with
its chance level, and a permutation test of the MRR against chance that shuffles the gallery).
Style precision@K leaves the query's own item out. The retrieval MRR on the **validation**
clips picks the method that ``musicfusion recommend`` uses, so the test split never influences
a choice.

:func:`summarize_transfer` gathers every pair into one table (Holm-adjusting the p-values
against chance across it), draws the recall@k curves, and tests each pair of methods for a
difference in MRR with a paired bootstrap over the same test queries. The bootstrap holds here:
the fitted mappings are fixed and the test queries independent, so it answers "on these test
clips, does mapping a retrieve better than mapping b?" (training variance is not part of it).

Both return data (:class:`PairResult`, :class:`TransferSummary`); the workflow's scripts write it.
Files of one pair (``<pair>`` = ``<source>_to_<target>``):

* ``results/transfer/<pair>/metrics.json``: per method its type, settings, test metrics and
  validation MRR; the split sizes; the best method on validation;
* ``results/transfer/<pair>/ranks.csv``: ``clip_id, method, rank`` of every test query, for
  paired tests;
* ``results/transfer/<pair>/recall_at_k.png``: the pair's recall@k curves;
* ``models/transfer/<pair>.pkl``: a dict (see :data:`BUNDLE_KEYS`) holding every fitted mapping
  and the name of the best on validation.
"""

from __future__ import annotations

import itertools
import logging
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from musicfusion.crossmodal.mappings import build_mapping
from musicfusion.crossmodal.retrieval import (
    label_precision,
    mapping_metrics,
    rank_matrix,
    recall_curve,
    retrieval_metrics,
)
from musicfusion.data.manifest import SPLITS
from musicfusion.evaluation import plots
from musicfusion.evaluation.metrics import DECIMALS
from musicfusion.evaluation.stats import holm, paired_bootstrap, permutation_test
from musicfusion.plumbing.files import load_pickle

log = logging.getLogger(__name__)

RANK_COLUMNS = ["clip_id", "method", "rank"]
BUNDLE_KEYS = ("source", "target", "dataset", "mappings", "best_on_validation", "method_params",
               "pca_components", "seed", "n_features")
"""Keys of the pickled dict in ``models/transfer/<pair>.pkl``."""

MAPPING_METRICS = ("r2", "cosine_mean")
SIGNIFICANCE_COLUMNS = ["source", "target", "method_a", "method_b", "n_test", "mrr_a", "mrr_b",
                        "difference", "ci_low", "ci_high", "p_raw", "p_holm", "significant"]


def pair_name(source: str, target: str) -> str:
    """The pair's name in file paths and MLflow run names: ``video_to_audio``."""
    return f"{source}_to_{target}"


# p_vs_chance comes from run_pair's permutation test; summarize_transfer adds its Holm adjustment.
CHANCE_TEST_COLUMNS = ["p_vs_chance", "p_vs_chance_holm"]


def transfer_columns(recall_at, label: str) -> list[str]:
    """Columns of results/transfer.csv, in order, for the configured recall@K list and the task
    whose labels class-level precision counts (the dataset's first)."""
    ks = [int(k) for k in recall_at]
    return (["source", "target", "method", "type", *MAPPING_METRICS]
            + [f"recall@{k}" for k in ks] + ["median_rank", "mrr", *CHANCE_TEST_COLUMNS]
            + [f"chance_recall@{k}" for k in ks] + ["chance_median_rank", "chance_mrr"]
            + [f"{label}_precision@{k}" for k in ks] + [f"chance_{label}_precision@{k}" for k in ks]
            + ["n_test", "best_on_validation", "validation_mrr"])


def best_on_validation(validation_mrr: dict[str, float]) -> str:
    """The method with the highest validation MRR; ties go to the first in params order."""
    if not validation_mrr:
        raise ValueError("no method to choose from")
    names = list(validation_mrr)
    return max(names, key=lambda m: (validation_mrr[m], -names.index(m)))


def _split_rows(clips: pd.DataFrame, where: str) -> dict[str, np.ndarray]:
    masks = {split: (clips["split"] == split).to_numpy() for split in SPLITS}
    empty = [split for split, mask in masks.items() if mask.sum() < 2]
    if empty:
        # One clip per split would make retrieval trivial (rank 1 always) and PCA impossible.
        raise ValueError(f"{where}: split(s) {empty} hold fewer than 2 clips; transfer needs at least 2 "
                         f"in each of {list(SPLITS)}")
    return masks


def mrr_against_chance(ranks: np.ndarray, n_permutations: int, seed: int) -> float:
    """One-sided permutation p-value of the MRR against chance: the gallery is shuffled, so
    query i's true item becomes a random one (``ranks`` is :func:`musicfusion.crossmodal.mappings.rank_matrix`)."""
    rows = np.arange(len(ranks))

    def mrr(order: np.ndarray) -> float:
        return float(np.mean(1.0 / ranks[rows, order]))

    return permutation_test(mrr, len(ranks), n_permutations, seed)["p_value"]


def evaluate_mapping(mapping, X_eval: np.ndarray, Y_eval: np.ndarray, recall_at, labels: np.ndarray | None = None,
                     n_permutations: int | None = None, seed: int = 0, label: str | None = None) -> tuple[dict, np.ndarray]:
    """Mapping quality and retrieval metrics of a fitted mapping on aligned rows, and the ranks.

    With ``labels`` (the rows' labels of the task named ``label``), also the class-level precision@K; with
    ``n_permutations``, the permutation p-value of the MRR against chance (``p_vs_chance``).
    """
    source_emb, target_emb = mapping.embed_source(X_eval), mapping.embed_target(Y_eval)
    all_ranks = rank_matrix(source_emb, target_emb)
    ranks = np.diag(all_ranks).copy()
    metrics = {**mapping_metrics(target_emb, source_emb), **retrieval_metrics(ranks, recall_at)}
    if n_permutations:
        metrics["p_vs_chance"] = mrr_against_chance(all_ranks, n_permutations, seed)
    if labels is not None:
        if not label:
            raise ValueError("labels without the name of their task (label)")
        metrics.update(label_precision(source_emb, target_emb, labels, labels, recall_at, name=label))
    return metrics, ranks


@dataclass(frozen=True)
class PairResult:
    """Everything one pair's transfer job produces."""

    metrics: dict  # results/transfer/<pair>/metrics.json
    ranks: pd.DataFrame  # results/transfer/<pair>/ranks.csv
    bundle: dict  # models/transfer/<pair>.pkl (BUNDLE_KEYS)
    figure: Figure  # results/transfer/<pair>/recall_at_k.png


def run_pair(source: str, target: str, X: dict[str, np.ndarray], clips: pd.DataFrame, transfer_params: dict,
             seed: int, label: str, dataset: str | None = None) -> PairResult:
    """Fit and evaluate every configured mapping of one (source -> target) pair.

    ``X`` holds both modalities' feature matrices, rows aligned with ``clips`` (the
    clip table, clips.csv). ``transfer_params`` needs ``methods`` (name -> ``transfer.methods`` entry),
    ``pca_components``, ``recall_at`` and ``permutations`` (the ``transfer`` section of
    params.yaml will do). ``label`` names the task whose labels class-level precision counts.
    Deterministic for a given seed.
    """
    if source == target:
        raise ValueError(f"transfer pair {source} -> {target}: source and target must differ")
    methods: dict = dict(transfer_params["methods"])
    if not methods:
        raise ValueError("transfer.methods is empty: nothing to fit")
    recall_at = [int(k) for k in transfer_params["recall_at"]]
    pca_components = int(transfer_params["pca_components"])
    masks = _split_rows(clips, f"dataset {dataset!r}" if dataset else "the clip table")
    Xs, Xt = X[source], X[target]
    ids_test = clips.loc[masks["test"], "clip_id"].to_numpy()

    mappings, entries, rank_frames, curves, validation_mrr = {}, {}, [], {}, {}
    for name, method_params in methods.items():
        started = time.perf_counter()
        mapping = build_mapping(method_params, pca_components, seed).fit(Xs[masks["train"]], Xt[masks["train"]])
        test_metrics, test_ranks = evaluate_mapping(mapping, Xs[masks["test"]], Xt[masks["test"]], recall_at,
                                                    clips.loc[masks["test"], label].to_numpy(),
                                                    int(transfer_params["permutations"]), seed, label)
        val_metrics, _ = evaluate_mapping(mapping, Xs[masks["validation"]], Xt[masks["validation"]], recall_at)
        log.info("%s -> %s %s: test mrr %.4f (chance %.4f), validation mrr %.4f, %.2f s", source, target,
                 name, test_metrics["mrr"], test_metrics["chance_mrr"], val_metrics["mrr"],
                 time.perf_counter() - started)
        mappings[name] = mapping
        validation_mrr[name] = val_metrics["mrr"]
        entries[name] = {"type": method_params["type"], "params": dict(method_params), "test": test_metrics,
                         "validation_mrr": val_metrics["mrr"]}
        rank_frames.append(pd.DataFrame({"clip_id": ids_test, "method": name, "rank": test_ranks}))
        curves[name] = recall_curve(test_ranks, len(ids_test))
    best = best_on_validation(validation_mrr)

    metrics = {
        "source": source, "target": target, "dataset": dataset, "seed": int(seed),
        "pca_components": pca_components, "recall_at": recall_at, "label": label,
        "n_train": int(masks["train"].sum()), "n_validation": int(masks["validation"].sum()),
        "n_test": int(masks["test"].sum()), "best_on_validation": best,
        # JSON objects are written with sorted keys: the params order (ties, tables) is kept here.
        "method_order": list(methods), "methods": entries,
    }
    bundle = {
        "source": source, "target": target, "dataset": dataset, "mappings": mappings,
        "best_on_validation": best, "method_params": methods, "pca_components": pca_components,
        "seed": int(seed), "n_features": {source: int(Xs.shape[1]), target: int(Xt.shape[1])},
    }
    figure = plots.recall_at_k([(f"{source} \u2192 {target}: recall@k on test (n={len(ids_test)})",
                                 curves, len(ids_test))])
    return PairResult(metrics, pd.concat(rank_frames, ignore_index=True)[RANK_COLUMNS], bundle, figure)


def load_bundle(path: str | Path) -> dict:
    """The pickled mappings of one pair (a dict with :data:`BUNDLE_KEYS`)."""
    bundle = load_pickle(path)
    missing = [k for k in BUNDLE_KEYS if k not in bundle]
    if missing:
        raise ValueError(f"{path}: not a transfer model bundle (missing {missing})")
    return bundle


# --------------------------------------------------------------------------------------------
# Across pairs: summary table, recall curves, significance
# --------------------------------------------------------------------------------------------


def method_order(pair_metrics: dict) -> list[str]:
    """The pair's methods in params order (as run_pair fitted them)."""
    return list(pair_metrics.get("method_order") or pair_metrics["methods"])


def transfer_table(pair_metrics: list[dict]) -> pd.DataFrame:
    """One row per pair and method (pairs in the given order, methods in params order)."""
    if not pair_metrics:
        raise ValueError("no transfer pair to summarise")
    recall_at = pair_metrics[0]["recall_at"]
    rows = []
    for pair in pair_metrics:
        if pair["recall_at"] != recall_at:
            raise ValueError(f"{pair_name(pair['source'], pair['target'])} was scored with recall_at "
                             f"{pair['recall_at']}, others with {recall_at}: rerun the transfer jobs")
        for method in method_order(pair):
            entry = pair["methods"][method]
            rows.append({"source": pair["source"], "target": pair["target"], "method": method,
                         "type": entry["type"], **entry["test"], "n_test": pair["n_test"],
                         "best_on_validation": method == pair["best_on_validation"],
                         "validation_mrr": entry["validation_mrr"]})
    label = pair_metrics[0]["label"]
    table = pd.DataFrame(rows)[[c for c in transfer_columns(recall_at, label) if c != "p_vs_chance_holm"]]
    numeric = [c for c in table.columns if table[c].dtype.kind == "f"]
    return table.round({c: DECIMALS for c in numeric})


def _reciprocal_ranks(ranks: pd.DataFrame, method: str) -> pd.Series:
    rows = ranks[ranks["method"] == method].set_index("clip_id")["rank"]
    return 1.0 / rows.sort_index().astype(np.float64)


def significance_table(pair_metrics: list[dict], pair_ranks: list[pd.DataFrame], n_samples: int, seed: int,
                       confidence: float) -> pd.DataFrame:
    """Every two methods of a pair: paired bootstrap of the difference in test MRR (a minus b).

    Queries (test clips) are resampled with replacement, the same resample for both methods;
    the p-value is two-sided for "no difference" (:func:`musicfusion.evaluation.stats.paired_bootstrap`),
    Holm-adjusted across the whole table, and ``significant`` means p_holm < 1 - confidence.
    """
    rows = []
    for pair, ranks in zip(pair_metrics, pair_ranks):
        for method_a, method_b in itertools.combinations(method_order(pair), 2):
            rr_a, rr_b = _reciprocal_ranks(ranks, method_a), _reciprocal_ranks(ranks, method_b)
            if not rr_a.index.equals(rr_b.index):
                raise ValueError(f"{pair_name(pair['source'], pair['target'])}: {method_a} and {method_b} "
                                 "were not ranked on the same test queries")
            a, b = rr_a.to_numpy(), rr_b.to_numpy()

            def mrr_difference(index, a=a, b=b):
                return float(a[index].mean() - b[index].mean())

            boot = paired_bootstrap(mrr_difference, np.zeros(len(a), dtype=int), n_samples, seed, confidence)
            rows.append({"source": pair["source"], "target": pair["target"], "method_a": method_a,
                         "method_b": method_b, "n_test": len(a), "mrr_a": float(a.mean()),
                         "mrr_b": float(b.mean()), "difference": boot["difference"],
                         "ci_low": boot["ci_low"], "ci_high": boot["ci_high"], "p_raw": boot["p_value"]})
    table = pd.DataFrame(rows, columns=SIGNIFICANCE_COLUMNS[:-2])
    table["p_holm"] = holm(table["p_raw"].to_numpy(dtype=float))
    table["significant"] = table["p_holm"] < 1.0 - confidence
    return table.round({c: DECIMALS for c in ("mrr_a", "mrr_b", "difference", "ci_low", "ci_high", "p_raw", "p_holm")})


def recall_panels(pair_metrics: list[dict], pair_ranks: list[pd.DataFrame]) -> list[tuple]:
    """recall@k curves on the test split, one panel per pair and one curve per method."""
    panels = []
    for pair, ranks in zip(pair_metrics, pair_ranks):
        n = pair["n_test"]
        curves = {}
        for method in method_order(pair):
            best = " (best on validation)" if method == pair["best_on_validation"] else ""
            curves[f"{method}{best}"] = recall_curve(ranks.loc[ranks["method"] == method, "rank"].to_numpy(), n)
        panels.append((f"{pair['source']} \u2192 {pair['target']} (test)", curves, n))
    return panels


def adjust_against_chance(table: pd.DataFrame) -> pd.DataFrame:
    """Add ``p_vs_chance_holm``: the permutation p-values against chance, Holm-adjusted across
    every pair and method of the table (one family of tests)."""
    table = table.copy()
    table.insert(table.columns.get_loc("p_vs_chance") + 1, "p_vs_chance_holm",
                 np.round(holm(table["p_vs_chance"].to_numpy(dtype=float)), DECIMALS))
    return table


@dataclass(frozen=True)
class TransferSummary:
    """Every pair at once: the table, the tests between methods and the recall@k figure."""

    table: pd.DataFrame  # results/transfer.csv (and .md)
    significance: pd.DataFrame  # results/transfer_significance.csv
    figure: Figure  # results/recall_at_k.png


def summarize_transfer(pair_metrics: list[dict], pair_ranks: list[pd.DataFrame], n_samples: int, seed: int,
                       confidence: float) -> TransferSummary:
    """The transfer table of all pairs with Holm-adjusted tests against chance, the tests between
    methods, and the recall@k figure. ``pair_metrics[i]`` and ``pair_ranks[i]`` are the same pair's
    metrics.json and ranks.csv."""
    if len(pair_metrics) != len(pair_ranks):
        raise ValueError(f"{len(pair_metrics)} metrics files but {len(pair_ranks)} ranks files")
    table = adjust_against_chance(transfer_table(pair_metrics))
    significance = significance_table(pair_metrics, pair_ranks, n_samples, seed, confidence)
    return TransferSummary(table, significance, plots.recall_at_k(recall_panels(pair_metrics, pair_ranks)))
