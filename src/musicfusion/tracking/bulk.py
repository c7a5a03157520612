"""Many small MLflow runs logged at once: a method's tuning trials, as child runs of its run.

MLflow's public API logs a run with three requests (``create_run``, ``log_batch``,
``set_terminated``) and has none that creates many runs at once; on the SQLite store each of
those requests is a transaction of its own (100 trials: ~2-4 s). :func:`log_runs` logs a list of
:class:`RunRecord`:

- on MLflow's SQL store (``sqlite:``, ``postgresql:``, ``mysql:``, ``mssql:`` URIs, where the
  client's store is a plain ``SqlAlchemyStore``): all the runs in ONE database transaction, through
  the store's own session (``ManagedSessionMaker``): the experiment checked as ``create_run``
  checks it, then one ORM bulk INSERT (``sqlalchemy.insert`` of the store's models) per table,
  ``SqlRun``, ``SqlTag``, ``SqlParam``, ``SqlMetric``, ``SqlLatestMetric`` (100 trials: ~30 ms).
  Each run is stored as those three calls
  would store it: tags with ``mlflow.runName``, the user of ``mlflow.user`` (else ``unknown``),
  source type ``UNKNOWN``, artifact URI ``<experiment's location>/<run id>/artifacts``, params,
  metrics (NaN and infinities sanitised as the store does) and latest metrics, status FINISHED
  with its start and end time. Names and values pass MLflow's own validation (its length
  limits: long param and tag values are truncated, or refused, as ``log_batch`` would). All of
  them are written or none: a failure leaves no half-logged run;
- on any other store (a tracking server, a workspace-aware or plugin store): the public client,
  three requests a run (tags at ``create_run``, params and metrics in one ``log_batch``,
  ``set_terminated``).

The SQL path relies on store internals, which the exact pin of mlflow in pyproject.toml keeps
fixed. Should they change in another MLflow, :func:`sql_store` finds out before anything is
written (the store's exact class, the members used, the columns of the tables read and written against
:data:`SCHEMA`) and the runs go through the public client, with a warning. The tests
(tests/unit/tracking/test_bulk_trials.py) log the same runs through both paths and compare them
through the public client, field by field, so a change in what ``create_run`` stores shows.

Times: a run's start times are the time of the call, one millisecond apart in the order given
(the UI lists runs by start time, as it listed the runs logged one after another); every end
time is the time of the write.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

log = logging.getLogger(__name__)

# The columns of the tables written, as in the MLflow whose internals the SQL path was checked
# against (3.17.2). Another set means another schema: the runs go through the public client.
SCHEMA = {
    "experiments": frozenset({"experiment_id", "name", "artifact_location", "lifecycle_stage", "creation_time",
                              "last_update_time", "workspace"}),  # read: the runs' artifact location
    "runs": frozenset({"run_uuid", "name", "source_type", "source_name", "entry_point_name", "user_id", "status",
                       "start_time", "end_time", "deleted_time", "source_version", "lifecycle_stage", "artifact_uri",
                       "experiment_id"}),
    "tags": frozenset({"key", "value", "run_uuid"}),
    "params": frozenset({"key", "value", "run_uuid"}),
    "metrics": frozenset({"key", "value", "timestamp", "step", "is_nan", "run_uuid"}),
    "latest_metrics": frozenset({"key", "value", "timestamp", "step", "is_nan", "run_uuid"}),
}
# What of the store the SQL path calls.
STORE_MEMBERS = ("ManagedSessionMaker", "_get_experiment", "sanitize_metric_value", "ARTIFACTS_FOLDER_NAME")


@dataclass(frozen=True)
class RunRecord:
    """One run to log: its name, tags (with ``mlflow.parentRunId`` for a child run), params and
    metrics (``mlflow.entities.Metric``, with their own step and timestamp)."""

    name: str
    tags: Mapping[str, str] = field(default_factory=dict)
    params: Mapping[str, str] = field(default_factory=dict)
    metrics: Sequence = ()


def log_runs(client, experiment_id: str, records: Sequence[RunRecord]) -> list[str]:
    """Log ``records`` as FINISHED runs of the experiment; returns their ids, in order.

    One transaction on MLflow's SQL store, else three requests a run (see the module's doc). A
    metric of a model (its ``model_id``, or one logged while a model is active:
    ``mlflow.set_active_model``) also goes to that model: only the public client does that, so
    such runs take it.
    """
    from mlflow.tracking.fluent import get_active_model_id

    records = [_validated(record) for record in records]
    if not records:
        return []
    store = sql_store(client)
    to_a_model = any(metric.model_id or get_active_model_id() for record in records for metric in record.metrics)
    if store is None or to_a_model:
        return log_runs_per_run(client, experiment_id, records)
    return log_runs_in_one_transaction(store, experiment_id, records)


def sql_store(client):
    """The client's store if the one-transaction path can write to it, else None (and why, in the
    log; a warning if it is MLflow's SQL store yet not as this module knows it)."""
    try:
        from mlflow.store.tracking.dbmodels import models
        from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore
    except ImportError as err:  # pragma: no cover - MLflow moved its SQL store
        log.warning("runs logged one by one: MLflow's SQL store is not where it was (%s)", err)
        return None
    store = getattr(getattr(client, "_tracking_client", None), "store", None)
    # A subclass (the workspace-aware store, a plugin) may scope or add to what is written.
    if type(store) is not SqlAlchemyStore:
        log.debug("runs logged one by one: the store is a %s", type(store).__name__)
        return None
    missing = [name for name in STORE_MEMBERS if not hasattr(store, name)]
    tables = {model.__tablename__: frozenset(column.name for column in model.__table__.columns)
              for model in (models.SqlExperiment, models.SqlRun, models.SqlTag, models.SqlParam, models.SqlMetric,
                            models.SqlLatestMetric)}
    if missing or tables != SCHEMA:
        log.warning("runs logged one by one: this MLflow's SQL store is not the one musicfusion.tracking.bulk "
                    "was written for (missing %s; tables %s)", missing,
                    {name: sorted(columns ^ SCHEMA.get(name, frozenset())) for name, columns in tables.items()
                     if columns != SCHEMA.get(name)})
        return None
    return store


