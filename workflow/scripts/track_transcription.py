"""Snakemake script for rule track_transcription: one MLflow run of the transcription scores."""

import pandas as pd

from musicfusion.evaluation.transcription import KEYS, SCORES
from musicfusion.plumbing.files import read_json, read_table, write_json
from musicfusion.plumbing.scriptlog import log_to, project_script
from musicfusion.tracking.loggers import RunOrigin, log_transcription_run
from musicfusion.tracking.provenance import provenance, provenance_tags
from musicfusion.tracking.store import tracking_uri

with log_to(snakemake.log[0]):
    params = snakemake.params
    record = provenance(params.shaping, read_json(snakemake.input.fingerprint))
    table = read_table(snakemake.input.table)
    table = table.apply(lambda c: c if c.name in KEYS else pd.to_numeric(c.replace("", "nan")))
    uri = tracking_uri(params.uri)
    runs = log_transcription_run(
        uri=uri, experiment=params.experiment, table=table.to_dict("records"), scores=SCORES,
        params={"dataset": params.dataset, **params.shaping["transcription"]},
        tags={**provenance_tags(record), "preset": params.preset},
        artifacts=[snakemake.input.table, snakemake.input.clips],
        origin=RunOrigin.of(snakemake.rule, project_script(__file__), record, params.manifest))
    write_json(snakemake.output[0], {"experiment": params.experiment, "tracking_uri": uri, "runs": runs})
    print(runs)
