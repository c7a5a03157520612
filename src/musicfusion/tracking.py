"""Tracking: MLflow runs for the workflow's results, one per method and task, one per mapping.

Each run says where it came from: the Snakemake rule and the project file as its source (with
the git commit), the dataset as an MLflow dataset input (name, digest, source: the UI's Dataset
column), and the provenance record (musicfusion.provenance) as tags. The store is created once,
before parallel jobs start (:func:`init_store`, called by the workflow's ``onstart``).

Reruns log each result once. The runs of one result carry a tag ``result_key``, the SHA-256 of
its key fields (kind, what it is, the dataset, the params and data digests of its provenance),
and a tag ``results_sha256``, the SHA-256 of the result content logged (its numbers, never
timings). Before logging, the experiment is searched for runs with the same key: if exactly one
FINISHED run holds the same content it is reused (nothing is logged, its id is returned);
otherwise every run of that key (a failed or half-logged one, an older result, duplicates) is
deleted with its child runs and its logged models, and the result is logged afresh
(:func:`log_once`). Deleted runs leave the UI at once; ``mlflow gc`` removes them for good.

Parallel jobs on a SQLite store take turns through a file lock beside the database; a tracking
server that cannot be reached fails the step within seconds with :class:`TrackingUnavailable`
(:func:`store_access`). Result files are never touched here: a rerun logs what is missing.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import numbers
import os
import sys
import warnings
from collections.abc import Callable
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
RESULT_KEY_TAG, RESULTS_DIGEST_TAG = "result_key", "results_sha256"
# What the store says when two jobs create the same dataset at once: SQLite, PostgreSQL (through a server).
DATASET_CREATED_TWICE = ("UNIQUE constraint failed: datasets", 'unique constraint "dataset_pk"')
# A SQLite store's jobs wait this long for each other's logging before giving up.
LOCK_TIMEOUT_SECONDS = 1800
# A tracking server is first asked once, with a short timeout and no retries, so that one that is
# down fails the step in seconds; the logging after it retries briefly (MLflow's defaults, 7
# retries with exponential backoff and 120 s timeouts, wait minutes). Variables the user set win.
PROBE_HTTP = {"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0", "MLFLOW_HTTP_REQUEST_TIMEOUT": "5"}
LOGGING_HTTP = {"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "2", "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1",
                "MLFLOW_HTTP_REQUEST_TIMEOUT": "30"}

log = logging.getLogger(__name__)


class TrackingUnavailable(RuntimeError):
    """The tracking store cannot be reached; the results are kept and a rerun logs them."""

    def __init__(self, uri: str, reason: str):
        super().__init__(f"MLflow tracking at {uri} is unavailable ({reason}). The results are kept: only "
                         "their MLflow runs are missing. Rerun the workflow once the server is back and the "
                         "tracking step will log them (runs already logged are reused, not duplicated).")
        self.uri = uri


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


def is_remote(uri: str) -> bool:
    return uri.startswith(("http://", "https://"))


def lock_path(uri: str) -> Path | None:
    """The lock file beside a SQLite store's database (None for any other store)."""
    if not uri.startswith("sqlite:"):
        return None
    from sqlalchemy.engine import make_url

    database = make_url(uri).database
    if not database or database == ":memory:":
        return None
    return Path(database).with_name(Path(database).name + ".lock")


@contextlib.contextmanager
def _environment(settings: dict[str, str], override: bool):
    """Set environment variables for the block (those already set are kept unless ``override``)."""
    saved = {name: os.environ.get(name) for name in settings}
    for name, value in settings.items():
        if override or saved[name] is None:
            os.environ[name] = value
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _unreachable(err: BaseException) -> str | None:
    """Why the server could not be reached, if that is what ``err`` says; None for other errors."""
    import requests
    from mlflow.exceptions import MlflowException

    text = str(err)
    if not (isinstance(err, (requests.exceptions.ConnectionError, requests.exceptions.Timeout))
            or isinstance(err, MlflowException) and text.startswith("API request to") and " failed with " in text):
        return None
    for needle, reason in (("Connection refused", "connection refused"), ("timed out", "timed out"),
                           ("timeout", "timed out"), ("Name or service not known", "unknown host"),
                           ("error responses", "the server answers with errors")):
        if needle in text:
            return reason
    return text.splitlines()[0][:200]


