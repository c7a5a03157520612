"""Snakemake script for rule describe_dataset: clips per label and split."""

from musicfusion.results import describe_dataset
from musicfusion.workflow import log_to

with log_to(snakemake.log[0]):
    print(describe_dataset(snakemake.input[0], snakemake.output[0]).to_string(index=False))
