"""Snakemake script for rules extract_audio / extract_video: features of one shard."""

from musicfusion.featurestore import extract_shard
from musicfusion.workflow import log_to

with log_to(snakemake.log[0]):
    modality = snakemake.rule.removeprefix("extract_")
    n = extract_shard(modality, snakemake.input[0], snakemake.output[0], snakemake.params.features,
                      snakemake.params.sample_rate)
    print(f"{modality}: {n} clips")
