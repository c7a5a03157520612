"""Snakemake script for rule update_reference: make the current results the reference."""

from musicfusion.evaluation.reproduce import update_reference
from musicfusion.plumbing.scriptlog import log_to

with log_to(snakemake.log[0]):
    update_reference(list(snakemake.input), snakemake.params.reference_dir)
    print(f"reference updated in {snakemake.params.reference_dir}")
