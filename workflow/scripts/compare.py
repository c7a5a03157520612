"""Snakemake script for rule compare: fusion against the best single modality, modalities against their controls."""

from pathlib import Path

from musicfusion.evaluation.compare import compare
from musicfusion.evaluation.plots import save_png
from musicfusion.plumbing.files import read_json, read_table, write_csv
from musicfusion.plumbing.scriptlog import log_to

with log_to(snakemake.log[0]):
    comparison = compare({Path(p).parent.name: read_table(p) for p in snakemake.input.predictions},
                         {Path(p).parent.name: read_json(p) for p in snakemake.input.metrics},
                         snakemake.params.methods, snakemake.params.tasks, snakemake.params.settings)
    write_csv(snakemake.output.significance, comparison.table)
    write_csv(snakemake.output.per_class, comparison.per_class)
    save_png(comparison.figure, snakemake.output.plot)
    print(comparison.table.to_string(index=False))