def log_runs_per_run(client, experiment_id: str, records: Sequence[RunRecord]) -> list[str]:
    """The public client's way: per run ``create_run`` with its tags, one ``log_batch`` of its
    params and metrics (MLflow splits it if over its batch limits), ``set_terminated``."""
    from mlflow.entities import Param

    run_ids = []
    for record in records:
        run = client.create_run(experiment_id, run_name=record.name, tags=dict(record.tags))
        client.log_batch(run.info.run_id, metrics=list(record.metrics),
                         params=[Param(key, value) for key, value in record.params.items()])
        client.set_terminated(run.info.run_id)
        run_ids.append(run.info.run_id)
    return run_ids


def log_runs_in_one_transaction(store, experiment_id: str, records: Sequence[RunRecord]) -> list[str]:
    """Write ``records`` (validated: :func:`_validated`) as FINISHED runs in one transaction of
    ``store``, a ``SqlAlchemyStore`` (:func:`sql_store`), the experiment's check included; returns
    their ids."""
    import uuid

    from mlflow.entities import LifecycleStage, RunStatus, SourceType, ViewType
    from mlflow.exceptions import MlflowException
    from mlflow.protos.databricks_pb2 import INVALID_PARAMETER_VALUE
    from mlflow.store.tracking.dbmodels.models import (
        SqlLatestMetric,
        SqlMetric,
        SqlParam,
        SqlRun,
        SqlTag,
    )
    from mlflow.utils.mlflow_tags import MLFLOW_USER
    from mlflow.utils.time import get_current_time_millis
    from mlflow.utils.uri import append_to_uri_path
    from sqlalchemy import insert

    started = get_current_time_millis()
    with store.ManagedSessionMaker(read_only=False) as session:  # commits on leaving, else rolls back
        # As create_run checks it (it raises if there is none).
        experiment = store._get_experiment(session, experiment_id, ViewType.ALL)
        if experiment.lifecycle_stage != LifecycleStage.ACTIVE:
            raise MlflowException(f"The experiment {experiment.experiment_id} must be in the 'active' state. "
                                  f"Current state is {experiment.lifecycle_stage}.", INVALID_PARAMETER_VALUE)
        ended = max(get_current_time_millis(), started + len(records) - 1)
        run_ids = [uuid.uuid4().hex for _ in records]
        tables = {SqlRun: [], SqlTag: [], SqlParam: [], SqlMetric: [], SqlLatestMetric: []}
        for index, (run_id, record) in enumerate(zip(run_ids, records)):
            tables[SqlRun].append({
                "run_uuid": run_id, "name": record.name, "experiment_id": experiment_id,
                "artifact_uri": append_to_uri_path(experiment.artifact_location, run_id, store.ARTIFACTS_FOLDER_NAME),
                "source_type": SourceType.to_string(SourceType.UNKNOWN), "source_name": "", "entry_point_name": "",
                "user_id": record.tags.get(MLFLOW_USER, "unknown"), "status": RunStatus.to_string(RunStatus.FINISHED),
                "start_time": started + index, "end_time": ended, "deleted_time": None, "source_version": "",
                "lifecycle_stage": LifecycleStage.ACTIVE})
            tables[SqlTag] += [{"run_uuid": run_id, "key": key, "value": value} for key, value in record.tags.items()]
            tables[SqlParam] += [{"run_uuid": run_id, "key": key, "value": value}
                                 for key, value in record.params.items()]
            metrics = _metric_rows(store, record.metrics)
            tables[SqlMetric] += [{"run_uuid": run_id, **metric} for metric in metrics.values()]
            tables[SqlLatestMetric] += [{"run_uuid": run_id, **metric} for metric in _latest(metrics.values()).values()]
        # ORM bulk INSERTs of the store's models (runs first: the others refer to them), one
        # executemany a table, all in this one transaction.
        for model, rows in tables.items():
            if rows:
                session.execute(insert(model), rows)
    return run_ids


