"""Snakemake script for rule split_fold: one fold of repeated stratified group k-fold."""

from musicfusion.data.splits import cv_split, straddling_groups
from musicfusion.plumbing.files import read_table, write_csv
from musicfusion.plumbing.scriptlog import log_to

with log_to(snakemake.log[0]):
    clips = cv_split(read_table(snakemake.input[0]), snakemake.params.tasks, snakemake.params.folds,
                     int(snakemake.wildcards.fold), snakemake.params.seed)
    straddling = straddling_groups(clips)
    if straddling:  # cannot happen with group folds; a guard against a wrong change
        raise RuntimeError(f"groups straddle splits: {straddling[:5]}")
    write_csv(snakemake.output[0], clips)
    print(clips.groupby("split").size().to_dict())
