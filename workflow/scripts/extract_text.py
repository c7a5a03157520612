"""Snakemake script for rules extract_text / extract_text_fold: TF-IDF fitted on train only."""

from musicfusion.features.text import fit_on_split
from musicfusion.plumbing.files import load_npz, read_table, save_npz, save_pickle
from musicfusion.plumbing.scriptlog import log_to

with log_to(snakemake.log[0]):
    # The dataset's own split, or a fold's: its clips.csv.
    split_table = snakemake.input.clips
    features, vectorizer = fit_on_split([load_npz(path) for path in snakemake.input.shards],
                                        read_table(split_table), snakemake.params.features, where=split_table)
    if "vectorizer" in snakemake.output.keys():
        save_pickle(snakemake.output.vectorizer, vectorizer)
    save_npz(snakemake.output.features, **features)
    print(f"text: {len(features['clip_ids'])} clips")