def _metric_rows(store, metrics) -> dict[tuple, dict]:
    """The metrics table's rows of one run, as the store's ``_log_metrics`` makes them: NaN
    stored as 0 with ``is_nan``, infinities as the largest floats, repeats of a row dropped."""
    rows = {}
    for metric in metrics:
        is_nan, value = store.sanitize_metric_value(metric.value)
        row = {"key": metric.key, "value": value, "timestamp": metric.timestamp, "step": metric.step,
               "is_nan": is_nan}
        rows.setdefault((metric.key, metric.timestamp, metric.step, value, is_nan), row)
    return rows


def _latest(rows) -> dict[str, dict]:
    """Each key's latest row, as the store's latest_metrics holds it: the greatest (step,
    timestamp, value); the first logged of equals."""
    latest = {}
    for row in rows:
        best = latest.get(row["key"])
        if best is None or (row["step"], row["timestamp"], row["value"]) > (best["step"], best["timestamp"],
                                                                            best["value"]):
            latest[row["key"]] = row
    return latest


def _validated(record: RunRecord) -> RunRecord:
    """The record as MLflow would store it, by MLflow's own checks: names, length limits (long
    values truncated or refused, per MLFLOW_TRUNCATE_LONG_VALUES), numeric metrics, the run name
    (the ``mlflow.runName`` tag, added if missing, must agree with it)."""
    from mlflow.entities import Metric
    from mlflow.exceptions import MlflowException
    from mlflow.protos.databricks_pb2 import INVALID_PARAMETER_VALUE
    from mlflow.tracking.metric_value_conversion_utils import (
        convert_metric_value_to_float_if_possible,
    )
    from mlflow.utils.mlflow_tags import MLFLOW_RUN_NAME
    from mlflow.utils.validation import _validate_metric, _validate_param, _validate_tag

    tags = {**record.tags}
    if tags.setdefault(MLFLOW_RUN_NAME, record.name) != record.name:
        raise MlflowException(f"Both 'run_name' argument and 'mlflow.runName' tag are specified, but with different "
                              f"values (run_name='{record.name}', mlflow.runName='{tags[MLFLOW_RUN_NAME]}').",
                              INVALID_PARAMETER_VALUE)
    tags = [_validate_tag(key, value, path=f"tags[{index}]") for index, (key, value) in enumerate(tags.items())]
    params = [_validate_param(key, value, path=f"params[{index}]")
              for index, (key, value) in enumerate(record.params.items())]
    metrics = []
    for index, metric in enumerate(record.metrics):
        value = convert_metric_value_to_float_if_possible(metric.value)
        _validate_metric(metric.key, value, metric.timestamp, metric.step, path=f"metrics[{index}]")
        metrics.append(Metric(metric.key, value, metric.timestamp, metric.step, model_id=metric.model_id,
                              dataset_name=metric.dataset_name, dataset_digest=metric.dataset_digest))
    return RunRecord(record.name, {tag.key: tag.value for tag in tags}, {param.key: param.value for param in params},
                     tuple(metrics))
