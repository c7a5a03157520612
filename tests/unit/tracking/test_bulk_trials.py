"""Trials logged at once (musicfusion.tracking.bulk): on a SQLite store one transaction writes a
method's trial runs, and the public client reads them back as it reads runs it logged one by one."""

from __future__ import annotations

import json
import math
import uuid

import pandas as pd
import pytest
from mlflow.entities import Metric
from mlflow.exceptions import MlflowException
from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore

from musicfusion.tracking import bulk
from musicfusion.tracking.loggers import flatten, log_trials

from tracking_cases import children_of, trials_as_read

PARENT_TAG = "mlflow.parentRunId"
WRITES = ("create_run", "log_batch", "update_run_info", "set_tag", "_set_tags", "_log_params", "_log_metrics",
          "log_param", "log_metric")


def log_trials_one_by_one(client, experiment_id, parent_id, run_name, trials, tags) -> int:
    """log_trials as it was before the bulk path: three client calls a trial."""
    from mlflow.entities import Param, RunTag

    for row in trials.to_dict("records"):
        name = f"{run_name}/fold-{row['fold']}/trial-{row['trial']}"
        run = client.create_run(experiment_id, run_name=name, tags={**tags, PARENT_TAG: parent_id, "kind": "trial"})
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


def wide_trials() -> pd.DataFrame:
    """Trials with nested settings, a long setting and odd scores (NaN, infinite) besides the usual."""
    trials = trials_as_read("style", [0.5, 1.0])
    trials["settings"] = [json.dumps({"audio": {"C": 0.5 * i, "penalty": "l2"}, "layers": [64, i],
                                      "note": "x" * (7000 if i == 0 else 5)}) for i in range(len(trials))]
    trials.loc[1, "validation_score"] = "nan"
    trials.loc[2, "seconds"] = "inf"
    return trials


def experiment_of(client, experiment: str) -> str:
    return client.get_experiment_by_name(experiment).experiment_id


def metric_value(value: float):
    return "nan" if math.isnan(value) else value


def stored(client, experiment: str, parent_id: str) -> dict:
    """What the public client reads of a parent's children, by run name, ids and times left out."""
    runs = {}
    for run in children_of(client, experiment, parent_id):
        run = client.get_run(run.info.run_id)  # what the UI's run page reads
        info = run.info
        assert info.artifact_uri.endswith(f"/{info.run_id}/artifacts")
        assert info.end_time is not None and info.start_time <= info.end_time
        history = {key: [(m.key, metric_value(m.value), m.step, m.timestamp)
                         for m in client.get_metric_history(info.run_id, key)] for key in run.data.metrics}
        runs[info.run_name] = {
            "experiment_id": info.experiment_id, "status": info.status, "lifecycle_stage": info.lifecycle_stage,
            "user_id": info.user_id, "parent": run.data.tags[PARENT_TAG],
            "tags": {k: v for k, v in run.data.tags.items() if k != PARENT_TAG}, "params": run.data.params,
            "metrics": {k: metric_value(v) for k, v in run.data.metrics.items()}, "history": history,
            "inputs": run.inputs.dataset_inputs}
    return runs


def parents(client, experiment_id: str) -> tuple[str, str]:
    return tuple(client.create_run(experiment_id, run_name=f"late_fusion/style-{n}").info.run_id for n in (1, 2))


def same_apart_from_parent(one: dict, other: dict, one_parent: str, other_parent: str) -> None:
    assert one.keys() == other.keys()
    for name, run in one.items():
        assert run["parent"] == one_parent and other[name]["parent"] == other_parent
        assert {**run, "parent": None} == {**other[name], "parent": None}, name


