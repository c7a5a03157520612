"""Snakemake script for rule track_transcription: one MLflow run of the transcription scores."""

import pandas as pd

from musicfusion.evaluation.transcription import KEYS, SCORES, SUMMARY_COLUMNS
from musicfusion.plumbing.files import read_json, write_json
from musicfusion.plumbing.scriptlog import log_to, project_script
from musicfusion.tracking.loggers import RunOrigin, log_transcription_run
from musicfusion.tracking.provenance import provenance, provenance_tags
from musicfusion.tracking.store import tracking_uri

with log_to(snakemake.log[0]):
    params = snakemake.params
    record = provenance(params.shaping, read_json(snakemake.input.fingerprint))
    # Numbers as numbers (an empty interval, a group of one clip, as NaN); group names as text.
    table = pd.read_csv(snakemake.input.table, dtype={key: str for key in KEYS}, keep_default_na=False,
                        na_values={column: [""] for column in SUMMARY_COLUMNS if column not in KEYS})
    uri = tracking_uri(params.uri)
    runs = log_transcription_run(
        uri=uri, experiment=params.experiment, table=table.to_dict("records"), scores=SCORES,
        params={"dataset": params.dataset, **params.shaping["transcription"]},
        tags={**provenance_tags(record), "preset": params.preset},
        artifacts=[snakemake.input.table, snakemake.input.clips],
        origin=RunOrigin.of(snakemake.rule, project_script(__file__), record, params.manifest))
    write_json(snakemake.output[0], {"experiment": params.experiment, "tracking_uri": uri, "runs": runs})
    print(runs)
