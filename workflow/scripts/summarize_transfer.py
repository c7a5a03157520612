"""Snakemake script for rule summarize_transfer: the transfer table, recall curves and tests."""

import pandas as pd

from musicfusion.crossmodal.experiment import summarize_transfer
from musicfusion.evaluation.plots import save_png
from musicfusion.plumbing.files import read_json, write_csv, write_markdown
from musicfusion.plumbing.scriptlog import log_to

with log_to(snakemake.log[0]):
    ranks = [pd.read_csv(p, dtype={"clip_id": str, "method": str}, keep_default_na=False)
             for p in snakemake.input.ranks]
    summary = summarize_transfer([read_json(p) for p in snakemake.input.metrics], ranks,
                                 snakemake.params.bootstrap_samples, snakemake.params.seed,
                                 snakemake.params.confidence)
    write_csv(snakemake.output.csv, summary.table)
    write_markdown(snakemake.output.markdown, summary.table)
    write_csv(snakemake.output.significance, summary.significance)
    save_png(summary.figure, snakemake.output.plot)
    print(summary.table.to_string(index=False))
    print(summary.significance.to_string(index=False))
