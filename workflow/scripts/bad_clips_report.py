"""Snakemake script for rule bad_clips_report: one table of every skipped clip."""

from musicfusion.io import read_table, write_csv
from musicfusion.preprocess import merge_bad_clip_reports
from musicfusion.workflow import log_to

with log_to(snakemake.log[0]):
    merged = merge_bad_clip_reports([read_table(path) for path in snakemake.input])
    write_csv(snakemake.output[0], merged)
    print(f"{len(merged)} bad clips")
