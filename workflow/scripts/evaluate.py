"""Snakemake script for rule evaluate: metrics and confusion matrices of one method."""

from musicfusion.results import evaluate_method
from musicfusion.workflow import log_to

with log_to(snakemake.log[0]):
    metrics = evaluate_method(snakemake.wildcards.method, snakemake.input.predictions, snakemake.params.tasks,
                              snakemake.output.metrics, list(snakemake.output.confusion),
                              snakemake.params.confidence)
    print({task: m["test"] for task, m in metrics.items()})
