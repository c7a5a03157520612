"""Snakemake script for rule gather_features: one matrix per modality, rows sorted by clip id."""

from musicfusion.featurestore import gather
from musicfusion.workflow import log_to

with log_to(snakemake.log[0]):
    print(f"{gather(list(snakemake.input), snakemake.output[0])} clips")
