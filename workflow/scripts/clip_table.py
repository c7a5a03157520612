"""Snakemake script for rule clip_table: split and labels in the feature matrices' row order."""

from musicfusion.featurestore import write_clip_table
from musicfusion.workflow import log_to

with log_to(snakemake.log[0]):
    table = write_clip_table(list(snakemake.input.features), snakemake.input.manifest, snakemake.output[0])
    print(table.groupby("split").size().to_dict())
