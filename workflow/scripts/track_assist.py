"""Snakemake script for rule track_assist: one MLflow run of the evaluation of `musicfusion assist`."""

import pandas as pd

from musicfusion.plumbing.files import read_json, write_json
from musicfusion.plumbing.scriptlog import log_to, project_script
from musicfusion.tracking.loggers import RunOrigin, log_assist_run
from musicfusion.tracking.provenance import provenance, provenance_tags
from musicfusion.tracking.store import tracking_uri

with log_to(snakemake.log[0]):
    params = snakemake.params
    record = provenance(params.shaping, read_json(snakemake.input.fingerprint))
    # Numbers as numbers (an absent interval or chance figure as NaN); names as text.
    table = pd.read_csv(snakemake.input.table, dtype={c: str for c in ("part", "task", "query", "metric")})
    uri = tracking_uri(params.uri)
    runs = log_assist_run(
        uri=uri, experiment=params.experiment, table=table.to_dict("records"),
        params={"dataset": params.dataset, **params.shaping["assist"]},
        tags={**provenance_tags(record), "preset": params.preset},
        artifacts=[snakemake.input.table, snakemake.input.figure],
        origin=RunOrigin.of(snakemake.rule, project_script(__file__), record, params.manifest))
    write_json(snakemake.output[0], {"experiment": params.experiment, "tracking_uri": uri, "runs": runs})
    print(runs)
