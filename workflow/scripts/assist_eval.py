"""Snakemake script for rule assist_eval: how good `musicfusion assist`'s answers are for held-out clips."""

from pathlib import Path

import pandas as pd

from musicfusion.apps.assist_eval import (
    ALL,
    chosen_methods,
    queries,
    reference_ranks,
    sketch_agreement,
    suggestion_predictions,
    tempo_estimates,
)
from musicfusion.apps.restyle import judging_folds, select_sources
from musicfusion.crossmodal.experiment import load_bundle
from musicfusion.evaluation import assist as table
from musicfusion.evaluation.calibration import confidence_table
from musicfusion.evaluation.plots import reliability_diagram, save_png
from musicfusion.features.matrices import load_features
from musicfusion.features.shards import clips_by_id
from musicfusion.plumbing.files import load_npz, load_pickle, read_table, write_csv
from musicfusion.plumbing.scriptlog import log_to

with log_to(snakemake.log[0]):
    params, settings = snakemake.params, snakemake.params.assist["evaluation"]
    feature_dir = Path(snakemake.input.clips).parent
    summary = read_table(snakemake.input.summary)
    methods = {name: params.methods[name] for name in params.fusion_methods}
    chosen = chosen_methods(summary, params.tasks, params.selection_metric, methods, params.modalities)
    used = sorted({name for by_task in chosen.values() for name in by_task.values()})
    keys = sorted({key for name in used for key in methods[name]["modalities"]})
    fold_models = {name: load_pickle(Path(snakemake.input.fold_models[params.fusion_methods.index(name)]))
                   for name in used}
    folds = (load_features(feature_dir, keys, fold, complete=False) for fold in range(params.n_folds))
    predictions = suggestion_predictions(folds, fold_models, chosen, methods, params.tasks)
    rows = table.suggestion_rows(predictions, params.confidence, int(params.assist["calibration_bins"]))

    manifest = read_table(snakemake.input.manifest).set_index("clip_id")
    if "pulse_bpm" in manifest.columns:
        media = {m: clips_by_id((load_npz(path) for path in snakemake.input.media if Path(path).parent.name == m), m)
                 for m in ("audio", "video", "score") if m in params.modalities}
        truth = pd.to_numeric(manifest["pulse_bpm"]).to_dict()
        estimates = tempo_estimates(media, truth, {"preprocess": params.preprocess, "assist": params.assist})
        rows += table.tempo_rows(estimates, settings["tempo_tolerances"], params.confidence)

    reference_keys = [m for m in ("audio", "score", "text", "video") if m in params.modalities]
    X, clips = load_features(feature_dir, reference_keys, None, complete=False)
    pairs = {Path(path).stem.split("_to_")[0]: load_bundle(path) for path in snakemake.input.pairs}
    query_sets = {name: tuple(m for m in kept if m in pairs or m in ("audio", "score"))
                  for name, kept in queries(params.modalities).items()}
    ranks = reference_ranks({k: v for k, v in X.items() if k in ("audio", "score") or k in pairs}, clips, pairs,
                            "audio", query_sets, "style")
    rows += table.reference_rows(ranks, settings["recall_at"], params.confidence)

    if params.sketches:
        per_style = int(settings["sketch_clips_per_style"])
        sample = pd.concat([select_sources(clips, style, per_style, params.seed)
                            for style in sorted(set(clips["style"].astype(str)) - {""})], ignore_index=True)
        fold_tables = [read_table(path) for path in snakemake.input.folds]
        needed = sorted({judging_folds(fold_tables)[c] for c in sample["clip_id"]})
        suggest = chosen[ALL]["style"]
        judge_keys = params.methods[params.judge]["modalities"]
        folds_X = {fold: load_features(feature_dir, sorted(set(methods[suggest]["modalities"]) | set(judge_keys)),
                                       fold, complete=False) for fold in needed}
        notes_of = clips_by_id((load_npz(path) for path in snakemake.input.media if Path(path).parent.name == "score"),
                               "score")
        agreement = sketch_agreement(
            sample=sample, fold_tables=fold_tables, folds_X=folds_X,
            suggest=(suggest, methods[suggest]["modalities"]), fold_models=fold_models | {
                params.judge: load_pickle(snakemake.input.judge[0])},
            judge=(params.judge, judge_keys), notes_of=notes_of,
            programs=pd.to_numeric(manifest["program"]).to_dict(), library_X=X, library_clips=clips, pairs=pairs,
            settings={"operators": params.operators, "profile": params.profile, "clip_seconds": params.clip_seconds,
                      "render": params.render, "preprocess": params.preprocess, "features": params.features},
            tasks=params.tasks)
        print(agreement.to_string(index=False))
        rows += table.sketch_rows(agreement, params.confidence)

    result = table.assist_table(rows, int(settings["decimals"]))
    write_csv(snakemake.output.table, result)
    write_csv(snakemake.output.predictions, predictions.round(6))
    reliability = {}
    for (task, query), group in predictions.groupby(["task", "query"], sort=False):
        correct = (group["true"] == group["predicted"]).to_numpy()
        reliability[f"{query} / {task}"] = confidence_table(group["confidence"].to_numpy(), correct,
                                                            int(params.assist["calibration_bins"]))
    save_png(reliability_diagram(reliability, "assist: reliability of the suggestions"), snakemake.output.figure)
    print(result.to_string(index=False))