@contextlib.contextmanager
def store_access(uri: str):
    """One job's turn at the store: exclusive for SQLite, fail-fast for a tracking server.

    SQLite lets one writer in at a time. MLflow waits up to 20 s for it (busy_timeout), but a
    transaction that read before writing gets "database is locked" at once, and jobs that find a
    fresh database race to migrate its schema. A retry on OperationalError would have to redo
    half-logged runs and would still leave the check-then-log of :func:`log_once` racy (without
    the lock, six jobs sharing one result deleted each other's runs). So each job holds a file
    lock beside the database for all of its logging: the jobs take turns (their imports and reads
    of results still overlap), nothing is retried, and no two jobs touch the runs of one result
    at once. The lock is an flock: the kernel releases it when a process dies, none goes stale.

    A tracking server serialises its own writes: no lock. It is asked once quickly (see
    PROBE_HTTP); a server that is down or stops answering raises :class:`TrackingUnavailable`.
    """
    path = lock_path(uri)
    if path is not None:
        from filelock import FileLock, Timeout

        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            with FileLock(path, timeout=LOCK_TIMEOUT_SECONDS):
                yield
        except Timeout:
            raise TrackingUnavailable(uri, f"another job held {path} for over {LOCK_TIMEOUT_SECONDS} s") from None
        return
    if not is_remote(uri):
        yield
        return
    import mlflow

    try:
        with _environment(PROBE_HTTP, override=True):
            mlflow.MlflowClient(tracking_uri=uri).search_experiments(max_results=1)
        with _environment(LOGGING_HTTP, override=False):
            yield
    except Exception as err:
        reason = _unreachable(err)
        if reason is None:
            raise
        raise TrackingUnavailable(uri, reason) from err


def _get_or_create_experiment(client, uri: str, experiment: str, root: str | Path | None = None) -> str:
    from mlflow.exceptions import MlflowException

    found = client.get_experiment_by_name(experiment)
    if found is not None:
        return found.experiment_id
    location = artifact_root(root) if uri.startswith("sqlite:") else None
    try:
        return client.create_experiment(experiment, artifact_location=location)
    except MlflowException:  # another job created it in between (a server takes no lock)
        found = client.get_experiment_by_name(experiment)
        if found is None:
            raise
        return found.experiment_id


def init_store(uri: str, experiment: str, root: str | Path | None = None) -> str:
    """Create the store and the experiment once, before parallel jobs race to migrate the schema."""
    import mlflow

    with store_access(uri):
        return _get_or_create_experiment(mlflow.MlflowClient(tracking_uri=uri), uri, experiment, root)


def init_store_or_warn(uri: str, experiment: str, root: str | Path | None = None) -> str | None:
    """:func:`init_store` for the workflow's ``onstart``: a tracking server that is down is worth a
    warning, not a failed workflow. Every other result is still produced; the track jobs then fail
    with :class:`TrackingUnavailable`, and a rerun once the server is back logs their results."""
    try:
        return init_store(uri, experiment, root)
    except TrackingUnavailable as err:
        print(f"WARNING: {err} The workflow goes on: every other result is built, and the track jobs fail "
              "until the server is back.", file=sys.stderr)
        return None


