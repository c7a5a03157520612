"""Snakemake script for rule summarize_transfer: the transfer table, recall curves and tests."""

from musicfusion.transfer_eval import summarize_transfer
from musicfusion.workflow import log_to

with log_to(snakemake.log[0]):
    table, significance = summarize_transfer(
        list(snakemake.input.metrics), list(snakemake.input.ranks), snakemake.params.bootstrap_samples,
        snakemake.params.seed, snakemake.params.confidence, csv_out=snakemake.output.csv,
        markdown_out=snakemake.output.markdown, plot_out=snakemake.output.plot,
        significance_out=snakemake.output.significance)
    print(table.to_string(index=False))
    print(significance.to_string(index=False))
