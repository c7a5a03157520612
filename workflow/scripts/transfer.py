"""Snakemake script for rule transfer: fit and score every mapping method of one pair."""

from pathlib import Path

from musicfusion.crossmodal.experiment import run_pair
from musicfusion.evaluation.plots import save_png
from musicfusion.features.matrices import load_features
from musicfusion.plumbing.files import save_pickle, write_csv, write_json
from musicfusion.plumbing.scriptlog import log_to

with log_to(snakemake.log[0]):
    source, target = snakemake.wildcards.source, snakemake.wildcards.target
    X, clips = load_features(Path(snakemake.input.clips).parent, [source, target])
    result = run_pair(source, target, X, clips, snakemake.params.transfer, snakemake.params.seed,
                      dataset=snakemake.params.dataset, label=snakemake.params.label)
    save_pickle(snakemake.output.model, result.bundle)
    write_csv(snakemake.output.ranks, result.ranks)
    save_png(result.figure, snakemake.output.curve)
    write_json(snakemake.output.metrics, result.metrics)
    print({method: entry["test"]["mrr"] for method, entry in result.metrics["methods"].items()},
          "best on validation:", result.metrics["best_on_validation"])
