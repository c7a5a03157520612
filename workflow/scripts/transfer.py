"""Snakemake script for rule transfer: fit and score every mapping method of one pair."""

from pathlib import Path

from musicfusion.transfer_eval import run_pair
from musicfusion.workflow import log_to

with log_to(snakemake.log[0]):
    result = run_pair(snakemake.wildcards.source, snakemake.wildcards.target, Path(snakemake.input.clips).parent,
                      snakemake.params.transfer, snakemake.params.seed, metrics_out=snakemake.output.metrics,
                      ranks_out=snakemake.output.ranks, model_out=snakemake.output.model,
                      curve_out=snakemake.output.curve, dataset=snakemake.params.dataset)
    print({method: entry["test"]["mrr"] for method, entry in result["methods"].items()},
          "best on validation:", result["best_on_validation"])
