"""Tracking: MLflow runs for the workflow's results, one per method and task, one per mapping.

Each run says where it came from: the Snakemake rule and the project file as its source (with
the git commit), the dataset as an MLflow dataset input (name, digest, source: the UI's Dataset
column), and the provenance record (musicfusion.provenance) as tags. The store is created once,
before parallel jobs start (:func:`init_store`, called by the workflow's ``onstart``).
"""

from __future__ import annotations

import contextlib
import json
import numbers
import os
import warnings
from dataclasses import dataclass
from pathlib import Path

from mlflow.utils.mlflow_tags import MLFLOW_GIT_COMMIT, MLFLOW_PROJECT_ENTRY_POINT, MLFLOW_SOURCE_NAME, \
    MLFLOW_SOURCE_TYPE

# The UI shows a PROJECT source as "<file without extension>:<entry point>", here "Snakefile:<rule>".
SOURCE_TYPE = "PROJECT"
PROJECT_FILE = "Snakefile"
DATASET_CONTEXT = "training"  # the context tag of the dataset input: every split comes from it
# MLflow caps a dataset digest at 36 characters; the full SHA-256 is the dataset_sha256 tag.
DATASET_DIGEST_CHARS = 16
MODEL_PACKAGES = ("scikit-learn", "numpy", "jax", "optax", "musicfusion")


@dataclass(frozen=True)
class RunOrigin:
    """Where a run came from: the rule and script that logged it, the code's commit, the data."""

    rule: str
    script: str  # the project file the rule ran, e.g. workflow/scripts/track.py
    git_commit: str
    dataset: str
    dataset_sha256: str
    manifest: str  # the dataset's manifest, its MLflow source

    @classmethod
    def of(cls, rule: str, script: str, record: dict, manifest: str) -> RunOrigin:
        """The origin of a rule's runs from its provenance record (musicfusion.provenance)."""
        return cls(rule, script, record["git_commit"], record["dataset"], record["dataset_sha256"], manifest)

    def tags(self) -> dict:
        return {MLFLOW_SOURCE_TYPE: SOURCE_TYPE, MLFLOW_SOURCE_NAME: PROJECT_FILE,
                MLFLOW_PROJECT_ENTRY_POINT: self.rule, MLFLOW_GIT_COMMIT: self.git_commit,
                "rule": self.rule, "script": self.script}

    def dataset_input(self):
        """The dataset as an MLflow dataset (metadata only: nothing is loaded or copied)."""
        from mlflow.data.dataset_source_registry import resolve_dataset_source
        from mlflow.data.meta_dataset import MetaDataset

        with warnings.catch_warnings():  # a local path matches two equivalent source types
            warnings.simplefilter("ignore", UserWarning)
            source = resolve_dataset_source(str(Path(self.manifest).resolve()))
        return MetaDataset(source, name=self.dataset, digest=self.dataset_sha256[:DATASET_DIGEST_CHARS])


def tracking_uri(configured: str | None, root: str | Path | None = None) -> str:
    """MLFLOW_TRACKING_URI wins, then params.yaml's tracking.uri, then a local SQLite store."""
    if os.environ.get("MLFLOW_TRACKING_URI"):
        return os.environ["MLFLOW_TRACKING_URI"]
    if configured:
        return configured
    return f"sqlite:///{(Path(root or Path.cwd()) / 'mlflow.db').resolve()}"


def artifact_root(root: str | Path | None = None) -> str:
    return (Path(root or Path.cwd()) / "mlruns").resolve().as_uri()


def init_store(uri: str, experiment: str, root: str | Path | None = None) -> str:
    """Create the store and the experiment once, before parallel jobs race to migrate the schema."""
    import mlflow

    client = mlflow.MlflowClient(tracking_uri=uri)
    found = client.get_experiment_by_name(experiment)
    if found is not None:
        return found.experiment_id
    location = artifact_root(root) if uri.startswith("sqlite:") else None
    return client.create_experiment(experiment, artifact_location=location)


