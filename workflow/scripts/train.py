"""Snakemake script for rule train: fit one method, predict validation and test clips, every fold."""

from pathlib import Path

from musicfusion.featurestore import load_features
from musicfusion.fusion import feature_set_of
from musicfusion.io import save_pickle, write_csv
from musicfusion.train import train
from musicfusion.workflow import log_to

with log_to(snakemake.log[0]):
    method = snakemake.params.method
    feature_dir = Path(snakemake.input.clips).parent
    folds = (load_features(feature_dir, method["modalities"], fold, feature_set_of(method))
             for fold in range(snakemake.params.n_folds))
    models, predictions = train(method, snakemake.params.tasks, folds, snakemake.params.seed,
                                snakemake.params.selection_metric)
    save_pickle(snakemake.output.model, models)
    write_csv(snakemake.output.predictions, predictions)
    print(predictions.groupby(["fold", "task", "split"]).size().to_dict())
