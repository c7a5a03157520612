"""Snakemake script for rule summarize: the results table across methods."""

from musicfusion.results import summarize
from musicfusion.workflow import log_to

with log_to(snakemake.log[0]):
    table = summarize(list(snakemake.input.metrics), snakemake.params.methods, snakemake.params.metric,
                      snakemake.output.csv, snakemake.output.markdown, snakemake.output.metrics,
                      snakemake.output.plot)
    print(table.to_string(index=False))