def _experiment_id(uri: str, experiment: str) -> str:
    """Point MLflow at ``uri`` and find the experiment that init_store created before the jobs."""
    import mlflow

    mlflow.set_tracking_uri(uri)
    exp = mlflow.get_experiment_by_name(experiment)
    if exp is None:
        raise RuntimeError(f"MLflow experiment {experiment!r} not found at {uri}: the store is created "
                           "by the workflow's onstart hook (musicfusion.tracking.init_store)")
    return exp.experiment_id


def _trusted_types(model) -> list[str]:
    """The model's types that skops does not trust by default, if they are ours or scikit-learn's."""
    import skops.io

    untrusted = skops.io.get_untrusted_types(data=skops.io.dumps(model))
    foreign = [t for t in untrusted if not t.startswith(("musicfusion.", "sklearn."))]
    if foreign:
        raise TypeError(f"model holds types neither musicfusion's nor scikit-learn's: {foreign}")
    return untrusted


def _model_requirements() -> list[str]:
    from importlib.metadata import version

    return [f"{name}=={version(name)}" for name in MODEL_PACKAGES]


def flatten(prefix: str, obj) -> dict:
    """Nested params as MLflow's flat key/value pairs: {'a': {'b': 1}} -> {'a.b': '1'}."""
    if isinstance(obj, dict):
        out = {}
        for key, value in obj.items():
            out.update(flatten(f"{prefix}.{key}" if prefix else str(key), value))
        return out
    return {prefix: json.dumps(obj) if isinstance(obj, (list, tuple)) else str(obj)}


def metric_key(name: str) -> str:
    """An MLflow-safe metric name: MLflow refuses '@', so recall@5 is logged as recall_at_5."""
    return name.replace("@", "_at_")


def numeric_metrics(row: dict) -> dict[str, float]:
    """The numbers of a result row as MLflow metrics (labels and flags left out)."""
    return {metric_key(k): float(v) for k, v in row.items()
            if isinstance(v, numbers.Real) and not isinstance(v, bool)}


@contextlib.contextmanager
def _start(experiment_id: str, run_name: str, origin: RunOrigin, tags: dict):
    """A run with its origin and dataset; MLflow marks it FAILED if the block raises."""
    import mlflow

    with mlflow.start_run(experiment_id=experiment_id, run_name=run_name) as run:
        mlflow.set_tags({**tags, **origin.tags()})
        _log_dataset(origin)
        yield run


def _log_dataset(origin: RunOrigin) -> None:
    """Link the run to its dataset. Two jobs logging a dataset the store has not seen yet can
    both try to create it: the loser finds it created and links to it on a second try."""
    import mlflow
    from mlflow.exceptions import MlflowException

    try:
        mlflow.log_input(origin.dataset_input(), context=DATASET_CONTEXT)
    except MlflowException as err:
        if "UNIQUE constraint failed: datasets" not in str(err):
            raise
        mlflow.log_input(origin.dataset_input(), context=DATASET_CONTEXT)


def log_trials(client, experiment_id: str, parent_id: str, run_name: str, trials, tags: dict) -> int:
    """One child run of ``parent_id`` per tuning trial (a row of the method's trials.csv): its
    settings as params, its validation score and time as metrics; returns how many."""
    from mlflow.entities import Metric, Param, RunTag
    from mlflow.utils.mlflow_tags import MLFLOW_PARENT_RUN_ID

    for row in trials.to_dict("records"):
        name = f"{run_name}/fold-{row['fold']}/trial-{row['trial']}"
        run = client.create_run(experiment_id, run_name=name, tags={**tags, MLFLOW_PARENT_RUN_ID: parent_id,
                                                                    "kind": "trial"})
        settings = flatten("", json.loads(row["settings"]))
        params = {**settings, "fold": row["fold"], "repetition": row["repetition"], "trial": row["trial"]}
        flags = {"chosen": str(row["chosen"]).lower(), "untuned": str(row["untuned"]).lower(),
                 "repeat_of": str(row["repeat_of"])}
        client.log_batch(run.info.run_id,
                         metrics=[Metric("validation_score", float(row["validation_score"]), 0, 0),
                                  Metric("seconds", float(row["seconds"]), 0, 0)],
                         params=[Param(k, str(v)) for k, v in params.items()],
                         tags=[RunTag(k, v) for k, v in flags.items()])
        client.set_terminated(run.info.run_id)
    return len(trials)


