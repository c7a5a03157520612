"""Snakemake script for rule track: one MLflow run per task of one method."""

from musicfusion.evaluation.evaluate import method_rows
from musicfusion.models.tuning import search_seconds, task_trials
from musicfusion.plumbing.files import load_pickle, read_json, read_table, write_json
from musicfusion.plumbing.scriptlog import log_to, project_script
from musicfusion.tracking.loggers import RunOrigin, log_method_runs
from musicfusion.tracking.provenance import provenance, provenance_tags
from musicfusion.tracking.store import tracking_uri

with log_to(snakemake.log[0]):
    method, params = snakemake.wildcards.method, snakemake.params
    metrics, tasks = read_json(snakemake.input.metrics), params.logged["tasks"]
    logged = {**params.logged, "learners": params.learners}
    record = provenance({**logged, "method": params.method}, read_json(snakemake.input.fingerprint))
    trials = read_table(snakemake.input.trials)
    rows = method_rows(method, params.method, {task: metrics[task] for task in tasks})
    uri = tracking_uri(params.uri)
    runs = log_method_runs(
        uri=uri, experiment=params.experiment, method=method, method_params=params.method,
        rows={row["task"]: row for row in rows.to_dict("records")},
        artifacts={task: [png, snakemake.input.metrics] for task, png in zip(tasks, snakemake.input.confusion)},
        models=load_pickle(snakemake.input.model), final_models=load_pickle(snakemake.input.final_model),
        params=logged,
        tags={**provenance_tags(record), "preset": params.preset, "kind": "fusion",
              "method_kind": str(rows["kind"].iloc[0])},
        origin=RunOrigin.of(snakemake.rule, project_script(__file__), record, params.manifest),
        searches={task: metrics[task].get("search") for task in tasks},
        trials_by_task={task: task_trials(trials, task) for task in tasks},
        search_seconds={task: search_seconds(trials, task) for task in tasks})
    write_json(snakemake.output[0], {"experiment": params.experiment, "tracking_uri": uri, "runs": runs})
    print(runs)
