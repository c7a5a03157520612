"""Snakemake script for rule compare: fusion gain over the best single modality, with tests."""

from musicfusion.compare import compare
from musicfusion.workflow import log_to

with log_to(snakemake.log[0]):
    table = compare(list(snakemake.input.predictions), list(snakemake.input.metrics), snakemake.params.methods,
                    snakemake.params.tasks, snakemake.params.settings, snakemake.params.seed,
                    snakemake.output.significance, snakemake.output.per_class, snakemake.output.plot)
    print(table.to_string(index=False))
