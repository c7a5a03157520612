"""Tracking under faults: reruns log each result once (reused, or replaced with their children
and models), the lock sits beside a SQLite store, and a tracking server that is down fails the
step fast while every result is kept (with real processes: tests/e2e/test_tracking_processes.py)."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from musicfusion.tracking.log_once import RESULT_KEY_TAG, RESULTS_DIGEST_TAG
from musicfusion.tracking.store import TrackingUnavailable, init_store, init_store_or_warn, lock_path

from support import PROJECT_ROOT, free_port
from tracking_cases import ROW, active_runs, children_of, log_method, log_pair, pair, trials_as_read

# --- no duplicated runs on rerun ---------------------------------------------------------------

def test_a_rerun_of_logged_results_reuses_their_runs(store, curve, late_fusion):
    """Same key, same content: nothing is logged again, the same ids come back; trial times are
    not content (they differ on every run)."""
    uri, client, experiment = store
    transfer = log_pair(uri, experiment, pair(), curve)
    method = log_method(uri, experiment, late_fusion)
    n_runs = len(active_runs(client, experiment))
    assert n_runs == 2 + 1 + 6  # two mappings, one method run with its 2 folds x 3 trials

    slower = trials_as_read("style", [0.5, 1.0]).assign(seconds="9.5", search_seconds="30.0")
    assert log_pair(uri, experiment, pair(), curve) == transfer
    assert log_method(uri, experiment, late_fusion, trials=slower) == method
    assert len(active_runs(client, experiment)) == n_runs
    run = client.get_run(method["style"])
    assert len(run.data.tags[RESULT_KEY_TAG]) == len(run.data.tags[RESULTS_DIGEST_TAG]) == 64
    assert run.data.tags["kind"] == "fusion" and run.info.status == "FINISHED"
    assert {r.data.tags["kind"] for r in children_of(client, experiment, method["style"])} == {"trial"}


def test_a_changed_result_replaces_its_run_with_children_and_model(store, curve, late_fusion):
    from mlflow.entities import ViewType

    uri, client, experiment = store
    exp_id = client.get_experiment_by_name(experiment).experiment_id
    old_transfer = log_pair(uri, experiment, pair(), curve)
    old = log_method(uri, experiment, late_fusion)["style"]
    old_children = {c.info.run_id for c in children_of(client, experiment, old)}

    new_transfer = log_pair(uri, experiment, pair(mrr=0.75), curve)  # only "first" changed
    new = log_method(uri, experiment, late_fusion, row={**ROW, "accuracy": 0.8})["style"]
    assert new_transfer["second"] == old_transfer["second"] and new_transfer["first"] != old_transfer["first"]
    assert new != old
    for run_id in [old, old_transfer["first"], *old_children]:
        assert client.get_run(run_id).info.lifecycle_stage == "deleted"
    assert len(children_of(client, experiment, new)) == 6
    assert {c.info.run_id for c in children_of(client, experiment, old, ViewType.ALL)} == old_children
    assert len(active_runs(client, experiment)) == 2 + 1 + 6
    [model] = client.search_logged_models([exp_id])  # the old run's model went with it
    assert model.source_run_id == new
    assert client.get_run(new).data.metrics["accuracy"] == 0.8


def test_a_run_that_failed_halfway_is_replaced_by_the_rerun(store, late_fusion, monkeypatch):
    """A crash after the trials were logged leaves a FAILED parent with children: the rerun of the
    same result deletes both and logs it whole."""
    import musicfusion.tracking.loggers as tracking

    uri, client, experiment = store
    real = tracking._trusted_types

    def crash(model):
        raise OSError("disk full")

    monkeypatch.setattr(tracking, "_trusted_types", crash)
    with pytest.raises(OSError, match="disk full"):
        log_method(uri, experiment, late_fusion)
    [failed] = [r for r in active_runs(client, experiment) if "mlflow.parentRunId" not in r.data.tags]
    assert failed.info.status == "FAILED" and len(children_of(client, experiment, failed.info.run_id)) == 6

    monkeypatch.setattr(tracking, "_trusted_types", real)
    run_id = log_method(uri, experiment, late_fusion)["style"]
    assert run_id != failed.info.run_id
    assert client.get_run(failed.info.run_id).info.lifecycle_stage == "deleted"
    parents = [r for r in active_runs(client, experiment) if "mlflow.parentRunId" not in r.data.tags]
    assert [r.info.run_id for r in parents] == [run_id] and parents[0].info.status == "FINISHED"
    assert len(active_runs(client, experiment)) == 1 + 6


def test_the_lock_sits_beside_a_sqlite_database_only(tmp_path):
    assert lock_path(f"sqlite:///{tmp_path}/x/mlflow.db") == tmp_path / "x" / "mlflow.db.lock"
    assert lock_path("sqlite:///mlflow.db") == Path("mlflow.db.lock")
    assert lock_path("http://127.0.0.1:5000") is None and lock_path("sqlite://") is None


def test_onstart_warns_and_goes_on_when_the_server_is_down(capsys):
    uri = f"http://127.0.0.1:{free_port()}"
    started = time.monotonic()
    assert init_store_or_warn(uri, "musicfusion") is None
    assert time.monotonic() - started < 10
    err = capsys.readouterr().err
    assert err.startswith("WARNING: ") and uri in err and "every other result is built" in err
    with pytest.raises(TrackingUnavailable):
        init_store(uri, "musicfusion")


def test_the_track_transfer_script_keeps_every_result_when_the_server_is_down(tmp_path, curve, monkeypatch):
    """The rule's script fails with the clear message, writes no output and leaves its inputs."""
    import logging
    import runpy

    uri = f"http://127.0.0.1:{free_port()}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    metrics, fingerprint = tmp_path / "metrics.json", tmp_path / "fingerprint.json"
    metrics.write_text(json.dumps(pair()))
    fingerprint.write_text(json.dumps({"sha256": "f" * 64, "n_clips": 4, "n_files": 8}))
    inputs = {path: path.read_bytes() for path in (metrics, fingerprint, curve)}
    output, log = tmp_path / "mlflow_runs.json", tmp_path / "track_transfer.log"
    snakemake = SimpleNamespace(
        input=SimpleNamespace(metrics=str(metrics), curve=str(curve), fingerprint=str(fingerprint)),
        output=[str(output)], log=[str(log)], rule="track_transfer",
        params=SimpleNamespace(dataset="tiny", preset="tiny", shaping={"dataset": "tiny"},
                               manifest=str(tmp_path / "manifest.csv"), uri=None, experiment="musicfusion"))
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    try:
        with pytest.raises(TrackingUnavailable, match=re.escape(uri)):
            runpy.run_path(str(PROJECT_ROOT / "workflow/scripts/track_transfer.py"),
                           init_globals={"snakemake": snakemake})
    finally:  # the script's log_to pointed logging at its (now closed) log file
        root.handlers[:], root.level = handlers, level
    assert not output.exists()
    assert {path: path.read_bytes() for path in inputs} == inputs
    assert "results are kept" in log.read_text()