def test_bulk_trials_read_back_as_the_trials_logged_one_by_one(store):
    """Field by field through the public client: names, params, metrics and their history, tags,
    status, experiment; only ids, times and the parent differ."""
    _, client, experiment = store
    experiment_id = experiment_of(client, experiment)
    before, now = parents(client, experiment_id)
    trials = wide_trials()
    tags = {"method": "late_fusion", "task": "style"}
    assert log_trials_one_by_one(client, experiment_id, before, "late_fusion/style", trials, tags) == len(trials)
    assert log_trials(client, experiment_id, now, "late_fusion/style", trials, tags) == len(trials)

    one_by_one, at_once = stored(client, experiment, before), stored(client, experiment, now)
    same_apart_from_parent(one_by_one, at_once, before, now)
    assert set(at_once) == {f"late_fusion/style/fold-{f}/trial-{t}" for f in range(2) for t in range(3)}
    first = at_once["late_fusion/style/fold-0/trial-0"]
    assert first["status"] == "FINISHED" and first["experiment_id"] == experiment_id
    assert first["tags"]["kind"] == "trial" and first["tags"]["mlflow.runName"] == "late_fusion/style/fold-0/trial-0"
    assert first["params"]["note"] == "x" * 6000  # MLflow's limit: truncated as log_batch truncates
    assert first["params"]["audio.penalty"] == "l2" and first["params"]["layers"] == "[64, 0]"
    assert first["history"]["validation_score"] == [("validation_score", 0.5, 0, 0)]
    assert at_once["late_fusion/style/fold-0/trial-1"]["metrics"]["validation_score"] == "nan"
    assert at_once["late_fusion/style/fold-0/trial-2"]["metrics"]["seconds"] == 1.7976931348623157e308


def test_the_public_client_path_stores_what_the_one_transaction_path_stores(store):
    """The path of a tracking server (three client calls a run) against the SQL one, on records
    with several steps of a metric, a repeated metric and a run's own user."""
    _, client, experiment = store
    experiment_id = experiment_of(client, experiment)
    by_client, at_once = parents(client, experiment_id)

    def records(parent):
        return [bulk.RunRecord(name=f"run-{i}", tags={PARENT_TAG: parent, "kind": "trial", "mlflow.user": "ana"},
                               params={"i": str(i), "long": "y" * 6500},
                               metrics=[Metric("loss", 1.0 / (step + 1), 10 + step, step) for step in range(3)]
                               + [Metric("loss", 0.25, 11, 1), Metric("score", float("-inf"), 5, 0),
                                  Metric("score", float("-inf"), 5, 0)])
                for i in range(4)]

    assert len(bulk.log_runs_per_run(client, experiment_id, [bulk._validated(r) for r in records(by_client)])) == 4
    assert len(bulk.log_runs(client, experiment_id, records(at_once))) == 4
    one, other = stored(client, experiment, by_client), stored(client, experiment, at_once)
    same_apart_from_parent(one, other, by_client, at_once)
    run = other["run-0"]
    assert run["user_id"] == "ana" and run["params"]["long"] == "y" * 6000
    assert run["metrics"] == {"loss": 1.0 / 3, "score": -1.7976931348623157e308}
    assert sorted((step, ts, value) for _, value, step, ts in run["history"]["loss"]) == [
        (0, 10, 1.0), (1, 11, 0.25), (1, 11, 0.5), (2, 12, 1.0 / 3)]


def test_a_methods_trials_are_one_transaction_and_no_per_run_call(store, monkeypatch):
    _, client, experiment = store
    experiment_id = experiment_of(client, experiment)
    [parent, _] = parents(client, experiment_id)
    sql = bulk.sql_store(client)
    assert type(sql) is SqlAlchemyStore  # the installed MLflow takes the one-transaction path

    def refused(*args, **kwargs):
        raise AssertionError("a per-run store call")

    for name in WRITES:
        monkeypatch.setattr(SqlAlchemyStore, name, refused)
    from sqlalchemy import event

    commits = []

    def count(connection):
        commits.append(connection)

    event.listen(sql.engine, "commit", count)
    try:
        trials = trials_as_read("style", [0.5, 1.0] * 20)  # 40 folds x 3 trials
        assert log_trials(client, experiment_id, parent, "late_fusion/style", trials, {}) == 120
    finally:
        event.remove(sql.engine, "commit", count)
    assert len(commits) == 1
    monkeypatch.undo()
    assert len(children_of(client, experiment, parent)) == 120


