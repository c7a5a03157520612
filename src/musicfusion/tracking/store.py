"""The MLflow store: where it is, one job's turn at it, and the experiment the runs go to.

The store and its experiment are created once, before parallel jobs start (:func:`init_store`,
called by the workflow's ``onstart``); each job then finds the experiment (:func:`experiment_id`).
Parallel jobs on a SQLite store take turns through a file lock beside the database; a tracking
server that cannot be reached fails the step within seconds with :class:`TrackingUnavailable`
(:func:`store_access`). What is logged, and how each result is logged once, lives in
musicfusion.tracking.loggers and musicfusion.tracking.log_once.

All runs go to one experiment, tagged as machine learning (:data:`EXPERIMENT_KIND_TAG`). Each kind
of result is one search filter away (the runs' tag ``kind``, musicfusion.tracking.loggers.RUN_KINDS):
``tags.kind = 'fusion'`` (a run per method and task), ``'trial'`` (their tuning trials),
``'transfer'``, ``'robustness'``.
"""

from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path

# A SQLite store's jobs wait this long for each other's logging before giving up.
LOCK_TIMEOUT_SECONDS = 1800
# A tracking server is first asked once, with a short timeout and no retries, so that one that is
# down fails the step in seconds; the logging after it retries briefly (MLflow's defaults, 7
# retries with exponential backoff and 120 s timeouts, wait minutes). Variables the user set win.
PROBE_HTTP = {"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0", "MLFLOW_HTTP_REQUEST_TIMEOUT": "5"}
LOGGING_HTTP = {"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "2", "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1",
                "MLFLOW_HTTP_REQUEST_TIMEOUT": "30"}
# The experiment's type for MLflow 3's UI: "custom_model_development" is "Machine learning" (runs,
# models), against "genai_development" (traces). UIs that read the tag open the experiment on its
# runs; 3.17's follows its own GenAI / Model training toggle instead (the URL's
# ?workflowType=machine_learning sets it). MLflow has no Python constant for either: the names are
# its UI's (ExperimentKind in mlflow/server/js; mlflow/demo/generators/traces.py sets the same tag).
EXPERIMENT_KIND_TAG = "mlflow.experimentKind"
EXPERIMENT_KIND = "custom_model_development"


class TrackingUnavailable(RuntimeError):
    """The tracking store cannot be reached; the results are kept and a rerun logs them."""

    def __init__(self, uri: str, reason: str):
        super().__init__(f"MLflow tracking at {uri} is unavailable ({reason}). The results are kept: only "
                         "their MLflow runs are missing. Rerun the workflow once the server is back and the "
                         "tracking step will log them (runs already logged are reused, not duplicated).")
        self.uri = uri


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
    half-logged runs and would still leave the check-then-log of
    :func:`musicfusion.tracking.log_once.log_once` racy (without the lock, six jobs sharing one
    result deleted each other's runs). So each job holds a file lock beside the database for all
    of its logging: the jobs take turns (their imports and reads of results still overlap),
    nothing is retried, and no two jobs touch the runs of one result at once. The lock is an
    flock: the kernel releases it when a process dies, none goes stale.

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
    """The experiment's id, created if missing; tagged with :data:`EXPERIMENT_KIND` when created or,
    in a store made before the tag, when found without it (a kind the user chose in the UI stays)."""
    from mlflow.exceptions import MlflowException

    found = client.get_experiment_by_name(experiment)
    if found is None:
        location = artifact_root(root) if uri.startswith("sqlite:") else None
        try:
            return client.create_experiment(experiment, artifact_location=location,
                                            tags={EXPERIMENT_KIND_TAG: EXPERIMENT_KIND})
        except MlflowException:  # another job created it in between (a server takes no lock)
            found = client.get_experiment_by_name(experiment)
            if found is None:
                raise
    if EXPERIMENT_KIND_TAG not in found.tags:
        client.set_experiment_tag(found.experiment_id, EXPERIMENT_KIND_TAG, EXPERIMENT_KIND)
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


def experiment_id(uri: str, experiment: str) -> str:
    """Point MLflow at ``uri`` and find the experiment that init_store created before the jobs (a
    server's experiment is created here if missing: init_store may have found the server down).
    Call it within :func:`store_access`."""
    import mlflow

    mlflow.set_tracking_uri(uri)
    if is_remote(uri):
        return _get_or_create_experiment(mlflow.MlflowClient(tracking_uri=uri), uri, experiment)
    exp = mlflow.get_experiment_by_name(experiment)
    if exp is None:
        raise RuntimeError(f"MLflow experiment {experiment!r} not found at {uri}: the store is created "
                           "by the workflow's onstart hook (musicfusion.tracking.store.init_store)")
    return exp.experiment_id
