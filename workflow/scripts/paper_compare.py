"""Snakemake script for rule paper_compare: a paper's figures beside ours, with a verdict per learner."""

import pandas as pd

from musicfusion.evaluation.paper import comparison_markdown, comparison_table
from musicfusion.plumbing.files import read_table, write_csv, write_text
from musicfusion.plumbing.scriptlog import log_to

with log_to(snakemake.log[0]):
    params = snakemake.params
    folds = pd.concat([read_table(path) for path in snakemake.input.folds], ignore_index=True)
    folds = folds.astype({"n_train": int, "n_test": int, "percent_correct": float})
    tunes = read_table(snakemake.input.tunes)
    table = comparison_table(folds, params.paper["learners"], params.confidence)
    write_csv(snakemake.output.csv, table)
    page = comparison_markdown(table, params.paper["citation"], len(tunes), tunes["label"].value_counts().to_dict(),
                               params.paper["folds"], params.paper["repetitions"], params.confidence)
    write_text(snakemake.output.md, page)
    print(page)
