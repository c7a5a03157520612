"""Snakemake script for rule robustness: one method's fold models under absent and noisy modalities."""

from pathlib import Path

from musicfusion.evaluation.robustness import method_sweep
from musicfusion.features.matrices import load_features
from musicfusion.features.text import fit_on_split
from musicfusion.models.methods import feature_kind_of
from musicfusion.plumbing.files import load_npz, load_pickle, write_csv
from musicfusion.plumbing.scriptlog import log_to

with log_to(snakemake.log[0]):
    method, params = snakemake.wildcards.method, snakemake.params
    settings = params.method
    feature_dir = Path(snakemake.input.clips).parent
    folds = (load_features(feature_dir, settings["modalities"], fold, feature_kind_of(settings), complete=False)
             for fold in range(params.n_folds))
    perturbed = {Path(path).stem: load_npz(path) for path in snakemake.input.perturbed}
    text_shards = [load_npz(path) for path in snakemake.input.text_shards]

    def text_vectorizer_of(clips):
        """The fold's TF-IDF, fitted on its clean training texts as rule extract_text_fold fits it."""
        return fit_on_split(text_shards, clips, params.text_features, where=f"{method} robustness")[1]

    table = method_sweep(method, settings, load_pickle(snakemake.input.fold_models), folds, params.tasks,
                         modalities=params.modalities, perturbed=perturbed, noise=params.noise,
                         absent_fractions=params.absent_fractions, seed=params.seed,
                         text_vectorizer_of=text_vectorizer_of)
    write_csv(snakemake.output[0], table)
    print(table.groupby(["task", "perturbation", "modality", "level"])["recall_macro"].mean().round(4).to_string())
