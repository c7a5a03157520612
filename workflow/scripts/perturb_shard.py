"""Snakemake script for rule perturb_shard: one shard's media degraded at every noise level, features re-extracted."""

from musicfusion.evaluation.perturbed_features import perturbed_shard_features
from musicfusion.plumbing.files import load_npz, save_npz
from musicfusion.plumbing.scriptlog import log_to

with log_to(snakemake.log[0]):
    modality, params = snakemake.wildcards.modality, snakemake.params
    shard = load_npz(snakemake.input[0])
    features = perturbed_shard_features(modality, shard, params.noise, params.seed, params.settings)
    save_npz(snakemake.output[0], **features)
    print(f"{modality}: {len(features['clip_ids'])} clips, {len(features) - 1} perturbed arrays")
