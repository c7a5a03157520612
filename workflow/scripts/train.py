"""Snakemake script for rule train: tune and fit one method, predict validation and test clips, every fold."""

from pathlib import Path

from musicfusion.featurestore import load_features
from musicfusion.fusion import feature_set_of
from musicfusion.io import save_pickle, write_csv
from musicfusion.train import Tuning, train
from musicfusion.workflow import log_to

with log_to(snakemake.log[0]):
    method, params = snakemake.params.method, snakemake.params
    feature_dir = Path(snakemake.input.clips).parent
    # Every clip, a modality it lacks as NaN: each method handles absence its own way.
    folds = (load_features(feature_dir, method["modalities"], fold, feature_set_of(method), complete=False)
             for fold in range(params.n_folds))
    tuning = Tuning(params.learners, params.tuning["n_trials"], params.tuning["startup_trials"],
                    params.selection_metric)
    models, predictions, trials = train(method, params.tasks, folds, params.seed, tuning)
    save_pickle(snakemake.output.model, models[0])  # fold 0's, logged to MLflow
    save_pickle(snakemake.output.fold_models, models)  # every fold's, for the robustness sweeps
    write_csv(snakemake.output.predictions, predictions)
    write_csv(snakemake.output.trials, trials)
    print(predictions.groupby(["fold", "task", "split", "configuration"]).size().to_dict())
    print(f"search time {trials.drop_duplicates(['fold', 'task'])['search_seconds'].sum():.1f} s")