def _experiment_id(uri: str, experiment: str) -> str:
    """Point MLflow at ``uri`` and find the experiment that init_store created before the jobs (a
    server's experiment is created here if missing: init_store may have found the server down)."""
    import mlflow

    mlflow.set_tracking_uri(uri)
    if is_remote(uri):
        return _get_or_create_experiment(mlflow.MlflowClient(tracking_uri=uri), uri, experiment)
    exp = mlflow.get_experiment_by_name(experiment)
    if exp is None:
        raise RuntimeError(f"MLflow experiment {experiment!r} not found at {uri}: the store is created "
                           "by the workflow's onstart hook (musicfusion.tracking.init_store)")
    return exp.experiment_id


def sha256_of(obj) -> str:
    """SHA-256 of a JSON-able object, independent of key order."""
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()


def _search_all(client, experiment_id: str, filter_string: str) -> list:
    runs, token = [], None
    while True:
        page = client.search_runs([experiment_id], filter_string, page_token=token)
        runs.extend(page)
        token = page.token
        if not token:
            return runs


def runs_of(client, experiment_id: str, key_fields: dict) -> list:
    """The (not deleted) runs logged under the key of ``key_fields``."""
    return _search_all(client, experiment_id, f"tags.{RESULT_KEY_TAG} = '{sha256_of(key_fields)}'")


def logged_once(client, experiment_id: str, key_fields: dict, content_digest: str) -> str | None:
    """The id of the one FINISHED run of this key holding this content, else None."""
    runs = runs_of(client, experiment_id, key_fields)
    if len(runs) == 1 and runs[0].info.status == "FINISHED" \
            and runs[0].data.tags.get(RESULTS_DIGEST_TAG) == content_digest:
        return runs[0].info.run_id
    return None


def replace_runs(client, experiment_id: str, key_fields: dict) -> list[str]:
    """Delete every run of this key with its child runs and logged models; returns the ids deleted."""
    from mlflow.utils.mlflow_tags import MLFLOW_PARENT_RUN_ID

    deleted = []
    for run in runs_of(client, experiment_id, key_fields):
        children = _search_all(client, experiment_id, f"tags.`{MLFLOW_PARENT_RUN_ID}` = '{run.info.run_id}'")
        for doomed in [run, *children]:
            for model in client.search_logged_models([experiment_id],
                                                     filter_string=f"source_run_id = '{doomed.info.run_id}'"):
                client.delete_logged_model(model.model_id)
            client.delete_run(doomed.info.run_id)
            deleted.append(doomed.info.run_id)
    return deleted


