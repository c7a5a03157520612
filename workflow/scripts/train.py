"""Snakemake script for rule train: tune and fit one method, predict validation and test clips, every fold."""

from pathlib import Path

from musicfusion.features.matrices import load_features
from musicfusion.models.methods import parse_method
from musicfusion.models.train import Tuning, train
from musicfusion.plumbing.files import save_pickle, write_csv
from musicfusion.plumbing.scriptlog import log_to

with log_to(snakemake.log[0]):
    params = snakemake.params
    spec = parse_method(params.method, params.learners)
    feature_dir = Path(snakemake.input.clips).parent
    # Every clip, a modality it lacks as NaN: each method handles absence its own way.
    folds = (load_features(feature_dir, spec.modalities, fold, spec.feature_kind, complete=False)
             for fold in range(params.n_folds))
    tuning = Tuning(params.tuning["n_trials"], params.tuning["startup_trials"], params.selection_metric)
    models, predictions, trials = train(spec, params.tasks, folds, params.seed, tuning)
    save_pickle(snakemake.output.model, models[0])  # fold 0's, logged to MLflow
    save_pickle(snakemake.output.fold_models, models)  # every fold's, for the robustness sweeps
    write_csv(snakemake.output.predictions, predictions)
    write_csv(snakemake.output.trials, trials)
    print(predictions.groupby(["fold", "task", "split", "configuration"]).size().to_dict())
    print(f"search time {trials.drop_duplicates(['fold', 'task'])['search_seconds'].sum():.1f} s")
