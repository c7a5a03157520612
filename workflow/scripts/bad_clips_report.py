"""Snakemake script for rule bad_clips_report: one table of skipped clips, one of absent modalities."""

from musicfusion.data.preprocess import ABSENT_COLUMNS, BAD_CLIP_COLUMNS, merge_reports
from musicfusion.plumbing.files import read_table, write_csv
from musicfusion.plumbing.scriptlog import log_to

with log_to(snakemake.log[0]):
    bad = merge_reports([read_table(path) for path in snakemake.input.bad], BAD_CLIP_COLUMNS)
    absent = merge_reports([read_table(path) for path in snakemake.input.absent], ABSENT_COLUMNS)
    write_csv(snakemake.output.bad, bad)
    write_csv(snakemake.output.absent, absent)
    print(f"{len(bad)} bad clips; absent modalities:", absent.groupby("modality").size().to_dict())
