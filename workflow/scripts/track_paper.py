"""Snakemake script for rule track_paper: one MLflow run per learner of a reproduced paper."""

from musicfusion.plumbing.files import read_table, write_json
from musicfusion.plumbing.scriptlog import log_to, project_script
from musicfusion.tracking.loggers import RunOrigin, log_paper_runs
from musicfusion.tracking.provenance import dataset_fingerprint, provenance, provenance_tags
from musicfusion.tracking.store import tracking_uri

with log_to(snakemake.log[0]):
    params = snakemake.params
    # The tunes table (every tune, label, group and feature) is the paper dataset's manifest.
    record = provenance(params.logged, dataset_fingerprint(snakemake.input.tunes))
    comparison = read_table(snakemake.input.comparison)
    numeric = [c for c in comparison.columns if c not in ("learner", "verdict", "reason")]
    comparison[numeric] = comparison[numeric].apply(lambda column: column.replace("", "nan").astype(float))
    uri = tracking_uri(params.uri)
    runs = log_paper_runs(
        uri=uri, experiment=params.experiment, paper=params.logged["dataset"],
        comparison=comparison.to_dict("records"),
        settings={name: entry["settings"] for name, entry in params.logged["paper"]["learners"].items()},
        params={k: v for k, v in params.logged["paper"].items() if k not in ("learners", "citation")},
        tags={**provenance_tags(record), "preset": params.logged["dataset"]},
        artifacts=[snakemake.input.comparison, snakemake.input.page],
        origin=RunOrigin.of(snakemake.rule, project_script(__file__), record, snakemake.input.tunes))
    write_json(snakemake.output[0], {"experiment": params.experiment, "tracking_uri": uri, "runs": runs})
    print(runs)
