"""Design choices of params.yaml, scored on validation folds only (the test folds are never read).

For each choice it fits the affected method on every fold's training clips with each
alternative and prints the mean validation score over the folds:
- ``text analyzer``: character n-grams within words against word uni- and bigrams (text_only,
  untuned learner);
- ``block scaling``: on against off (early_fusion, untuned learner);
- ``learner``: each learner per modality (single-modality method), each tuned with the committed
  budget (params.yaml ``tuning``); the score is that of the configuration the search chose;
- ``pitch summaries``: the pitch CNN's summaries (features.pitch_cnn) all, without the per-key
  activations (key-invariant and register only), or the per-key activations only (audio_pitch_cnn,
  tuned);
- ``pitch cnn in fusion``: late fusion and stacking over the dataset's modalities, with and without
  the pitch CNN's feature set as one more block (tuned).
Run after the workflow has built the features:

    python benchmarks/validation_choices.py [--dataset default] [--choices learner ...]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from musicfusion import MODALITIES
from musicfusion.evaluation.metrics import score
from musicfusion.evaluation.stats import corrected_resampled_t
from musicfusion.features.matrices import load_features
from musicfusion.features.pitch_cnn import summary_columns
from musicfusion.features.text import fit_on_split
from musicfusion.models.methods import MethodSpec, parse_method
from musicfusion.models.train import Tuning, fit_fold
from musicfusion.plumbing.config import load_params, resolve_methods
from musicfusion.plumbing.files import load_npz
from musicfusion.plumbing.paths import Layout

CHOICES = ("text analyzer", "block scaling", "learner", "pitch summaries", "pitch cnn in fusion")
PITCH = "audio.pitch_cnn"


def validation_score(spec: MethodSpec, tasks: list[str], X: dict, clips: pd.DataFrame, seed: int,
                     tuning: Tuning) -> tuple[dict, float]:
    """The method's validation score per task on one fold (its chosen configuration's), and the
    fold's n_validation / n_train (the corrected t's ratio)."""
    table = fit_fold(spec, tasks, X, clips, seed, tuning, test=False).predictions
    table = table[(table["split"] == "validation") & (table["configuration"] == "tuned")]
    ratio = (clips["split"] == "validation").sum() / (clips["split"] == "train").sum()
    return ({task: score(tuning.selection_metric, g["true"], g["predicted"]) for task, g in table.groupby("task")},
            float(ratio))


def paired_tests(rows: pd.DataFrame, metric: str, confidence: float) -> pd.DataFrame:
    """Each option against its choice's params.yaml option, on the same validation folds: the mean
    paired difference, its corrected interval and raw p (Nadeau-Bengio; a handful of comparisons,
    so read them as guidance for a design choice, not as findings)."""
    out = []
    for (choice, method, task), group in rows.groupby(["choice", "method", "task"], sort=False):
        options = group.pivot(index="fold", columns="option", values=metric)
        ratios = group.pivot(index="fold", columns="option", values="ratio")
        chosen = [o for o in options.columns if "(params)" in o]
        for option in options.columns:
            if not chosen or option == chosen[0]:
                continue
            test = corrected_resampled_t(options[option] - options[chosen[0]], float(ratios[option].mean()),
                                         confidence)
            out.append({"choice": choice, "method": method, "task": task, "option": option,
                        "against": chosen[0], "difference": round(test["mean"], 3),
                        "ci_low": round(test["ci_low"], 3), "ci_high": round(test["ci_high"], 3),
                        "p_raw": round(test["p_value"], 4)})
    return pd.DataFrame(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="default")
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--choices", nargs="+", choices=CHOICES, default=list(CHOICES))
    parser.add_argument("--folds", type=int, default=None, help="score the first N folds only (default: all)")
    parser.add_argument("--out", default=None, help="also write every fold's score to this CSV")
    args = parser.parse_args()
    params = load_params(args.params)
    tasks, seed, metric = params["tasks"], params["seed"], params["evaluate"]["selection_metric"]
    tuned = Tuning(params["tuning"]["n_trials"], params["tuning"]["startup_trials"], metric)
    untuned = Tuning(1, params["tuning"]["startup_trials"], metric)
    n_folds = args.folds or params["evaluate"]["folds"] * params["evaluate"]["repetitions"]
    layout = Layout(args.dataset)
    features = Path(layout.features)
    shards = [load_npz(p) for p in sorted(Path(layout.interim, "text").glob("shard-*.npz"))]
    text_settings = params["features"]["text"]
    methods = resolve_methods(params["methods"], MODALITIES)[0]  # `modalities: dataset` made concrete
    alternatives = {
        ("text analyzer", "text_only", "char_wb 2-4 (params)"): (params["methods"]["text_only"], text_settings),
        ("text analyzer", "text_only", "word 1-2"): (params["methods"]["text_only"],
                                                     {**text_settings, "analyzer": "word", "ngram_range": [1, 2]}),
        ("block scaling", "early_fusion", "on (params)"): ({**methods["early_fusion"], "block_scaling": True},
                                                           text_settings),
        ("block scaling", "early_fusion", "off"): ({**methods["early_fusion"], "block_scaling": False},
                                                   text_settings),
    }
    alternatives.update({
        ("learner", f"{modality}_only", learner): ({"type": "single_modality", "modalities": [modality],
                                                    "learner": learner}, text_settings)
        for modality in ("audio", "video", "text") for learner in params["learners"]})
    summaries = params["features"]["pitch_cnn"]["summaries"]
    for option, chosen in (("all (params)", summaries),
                           ("without key_activations", [s for s in summaries if s != "key_activations"]),
                           ("key_activations only", ["key_activations"])):
        alternatives[("pitch summaries", "audio_pitch_cnn", option)] = (
            {"type": "single_modality", "modalities": [PITCH], "learner": "logistic", "summaries": chosen},
            text_settings)
    for name in ("late_fusion", "stacking"):
        alternatives[("pitch cnn in fusion", name, "without (params)")] = (methods[name], text_settings)
        with_pitch = {**methods[name], "modalities": [*methods[name]["modalities"], PITCH],
                      "learner": {**methods[name]["learner"], PITCH: "logistic"}}
        alternatives[("pitch cnn in fusion", name, "with audio.pitch_cnn")] = (with_pitch, text_settings)
    alternatives = {key: value for key, value in alternatives.items() if key[0] in args.choices}
    columns = summary_columns()
    rows = []
    for fold in range(n_folds):
        X, clips = load_features(features, ["audio", "video", "score", PITCH], fold)
        pitch = load_npz(features / f"{PITCH}.npz")["feature_names"].tolist()
        for (choice, method_name, option), (method, text_params) in alternatives.items():
            X["text"] = fit_on_split(shards, clips, text_params)[0]["X"]
            tuning = untuned if choice in ("text analyzer", "block scaling") else tuned
            inputs = X
            if "summaries" in method:  # the chosen summaries' columns of the extracted set
                method = dict(method)
                kept = [pitch.index(c) for s in method.pop("summaries") for c in columns[s]]
                inputs = {**X, PITCH: X[PITCH][:, kept]}
            spec = parse_method(method, params["learners"])
            scores, ratio = validation_score(spec, tasks, inputs, clips, seed, tuning)
            for task, value in scores.items():
                rows.append({"choice": choice, "method": method_name, "option": option, "task": task,
                             "fold": fold, metric: value, "ratio": ratio})
    rows = pd.DataFrame(rows)
    if args.out:
        rows.to_csv(args.out, index=False)
    summary = rows.groupby(["choice", "method", "option", "task"], sort=False)[metric].agg(["mean", "std"])
    summary = summary.round(3).reset_index()
    summary["folds"] = n_folds
    print(f"validation {metric}, mean and std over {n_folds} folds (test folds never read)")
    print(summary.to_string(index=False))
    if n_folds > 1:
        print(f"\neach option minus the params.yaml option, paired over the {n_folds} validation folds")
        print(paired_tests(rows, metric, params["evaluate"]["confidence"]).to_string(index=False))


if __name__ == "__main__":
    main()
