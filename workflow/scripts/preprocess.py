"""Snakemake script for rule preprocess: validate and preprocess one shard of clips."""

from musicfusion.preprocess import preprocess_shard
from musicfusion.workflow import log_to

with log_to(snakemake.log[0]):
    params = snakemake.params.preprocess
    bad = preprocess_shard(snakemake.input.manifest, int(snakemake.wildcards.shard), params["n_shards"],
                           snakemake.params.clip_seconds, params,
                           {m: snakemake.output[m] for m in ("audio", "video", "text")},
                           snakemake.output.bad_clips)
    print(f"shard {snakemake.wildcards.shard}: {len(bad)} bad clips skipped")
