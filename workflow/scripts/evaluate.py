"""Snakemake script for rule evaluate: metrics and confusion matrices of one method."""

from musicfusion.evaluation.evaluate import evaluate_method
from musicfusion.evaluation.plots import save_png
from musicfusion.plumbing.files import read_table, write_json
from musicfusion.plumbing.scriptlog import log_to

with log_to(snakemake.log[0]):
    tasks = snakemake.params.tasks
    metrics, figures = evaluate_method(snakemake.wildcards.method, read_table(snakemake.input.predictions), tasks,
                                       snakemake.params.confidence, read_table(snakemake.input.trials))
    for task, path in zip(tasks, snakemake.output.confusion):
        save_png(figures[task], path)
    write_json(snakemake.output.metrics, metrics)
    print({task: m["test"] for task, m in metrics.items()})