def log_once(client, experiment_id: str, key_fields: dict, content_digest: str,
             log_run: Callable[[dict], str]) -> str:
    """The run of one result, logged once: reused if it holds this content, else replaced.

    ``key_fields`` name the result (a ``kind`` and what identifies it: kind=fusion, method, task,
    dataset, params and data digests); ``content_digest`` is :func:`sha256_of` the content logged.
    ``log_run(tags)`` logs the run with ``tags`` (the ``result_key`` and ``results_sha256`` tags) and
    returns its id. Callers on a SQLite store hold :func:`store_access`, which makes this atomic.
    """
    reused = logged_once(client, experiment_id, key_fields, content_digest)
    if reused is not None:
        log.info("reused run %s for %s", reused, key_fields)
        return reused
    deleted = replace_runs(client, experiment_id, key_fields)
    if deleted:
        log.info("deleted runs %s of %s before logging it afresh", deleted, key_fields)
    return log_run({RESULT_KEY_TAG: sha256_of(key_fields), RESULTS_DIGEST_TAG: content_digest})


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
        if not any(message in str(err) for message in DATASET_CREATED_TWICE):
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

    Each task's run is logged once (:func:`log_once`), keyed by kind=fusion, the method, the task,
    the dataset and the params and data digests (the ``params_sha256`` tag, else the digest of the
    params logged); its content is the row, the search record, the trials without their times
    and what the model learned.
    """
    import mlflow

    from musicfusion.provenance import params_sha256
    from musicfusion.tuning import search_seconds, task_trials

    with store_access(uri):
        experiment_id = _experiment_id(uri, experiment)
        client = mlflow.MlflowClient(tracking_uri=uri)
        params_digest = tags.get("params_sha256") or params_sha256({"method": method_params, **params})
        run_ids = {}
        for task, row in sorted(rows.items()):
            search = (searches or {}).get(task)
            trials_of_task = None if trials is None else task_trials(trials, task)
            learned = flatten("learned", models[task].learned_params())
            key = {"kind": "fusion", "method": method, "task": task, "dataset": origin.dataset,
                   "params_sha256": params_digest, "dataset_sha256": origin.dataset_sha256}
            content = {"row": row, "search": search, "learned": learned, "trials": None if trials_of_task is None
                       else trials_of_task.drop(columns=["seconds", "search_seconds"]).to_dict("records")}

            def log_run(result_tags: dict) -> str:
                run_tags = {"kind": "fusion", **tags, "method": method, "task": task, **result_tags}
                with _start(experiment_id, f"{method}/{task}", origin, run_tags) as run:
                    mlflow.log_params(flatten("", {"method": method_params, **params}))
                    mlflow.log_metrics(numeric_metrics(row))
                    if search:
                        chosen = {f"fold-{fold}": settings for fold, settings in enumerate(search["chosen_by_fold"])}
                        mlflow.log_params(flatten("chosen", chosen))
                        mlflow.log_metrics({"n_trials": search["n_trials"],
                                            "folds_kept_untuned": search["chosen_untuned_folds"]})
                    if trials is not None:
                        # Time is logged here, not kept in metrics.json (which reruns reproduce bit for bit).
                        mlflow.log_metric("search_seconds", search_seconds(trials, task))
                        log_trials(client, experiment_id, run.info.run_id, f"{method}/{task}", trials_of_task,
                                   {"method": method, "task": task})
                    for artifact in artifacts.get(task, []):
                        mlflow.log_artifact(str(artifact))
                    mlflow.log_params(learned)
                    # Explicit requirements: inferring them costs ~7 s per call.
                    # skops (MLflow's safe default format) loads only types it is told to trust: ours.
                    mlflow.sklearn.log_model(models[task], name="model", pip_requirements=_model_requirements(),
                                             skops_trusted_types=_trusted_types(models[task]))
                    return run.info.run_id

            run_ids[task] = log_once(client, experiment_id, key, sha256_of(content), log_run)
    return run_ids


def log_transfer_runs(*, uri: str, experiment: str, pair_metrics: dict, tags: dict, params: dict,
                      artifacts: list[str | Path], origin: RunOrigin) -> dict:
    """One run per mapping method of one transfer pair; returns {method: run_id}.

    ``pair_metrics`` is the pair's metrics.json (musicfusion.transfer_eval.run_pair). Runs are
    named ``transfer/<source>_to_<target>/<method>`` and tagged ``kind=transfer`` besides ``tags``.
    Each is logged once (:func:`log_once`), keyed by kind=transfer, the source, the target, the
    mapping method, the dataset and the params and data digests; its content is the pair's
    metrics.json without the other methods' entries.
    """
    import mlflow

    from musicfusion.provenance import params_sha256

    with store_access(uri):
        experiment_id = _experiment_id(uri, experiment)
        client = mlflow.MlflowClient(tracking_uri=uri)
        source, target = pair_metrics["source"], pair_metrics["target"]
        sizes = {f"n_{split}": pair_metrics[f"n_{split}"] for split in ("train", "validation", "test")}
        shared = {k: v for k, v in pair_metrics.items() if k != "methods"}
        params_digest = tags.get("params_sha256") or params_sha256(params)
        run_ids = {}
        for method in pair_metrics["method_order"]:
            entry = pair_metrics["methods"][method]
            best = method == pair_metrics["best_on_validation"]
            key = {"kind": "transfer", "source": source, "target": target, "method": method,
                   "dataset": origin.dataset, "params_sha256": params_digest, "dataset_sha256": origin.dataset_sha256}

            def log_run(result_tags: dict) -> str:
                run_tags = {**tags, "kind": "transfer", "source": source, "target": target, "method": method,
                            "method_type": entry["type"], "best_on_validation": str(best).lower(), **result_tags}
                with _start(experiment_id, f"transfer/{source}_to_{target}/{method}", origin, run_tags) as run:
                    mlflow.log_params(flatten("", {"method": entry["params"],
                                                   "pca_components": pair_metrics["pca_components"],
                                                   "seed": pair_metrics["seed"], "recall_at": pair_metrics["recall_at"],
                                                   **params}))
                    mlflow.log_metrics(numeric_metrics({**entry["test"], "validation_mrr": entry["validation_mrr"],
                                                        **sizes, "best_on_validation": float(best)}))
                    for artifact in artifacts:
                        mlflow.log_artifact(str(artifact))
                    return run.info.run_id

            run_ids[method] = log_once(client, experiment_id, key, sha256_of({**shared, "method": entry}), log_run)
    return run_ids


def robustness_metrics(summary, relative) -> dict[str, float]:
    """One method and task's sweeps as MLflow metrics: ``<perturbation>.<modality>.<level>.<score>``
    (mean and interval of every score) and ``relative.<perturbation>.<modality>``."""
    from musicfusion.robustness import SCORES

    metrics = {}
    for row in summary.to_dict("records"):
        prefix = f"{row['perturbation']}.{row['modality']}.{row['level']:g}"
        for name in SCORES:
            for suffix in ("", "_ci_low", "_ci_high"):
                value = float(row[f"{name}{suffix}"])
                if value == value:  # NaN bounds (a single fold) are left out
                    metrics[metric_key(f"{prefix}.{name}{suffix}")] = value
    for row in relative.to_dict("records"):
        value = float(row["relative_robustness"])
        if value == value:
            metrics[f"relative.{row['perturbation']}.{row['modality']}"] = value
    return metrics


def log_robustness_runs(*, uri: str, experiment: str, summary, relative, tags: dict, params: dict,
                        artifacts: list[str | Path], origin: RunOrigin) -> dict:
    """One run per method and task of the robustness sweeps (results/<dataset>/robustness.csv),
    named ``robustness/<method>/<task>`` and tagged ``kind=robustness``; returns
    {"<method>/<task>": run_id}. Each is logged once (:func:`log_once`), keyed by kind, method,
    task, dataset and the params and data digests; its content is its rows of both tables."""
    import mlflow

    from musicfusion.provenance import params_sha256

    with store_access(uri):
        experiment_id = _experiment_id(uri, experiment)
        client = mlflow.MlflowClient(tracking_uri=uri)
        params_digest = tags.get("params_sha256") or params_sha256(params)
        run_ids = {}
        for (method, task), rows in summary.groupby(["method", "task"], sort=False):
            curves = relative[(relative["method"] == method) & (relative["task"] == task)]
            metrics = robustness_metrics(rows, curves)
            key = {"kind": "robustness", "method": method, "task": task, "dataset": origin.dataset,
                   "params_sha256": params_digest, "dataset_sha256": origin.dataset_sha256}

            def log_run(result_tags: dict, method=method, task=task, metrics=metrics) -> str:
                run_tags = {**tags, "kind": "robustness", "method": method, "task": task, **result_tags}
                with _start(experiment_id, f"robustness/{method}/{task}", origin, run_tags) as run:
                    mlflow.log_params(flatten("", params))
                    mlflow.log_metrics(metrics)
                    for artifact in artifacts:
                        mlflow.log_artifact(str(artifact))
                    return run.info.run_id

            run_ids[f"{method}/{task}"] = log_once(client, experiment_id, key, sha256_of(metrics), log_run)
    return run_ids