def log_method_runs(*, uri: str, experiment: str, method: str, method_params: dict, rows: dict[str, dict],
                    artifacts: dict[str, list], models: dict, params: dict, tags: dict,
                    origin: RunOrigin, searches: dict[str, dict] | None = None, trials=None) -> dict:
    """One run per task of one fusion method, each with a child run per tuning trial; returns
    {task: run_id}.

    ``rows`` maps each task to its row of results/summary.csv (musicfusion.evaluate.summary_row):
    every number of it, means and confidence bounds, is logged as a metric. ``models`` maps each
    task to its fitted estimator, whose ``learned_params()`` are logged as ``learned.*`` params.
    ``searches`` maps each task to its search record (musicfusion.evaluate.search_record): the
    chosen configuration of every fold and the search time go to the parent; ``trials`` (the
    method's trials.csv) become its child runs.
    """
    import mlflow

    experiment_id = _experiment_id(uri, experiment)
    run_ids = {}
    for task, row in sorted(rows.items()):
        with _start(experiment_id, f"{method}/{task}", origin, {**tags, "method": method, "task": task}) as run:
            mlflow.log_params(flatten("", {"method": method_params, **params}))
            mlflow.log_metrics(numeric_metrics(row))
            search = (searches or {}).get(task)
            if search:
                chosen = {f"fold-{fold}": settings for fold, settings in enumerate(search["chosen_by_fold"])}
                mlflow.log_params(flatten("chosen", chosen))
                mlflow.log_metrics({"n_trials": search["n_trials"], "folds_kept_untuned": search["chosen_untuned_folds"]})
            if trials is not None:
                from musicfusion.tuning import search_seconds, task_trials

                # Time is logged here, not kept in metrics.json (which reruns reproduce bit for bit).
                mlflow.log_metric("search_seconds", search_seconds(trials, task))
                log_trials(mlflow.MlflowClient(), experiment_id, run.info.run_id, f"{method}/{task}",
                           task_trials(trials, task), {"method": method, "task": task})
            for artifact in artifacts.get(task, []):
                mlflow.log_artifact(str(artifact))
            mlflow.log_params(flatten("learned", models[task].learned_params()))
            # Explicit requirements: inferring them costs ~7 s per call.
            # skops (MLflow's safe default format) loads only types it is told to trust: ours.
            mlflow.sklearn.log_model(models[task], name="model", pip_requirements=_model_requirements(),
                                     skops_trusted_types=_trusted_types(models[task]))
            run_ids[task] = run.info.run_id
    return run_ids


def log_transfer_runs(*, uri: str, experiment: str, pair_metrics: dict, tags: dict, params: dict,
                      artifacts: list[str | Path], origin: RunOrigin) -> dict:
    """One run per mapping method of one transfer pair; returns {method: run_id}.

    ``pair_metrics`` is the pair's metrics.json (musicfusion.transfer_eval.run_pair). Runs are
    named ``transfer/<source>_to_<target>/<method>`` and tagged ``kind=transfer`` besides ``tags``.
    """
    import mlflow

    experiment_id = _experiment_id(uri, experiment)
    source, target = pair_metrics["source"], pair_metrics["target"]
    sizes = {f"n_{split}": pair_metrics[f"n_{split}"] for split in ("train", "validation", "test")}
    run_ids = {}
    for method in pair_metrics["method_order"]:
        entry = pair_metrics["methods"][method]
        best = method == pair_metrics["best_on_validation"]
        run_tags = {**tags, "kind": "transfer", "source": source, "target": target, "method": method,
                    "method_type": entry["type"], "best_on_validation": str(best).lower()}
        with _start(experiment_id, f"transfer/{source}_to_{target}/{method}", origin, run_tags) as run:
            mlflow.log_params(flatten("", {"method": entry["params"], "pca_components": pair_metrics["pca_components"],
                                           "seed": pair_metrics["seed"], "recall_at": pair_metrics["recall_at"],
                                           **params}))
            mlflow.log_metrics(numeric_metrics({**entry["test"], "validation_mrr": entry["validation_mrr"], **sizes,
                                                "best_on_validation": float(best)}))
            for artifact in artifacts:
                mlflow.log_artifact(str(artifact))
            run_ids[method] = run.info.run_id
    return run_ids
