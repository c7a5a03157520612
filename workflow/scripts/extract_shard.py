"""Snakemake script for rules extract_shard / extract_control_shard: one shard's features."""

from musicfusion.features.shards import extract_control_shard, extract_shard
from musicfusion.plumbing.files import load_npz, save_npz
from musicfusion.plumbing.scriptlog import log_to

with log_to(snakemake.log[0]):
    modality, settings = snakemake.wildcards.modality, snakemake.params.extract
    shard = load_npz(snakemake.input[0])
    if settings["feature_kind"] == "control":
        features = extract_control_shard(modality, shard, settings["features"], settings["sample_rate"],
                                         settings["fps"])
    else:
        features = extract_shard(modality, shard, settings["features"], settings["sample_rate"])
    save_npz(snakemake.output[0], **features)
    print(f"{modality} ({settings['feature_kind']}): {len(features['clip_ids'])} clips")