def test_the_ui_links_each_trial_to_its_parent(store):
    _, client, experiment = store
    experiment_id = experiment_of(client, experiment)
    [parent, other] = parents(client, experiment_id)
    log_trials(client, experiment_id, parent, "late_fusion/style", trials_as_read("style", [0.5]), {"method": "m"})
    children = children_of(client, experiment, parent)
    assert len(children) == 3 and children_of(client, experiment, other) == []
    for child in children:
        assert child.data.tags[PARENT_TAG] == parent
        assert client.get_parent_run(child.info.run_id).info.run_id == parent
    # The UI lists runs newest first: the trials keep the order they were logged in.
    ordered = client.search_runs([experiment_id], f"tags.`{PARENT_TAG}` = '{parent}'",
                                 order_by=["attributes.start_time ASC"])
    assert [r.info.run_name for r in ordered] == [f"late_fusion/style/fold-0/trial-{t}" for t in range(3)]


def test_a_failed_write_leaves_no_trial_run(store, monkeypatch):
    """All or nothing: two runs under one id fail the transaction, and neither is left."""
    _, client, experiment = store
    experiment_id = experiment_of(client, experiment)
    [parent, _] = parents(client, experiment_id)
    same = uuid.uuid4()
    monkeypatch.setattr(uuid, "uuid4", lambda: same)
    with pytest.raises(MlflowException):
        log_trials(client, experiment_id, parent, "late_fusion/style", trials_as_read("style", [0.5]), {})
    monkeypatch.undo()
    assert children_of(client, experiment, parent) == []


@pytest.mark.parametrize("record", [bulk.RunRecord("r", params={"bad key!": "1"}),
                                    bulk.RunRecord("r", metrics=[Metric("m", "not a number", 0, 0)]),
                                    bulk.RunRecord("r", tags={"mlflow.runName": "another"})])
def test_what_mlflow_refuses_is_refused_before_anything_is_written(store, record):
    _, client, experiment = store
    experiment_id = experiment_of(client, experiment)
    with pytest.raises(MlflowException):
        bulk.log_runs(client, experiment_id, [bulk.RunRecord("fine"), record])
    assert client.search_runs([experiment_id]) == []


def test_a_store_not_as_known_takes_the_public_client(store, monkeypatch, caplog):
    """Another MLflow's tables, or a store that is not the plain SQL one: the runs go one by one."""
    _, client, experiment = store
    experiment_id = experiment_of(client, experiment)
    [parent, _] = parents(client, experiment_id)
    monkeypatch.setitem(bulk.SCHEMA, "runs", bulk.SCHEMA["runs"] | {"workspace"})
    assert bulk.sql_store(client) is None
    assert "not the one musicfusion.tracking.bulk was written for" in caplog.text
    created = []
    original = SqlAlchemyStore.create_run
    monkeypatch.setattr(SqlAlchemyStore, "create_run", lambda self, *a, **k: created.append(1) or original(self, *a, **k))
    assert log_trials(client, experiment_id, parent, "late_fusion/style", trials_as_read("style", [0.5]), {}) == 3
    assert len(created) == 3 and len(children_of(client, experiment, parent)) == 3

    class Remote:
        class _tracking_client:
            store = object()

    assert bulk.sql_store(Remote()) is None


def test_runs_logged_while_a_model_is_active_take_the_public_client(store, monkeypatch):
    """Only the client also logs a metric to the active model: such runs go one by one."""
    import mlflow.tracking.fluent

    _, client, experiment = store
    experiment_id = experiment_of(client, experiment)
    taken = []
    monkeypatch.setattr(mlflow.tracking.fluent, "get_active_model_id", lambda: "m-1")
    monkeypatch.setattr(bulk, "log_runs_per_run", lambda client, experiment_id, records: taken.extend(records))
    bulk.log_runs(client, experiment_id, [bulk.RunRecord("r", metrics=[Metric("m", 1.0, 0, 0)])])
    assert [record.name for record in taken] == ["r"]
