"""Snakemake script for rule final_model: one method tuned on the dataset's own split, refitted on every
labelled clip."""

from pathlib import Path

from musicfusion.features.matrices import load_features
from musicfusion.models.methods import parse_method
from musicfusion.models.train import Tuning, fit_final
from musicfusion.plumbing.files import save_pickle, write_csv
from musicfusion.plumbing.scriptlog import log_to

with log_to(snakemake.log[0]):
    params = snakemake.params
    spec = parse_method(params.method, params.learners)
    # The dataset's own split (fold None): its features, the text's TF-IDF fitted on its training clips.
    X, clips = load_features(Path(snakemake.input.clips).parent, spec.modalities, None, spec.feature_kind,
                             complete=False)
    tuning = Tuning(params.tuning["n_trials"], params.tuning["startup_trials"], params.selection_metric)
    models, validation = fit_final(spec, params.tasks, X, clips, params.seed, tuning)
    save_pickle(snakemake.output.model, models)
    write_csv(snakemake.output.validation, validation)
    print(validation.groupby(["task", "configuration"]).size().to_dict())
