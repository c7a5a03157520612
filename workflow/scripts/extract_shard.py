"""Snakemake script for rule extract_shard: audio or video features of one shard."""

from musicfusion.featurestore import extract_shard
from musicfusion.io import load_npz, save_npz
from musicfusion.workflow import log_to

with log_to(snakemake.log[0]):
    modality, settings = snakemake.wildcards.modality, snakemake.params.extract
    features = extract_shard(modality, load_npz(snakemake.input[0]), settings["features"], settings["sample_rate"])
    save_npz(snakemake.output[0], **features)
    print(f"{modality}: {len(features['clip_ids'])} clips")
