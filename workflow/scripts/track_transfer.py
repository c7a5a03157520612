"""Snakemake script for rule track_transfer: one MLflow run per mapping method of one pair."""

from musicfusion.plumbing.files import read_json, write_json
from musicfusion.plumbing.scriptlog import log_to, project_script
from musicfusion.tracking.loggers import RunOrigin, log_transfer_runs
from musicfusion.tracking.provenance import provenance, provenance_tags
from musicfusion.tracking.store import tracking_uri

with log_to(snakemake.log[0]):
    params = snakemake.params
    record = provenance(params.shaping, read_json(snakemake.input.fingerprint))
    uri = tracking_uri(params.uri)
    runs = log_transfer_runs(
        uri=uri, experiment=params.experiment, pair_metrics=read_json(snakemake.input.metrics),
        params={"dataset": params.dataset}, tags={**provenance_tags(record), "preset": params.preset},
        artifacts=[snakemake.input.curve, snakemake.input.metrics],
        origin=RunOrigin.of(snakemake.rule, project_script(__file__), record, params.manifest))
    write_json(snakemake.output[0], {"experiment": params.experiment, "tracking_uri": uri, "runs": runs})
    print(runs)
