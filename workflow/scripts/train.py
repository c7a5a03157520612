"""Snakemake script for rule train: fit one method, predict validation and test clips."""

from pathlib import Path

from musicfusion.train import train
from musicfusion.workflow import log_to

with log_to(snakemake.log[0]):
    predictions = train(snakemake.params.method, snakemake.params.tasks,
                        Path(snakemake.input.clips).parent, snakemake.params.seed,
                        snakemake.output.model, snakemake.output.predictions,
                        snakemake.params.selection_metric, snakemake.params.n_repeats)
    print(predictions.groupby(["repeat", "task", "split"]).size().to_dict())
