"""Snakemake script for rule train: fit one method, predict validation and test clips, every repeat."""

from pathlib import Path

from musicfusion.featurestore import load_features
from musicfusion.io import save_pickle, write_csv
from musicfusion.train import train
from musicfusion.workflow import log_to

with log_to(snakemake.log[0]):
    method = snakemake.params.method
    repeats = (load_features(Path(snakemake.input.clips).parent, method["modalities"], repeat)
               for repeat in range(snakemake.params.n_repeats))
    models, predictions = train(method, snakemake.params.tasks, repeats, snakemake.params.seed,
                                snakemake.params.selection_metric)
    save_pickle(snakemake.output.model, models)
    write_csv(snakemake.output.predictions, predictions)
    print(predictions.groupby(["repeat", "task", "split"]).size().to_dict())
