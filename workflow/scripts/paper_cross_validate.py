"""Snakemake script for rule paper_cross_validate: every learner of a paper, every fold of one protocol."""

import pandas as pd

from musicfusion.data.presets.paper_tunes import feature_columns
from musicfusion.evaluation.paper import cross_validate, splits
from musicfusion.models.paper_learners import make_paper_learner
from musicfusion.plumbing.files import read_table, write_csv
from musicfusion.plumbing.scriptlog import log_to

with log_to(snakemake.log[0]):
    params, protocol = snakemake.params, snakemake.wildcards.protocol
    tunes = read_table(snakemake.input.tunes)
    X = tunes[feature_columns(tunes)].to_numpy(dtype=float)
    labels, groups = tunes["label"].to_numpy(), tunes["group"].to_numpy()
    folds = splits(labels, groups, protocol, params.folds, params.repetitions, params.seed)
    scores = pd.concat([cross_validate(make_paper_learner(name, entry["settings"], params.seed), X, labels, folds,
                                       protocol, name)
                        for name, entry in params.learners.items()], ignore_index=True)
    write_csv(snakemake.output[0], scores)
    print(scores.groupby("learner", sort=False)["percent_correct"].mean().round(2).to_dict())
