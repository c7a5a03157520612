"""Snakemake script for rule describe_dataset: clips per label and split."""

from musicfusion.data.clip_table import describe_dataset
from musicfusion.plumbing.files import read_table, write_csv
from musicfusion.plumbing.scriptlog import log_to

with log_to(snakemake.log[0]):
    table = describe_dataset(read_table(snakemake.input[0]), snakemake.params.tasks, snakemake.params.derived)
    write_csv(snakemake.output[0], table)
    print(table.to_string(index=False))
