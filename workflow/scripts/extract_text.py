"""Snakemake script for rule extract_text: TF-IDF fitted on the training split only."""

from musicfusion.featurestore import extract_text
from musicfusion.workflow import log_to

with log_to(snakemake.log[0]):
    n = extract_text(list(snakemake.input.shards), snakemake.input.manifest, snakemake.output[0],
                     snakemake.params.features)
    print(f"text: {n} clips")
