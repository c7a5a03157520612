"""Snakemake script for rule bad_clips_report: one table of every skipped clip."""

from musicfusion.preprocess import merge_bad_clip_reports
from musicfusion.workflow import log_to

with log_to(snakemake.log[0]):
    merged = merge_bad_clip_reports(list(snakemake.input), snakemake.output[0])
    print(f"{len(merged)} bad clips")
