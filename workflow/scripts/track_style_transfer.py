"""Snakemake script for rule track_style_transfer: one MLflow run per operator set of style transfer."""

from musicfusion.evaluation.style_transfer import ALL, KEYS
from musicfusion.plumbing.files import read_json, read_table, write_json
from musicfusion.plumbing.scriptlog import log_to, project_script
from musicfusion.tracking.loggers import RunOrigin, log_style_transfer_runs
from musicfusion.tracking.provenance import provenance, provenance_tags
from musicfusion.tracking.store import tracking_uri

with log_to(snakemake.log[0]):
    params = snakemake.params
    record = provenance(params.shaping, read_json(snakemake.input.fingerprint))
    table = read_table(snakemake.input.table)
    pooled = table[(table["source_style"] == ALL) & (table["target"] == ALL)].copy()
    numeric = [c for c in pooled.columns if c not in KEYS]
    pooled[numeric] = pooled[numeric].replace("", "nan").astype(float)
    settings = params.shaping["style_transfer"]
    uri = tracking_uri(params.uri)
    runs = log_style_transfer_runs(
        uri=uri, experiment=params.experiment, table=pooled.to_dict("records"),
        operator_sets=settings["operator_sets"],
        params={"dataset": params.dataset, **{k: v for k, v in settings.items() if k != "operator_sets"}},
        tags={**provenance_tags(record), "preset": params.preset},
        artifacts=[snakemake.input.table, snakemake.input.figure],
        origin=RunOrigin.of(snakemake.rule, project_script(__file__), record, params.manifest))
    write_json(snakemake.output[0], {"experiment": params.experiment, "tracking_uri": uri, "runs": runs})
    print(runs)
