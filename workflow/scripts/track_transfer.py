"""Snakemake script for rule track_transfer: one MLflow run per mapping method of one pair."""

import json

from musicfusion.tracking import log_transfer_runs, provenance, provenance_tags, tracking_uri
from musicfusion.workflow import log_to

with log_to(snakemake.log[0]):
    with open(snakemake.input.metrics, encoding="utf-8") as fh:
        pair_metrics = json.load(fh)
    with open(snakemake.input.fingerprint, encoding="utf-8") as fh:
        fingerprint = json.load(fh)
    runs = log_transfer_runs(
        uri=tracking_uri(snakemake.params.uri), experiment=snakemake.params.experiment,
        pair_metrics=pair_metrics, params={"dataset": snakemake.params.dataset},
        tags={**provenance_tags(provenance(snakemake.params.shaping, fingerprint)),
              "preset": snakemake.params.preset},
        artifacts=[snakemake.input.curve, snakemake.input.metrics], out_path=snakemake.output[0])
    print(runs)
