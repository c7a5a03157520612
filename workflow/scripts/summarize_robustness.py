"""Snakemake script for rule summarize_robustness: robustness.csv, relative robustness and the curve plots."""

import pandas as pd

from musicfusion.evaluation import plots
from musicfusion.evaluation.metrics import DECIMALS
from musicfusion.evaluation.robustness import FOLD_COLUMNS, NATURAL_ABSENCE, relative_robustness, summarize_robustness
from musicfusion.plumbing.files import read_table, write_csv
from musicfusion.plumbing.scriptlog import log_to

with log_to(snakemake.log[0]):
    params = snakemake.params
    per_fold = pd.concat([read_table(path) for path in snakemake.input], ignore_index=True)[FOLD_COLUMNS]
    numeric = [c for c in FOLD_COLUMNS if c not in ("method", "task", "perturbation", "modality")]
    per_fold[numeric] = per_fold[numeric].apply(pd.to_numeric)
    summary = summarize_robustness(per_fold, params.confidence)
    relative = relative_robustness(summary, params.metric, params.noise)
    write_csv(snakemake.output.csv, summary.round(DECIMALS))
    write_csv(snakemake.output.relative, relative.round(DECIMALS))
    curves = summary[summary["perturbation"] != NATURAL_ABSENCE]
    plots.save_png(plots.robustness_curves(curves[curves["perturbation"] == "absent"], params.metric,
                                           "fraction of test clips without the modality"), snakemake.output.absent)
    plots.save_png(plots.robustness_curves(curves[curves["perturbation"] != "absent"], params.metric,
                                           "noise level (mild to severe)", params.noise), snakemake.output.noise)
    plots.save_png(plots.relative_robustness(relative), snakemake.output.relative_plot)
    print(relative.round(3).to_string(index=False))
