"""Snakemake script for rule split_repeat: a fresh stratified split of the same clips."""

from musicfusion.io import read_table, write_csv
from musicfusion.splits import resplit
from musicfusion.workflow import log_to

with log_to(snakemake.log[0]):
    clips = resplit(read_table(snakemake.input[0]), snakemake.params.fractions, snakemake.params.seed,
                    snakemake.params.stratify_by)
    write_csv(snakemake.output[0], clips)
    print(clips.groupby("split").size().to_dict())
