"""Snakemake script for rule restyle_clips: the chosen test clips of one style moved toward every other
style (and the instrument and tempo controls), re-rendered and judged by the fold models that held them out."""

from pathlib import Path

import numpy as np

from musicfusion.apps.restyle import Judge, restyle_style
from musicfusion.crossmodal.experiment import load_bundle
from musicfusion.features.matrices import load_features
from musicfusion.features.shards import clips_by_id
from musicfusion.plumbing.files import load_npz, load_pickle, read_table, write_csv
from musicfusion.plumbing.scriptlog import log_to

with log_to(snakemake.log[0]):
    params, inputs = snakemake.params, snakemake.input
    feature_dir = Path(inputs.clips).parent
    notes_of = clips_by_id((load_npz(path) for path in inputs.notes), "score")
    manifest = read_table(inputs.manifest)
    judges = [Judge(name, tuple(modalities), load_pickle(path))
              for (name, modalities), path in zip(params.judges.items(), inputs.fold_models)]
    mapping = None
    if params.query_pair:
        bundle = load_bundle(inputs.query_model)
        mapping = bundle["mappings"][bundle["best_on_validation"]]
    rows = restyle_style(
        snakemake.wildcards.style, clips=read_table(inputs.clips), fold_tables=[read_table(p) for p in inputs.folds],
        notes_of=notes_of, programs=dict(zip(manifest["clip_id"], manifest["program"].astype(int))),
        instruments=params.render["instruments"], judges=judges,
        fold_features=lambda fold, modalities: load_features(feature_dir, modalities, fold, complete=False),
        mapping=mapping, query_pair=tuple(params.query_pair) if params.query_pair else None,
        settings=params.settings, render_settings=params.render, clip_seconds=params.clip_seconds,
        max_repeats=params.render["max_repeats"], preprocess_params=params.preprocess,
        feature_params=params.features, tasks=params.tasks, seed=params.seed,
        work_dir=Path(snakemake.output[0]).parent)
    write_csv(snakemake.output[0], rows)
    print(rows.groupby(["kind", "judge", "task"])[["p_target_after", "p_target_before"]].mean().round(3).to_string())
    print(f"{rows['clip_id'].nunique()} clips, {len(rows)} rows; mean chroma similarity "
          f"{np.mean(rows['chroma_similarity']):.3f}")
