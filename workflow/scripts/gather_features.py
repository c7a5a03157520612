"""Snakemake script for rule gather_features: one matrix per modality, rows sorted by clip id."""

from musicfusion.features.shards import gather
from musicfusion.plumbing.files import load_npz, save_npz
from musicfusion.plumbing.scriptlog import log_to

with log_to(snakemake.log[0]):
    features = gather([load_npz(path) for path in snakemake.input], what=snakemake.output[0])
    save_npz(snakemake.output[0], **features)
    print(f"{len(features['clip_ids'])} clips")
