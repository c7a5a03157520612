"""Snakemake script for rule track: one MLflow run per task of one method."""

import json

from musicfusion.tracking import log_method_runs, provenance, provenance_tags, tracking_uri
from musicfusion.workflow import log_to

with log_to(snakemake.log[0]):
    with open(snakemake.input.metrics, encoding="utf-8") as fh:
        metrics = json.load(fh)
    with open(snakemake.input.fingerprint, encoding="utf-8") as fh:
        fingerprint = json.load(fh)
    tasks = snakemake.params.logged["tasks"]
    confusion = dict(zip(tasks, snakemake.input.confusion))
    runs = log_method_runs(
        uri=tracking_uri(snakemake.params.uri), experiment=snakemake.params.experiment,
        method=snakemake.wildcards.method, method_params=snakemake.params.method,
        metrics={task: metrics[task]["test"] for task in tasks},
        artifacts={task: [confusion[task], snakemake.input.metrics] for task in tasks},
        model_path=snakemake.input.model, params=snakemake.params.logged,
        tags={**provenance_tags(provenance({**snakemake.params.logged, "method": snakemake.params.method},
                                           fingerprint)),
              "preset": snakemake.params.preset, "kind": "fusion"},
        out_path=snakemake.output[0])
    print(runs)
