"""Snakemake script for rule track_robustness: one MLflow run per method and task of the sweeps."""

import pandas as pd

from musicfusion.evaluation.robustness import RELATIVE_COLUMNS, ROBUSTNESS_COLUMNS, SCORES
from musicfusion.plumbing.files import read_json, read_table, write_json
from musicfusion.plumbing.scriptlog import log_to, project_script
from musicfusion.tracking.loggers import RunOrigin, log_robustness_runs
from musicfusion.tracking.provenance import provenance, provenance_tags
from musicfusion.tracking.store import tracking_uri


def numeric(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    text = {"method", "task", "perturbation", "modality"}
    return frame[columns].apply(lambda c: c if c.name in text else pd.to_numeric(c))


with log_to(snakemake.log[0]):
    params = snakemake.params
    record = provenance(params.shaping, read_json(snakemake.input.fingerprint))
    uri = tracking_uri(params.uri)
    runs = log_robustness_runs(
        uri=uri, experiment=params.experiment, summary=numeric(read_table(snakemake.input.csv), ROBUSTNESS_COLUMNS),
        relative=numeric(read_table(snakemake.input.relative), RELATIVE_COLUMNS),
        scores=SCORES, params=params.shaping,
        tags={**provenance_tags(record), "preset": params.preset},
        artifacts=[snakemake.input.csv, snakemake.input.relative, *snakemake.input.plots],
        origin=RunOrigin.of(snakemake.rule, project_script(__file__), record, params.manifest))
    write_json(snakemake.output[0], {"experiment": params.experiment, "tracking_uri": uri, "runs": runs})
    print(runs)
