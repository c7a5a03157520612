"""Design choices of params.yaml, scored on validation folds only (the test folds are never read).

For each choice it refits the affected method on every fold's training clips with each
alternative and prints the mean validation score over the folds, e.g. the text analyzer
(character n-grams within words against word uni- and bigrams, for text_only) and block scaling
(on against off, for early_fusion). Run after the workflow has built the features:

    python benchmarks/validation_choices.py [--dataset default]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from musicfusion.config import load_params
from musicfusion.featurestore import extract_text, load_features
from musicfusion.io import load_npz
from musicfusion.metrics import score
from musicfusion.train import fit_method, predict_table


def validation_score(method: dict, tasks: list[str], X: dict, clips: pd.DataFrame, seed: int, metric: str) -> dict:
    """The method's validation score per task on one fold."""
    table = predict_table(fit_method(method, tasks, X, clips, seed, metric), tasks, X, clips)
    table = table[table["split"] == "validation"]
    return {task: score(metric, g["true"], g["predicted"]) for task, g in table.groupby("task")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="default")
    parser.add_argument("--params", default="params.yaml")
    args = parser.parse_args()
    params = load_params(args.params)
    tasks, seed, metric = params["tasks"], params["seed"], params["evaluate"]["selection_metric"]
    n_folds = params["evaluate"]["folds"] * params["evaluate"]["repetitions"]
    features = Path("data/processed") / args.dataset / "features"
    shards = [load_npz(p) for p in sorted(Path("data/interim", args.dataset, "text").glob("shard-*.npz"))]
    text_settings = params["features"]["text"]
    alternatives = {
        ("text analyzer", "text_only", "char_wb 2-4 (params)"): (params["methods"]["text_only"], text_settings),
        ("text analyzer", "text_only", "word 1-2"): (params["methods"]["text_only"],
                                                     {**text_settings, "analyzer": "word", "ngram_range": [1, 2]}),
        ("block scaling", "early_fusion", "on (params)"): ({**params["methods"]["early_fusion"], "block_scaling": True},
                                                           text_settings),
        ("block scaling", "early_fusion", "off"): ({**params["methods"]["early_fusion"], "block_scaling": False},
                                                   text_settings),
    }
    rows = []
    for fold in range(n_folds):
        X, clips = load_features(features, ["audio", "video"], fold)
        for (choice, method_name, option), (method, text_params) in alternatives.items():
            X["text"] = extract_text(shards, clips, text_params)[0]["X"]
            for task, value in validation_score(method, tasks, X, clips, seed, metric).items():
                rows.append({"choice": choice, "method": method_name, "option": option, "task": task,
                             "fold": fold, metric: value})
    table = pd.DataFrame(rows).groupby(["choice", "method", "option", "task"], sort=False)[metric]
    summary = table.agg(["mean", "std"]).round(3).reset_index()
    summary["folds"] = n_folds
    print(f"validation {metric}, mean and std over {n_folds} folds (test folds never read)")
    print(summary.to_string(index=False))


if __name__ == "__main__":
    main()
