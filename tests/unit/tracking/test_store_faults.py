"""Tracking under faults: reruns log each result once, parallel jobs share a SQLite store, and a
tracking server that is down fails the step fast while every result is kept."""

from __future__ import annotations

import functools
import json
import multiprocessing
import os
import re
import signal
import socket
import subprocess
import sys
import time
import traceback
import urllib.request
from pathlib import Path
from types import SimpleNamespace

import pytest

from musicfusion.tracking.log_once import RESULT_KEY_TAG, RESULTS_DIGEST_TAG
from musicfusion.tracking.loggers import log_method_runs, log_transfer_runs
from musicfusion.tracking.store import TrackingUnavailable, init_store, init_store_or_warn, lock_path

from support import PROJECT_ROOT
from tracking_cases import ORIGIN, ROW, trial_arguments, trials_as_read

MLFLOW = str(Path(sys.executable).with_name("mlflow"))
ENTRY = {"type": "ridge", "params": {"type": "ridge", "alpha": 1.0}, "validation_mrr": 0.4,
         "test": {"mrr": 0.5, "recall@1": 0.25}}


def time_limit(seconds: int):
    """Fail the test (TimeoutError) if it runs longer than ``seconds`` (pytest-timeout is not installed)."""
    def decorate(test):
        @functools.wraps(test)
        def limited(*args, **kwargs):
            def expire(signum, frame):
                raise TimeoutError(f"{test.__name__} ran over {seconds} s")

            previous = signal.signal(signal.SIGALRM, expire)
            signal.alarm(seconds)
            try:
                return test(*args, **kwargs)
            finally:
                signal.alarm(0)
                signal.signal(signal.SIGALRM, previous)
        return limited
    return decorate


def pair(source: str = "video", target: str = "audio", mrr: float = 0.5) -> dict:
    """A transfer pair's metrics.json with two mapping methods."""
    first = {**ENTRY, "test": {**ENTRY["test"], "mrr": mrr}}
    return {"source": source, "target": target, "n_train": 10, "n_validation": 4, "n_test": 4,
            "pca_components": 8, "seed": 1, "recall_at": [1], "best_on_validation": "second",
            "method_order": ["first", "second"], "methods": {"first": first, "second": ENTRY}}


def log_pair(uri: str, experiment: str, metrics: dict, artifact: Path) -> dict:
    return log_transfer_runs(uri=uri, experiment=experiment, pair_metrics=metrics, tags={"params_sha256": "p" * 64},
                             params={"dataset": "tiny"}, artifacts=[artifact], origin=ORIGIN)


def log_method(uri: str, experiment: str, model, row: dict = ROW, trials=None) -> dict:
    from musicfusion.evaluation.evaluate import search_record

    trials = trials_as_read("style", [0.5, 1.0]) if trials is None else trials
    return log_method_runs(uri=uri, experiment=experiment, method="late_fusion",
                           method_params={"type": "late_fusion", "learner": "logistic", "weight_step": 0.5},
                           rows={"style": row}, artifacts={}, models={"style": model}, params={"seed": 42},
                           tags={"kind": "fusion"}, origin=ORIGIN, searches={"style": search_record(trials, "style")},
                           **trial_arguments(trials, ["style"]))


def active_runs(client, experiment: str) -> list:
    return client.search_runs([client.get_experiment_by_name(experiment).experiment_id], "", max_results=1000)


def children_of(client, experiment: str, parent_id: str, view=None) -> list:
    from mlflow.entities import ViewType

    exp_id = client.get_experiment_by_name(experiment).experiment_id
    return client.search_runs([exp_id], f"tags.`mlflow.parentRunId` = '{parent_id}'",
                              run_view_type=view or ViewType.ACTIVE_ONLY, max_results=1000)


# The store and the fitted method of test_tracking, shared (pytest fixtures by import).


@pytest.fixture()
def curve(tmp_path) -> Path:
    path = tmp_path / "recall_at_k.png"
    path.write_bytes(b"\x89PNG")
    return path


# --- 1. No duplicated runs on rerun -------------------------------------------------------------

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


# --- 2. Parallel jobs on one SQLite store -------------------------------------------------------

JOBS, PAIRS_PER_JOB = 6, 2


def parallel_job(uri: str, root: str, experiment: str, job: int, barrier, out: str) -> None:
    """One track job: create the store if needed (as onstart does, here racing the others on a
    fresh database), then log its own pairs and one pair every job shares, twice (a rerun)."""
    try:
        artifact = Path(root) / f"curve-{job}.png"
        artifact.write_bytes(b"\x89PNG" + bytes([job]))
        barrier.wait(timeout=120)
        init_store(uri, experiment, root=root)
        runs = {}
        for rerun in range(2):
            for name in [f"job{job}-{i}" for i in range(PAIRS_PER_JOB)] + ["shared"]:
                runs[f"{name}/{rerun}"] = log_pair(uri, experiment, pair(source=name), artifact)
        Path(out).write_text(json.dumps(runs))
    except BaseException:
        Path(out).write_text(json.dumps({"error": traceback.format_exc()}))
        raise


@time_limit(240)
def test_parallel_jobs_share_one_fresh_sqlite_store(tmp_path):
    import mlflow

    uri, experiment = f"sqlite:///{tmp_path / 'mlflow.db'}", "parallel"
    spawn = multiprocessing.get_context("spawn")
    barrier = spawn.Barrier(JOBS)
    outs = [tmp_path / f"job-{job}.json" for job in range(JOBS)]
    jobs = [spawn.Process(target=parallel_job, args=(uri, str(tmp_path), experiment, job, barrier, str(out)))
            for job, out in enumerate(outs)]
    for job in jobs:
        job.start()
    try:
        for job in jobs:
            job.join(timeout=200)
    finally:
        for job in jobs:
            if job.is_alive():
                job.kill()
                job.join()
    results = [json.loads(out.read_text()) if out.exists() else {"error": "no output"} for out in outs]
    assert [r.get("error") for r in results] == [None] * JOBS, results
    assert [job.exitcode for job in jobs] == [0] * JOBS

    client = mlflow.MlflowClient(tracking_uri=uri)
    runs = active_runs(client, experiment)
    per_key = {}
    for run in runs:
        per_key.setdefault(run.data.tags[RESULT_KEY_TAG], []).append(run)
    # Two mappings for every job's own pairs and for the shared pair: each exactly once.
    assert len(runs) == len(per_key) == 2 * (JOBS * PAIRS_PER_JOB + 1)
    assert all(run.info.status == "FINISHED" for run in runs)
    assert all(len(client.list_artifacts(run.info.run_id)) == 1 for run in runs)
    shared = {json.dumps(r["shared/0"]) for r in results} | {json.dumps(r["shared/1"]) for r in results}
    assert len(shared) == 1  # every job got the one shared run: the first logged it, the rest reused it
    for r in results:
        for name in r:
            assert r[name] == r[name.replace("/1", "/0")]  # a rerun reuses
    assert lock_path(uri) == tmp_path / "mlflow.db.lock" and lock_path(uri).exists()


def test_the_lock_sits_beside_a_sqlite_database_only(tmp_path):
    assert lock_path(f"sqlite:///{tmp_path}/x/mlflow.db") == tmp_path / "x" / "mlflow.db.lock"
    assert lock_path("sqlite:///mlflow.db") == Path("mlflow.db.lock")
    assert lock_path("http://127.0.0.1:5000") is None and lock_path("sqlite://") is None


# --- 3. A tracking server that is down ----------------------------------------------------------

def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """A real ``mlflow server`` on a free local port, started on demand, always stopped."""

    def __init__(self, root: Path):
        self.root, self.port, self.process = root, free_port(), None
        self.uri = f"http://127.0.0.1:{self.port}"

    def start(self, wait: float = 120) -> None:
        self.log = open(self.root / "server.log", "ab")  # closed in stop()
        self.process = subprocess.Popen(
            [MLFLOW, "server", "--backend-store-uri", f"sqlite:///{self.root / 'db.sqlite'}",
             "--default-artifact-root", str(self.root / "art"), "--host", "127.0.0.1", "--port", str(self.port),
             "--workers", "1"], stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"mlflow server exited: {(self.root / 'server.log').read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(f"{self.uri}/health", timeout=2) as answer:
                    if answer.status == 200:
                        return
            except OSError:
                time.sleep(0.5)
        raise RuntimeError(f"mlflow server did not answer in {wait} s")

    def stop(self) -> None:
        """Stop the server and the workers it started (its own process group)."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        if self.process is not None:
            self.log.close()
        self.process = None


@pytest.fixture()
def server(tmp_path):
    server = Server(tmp_path)
    try:
        yield server
    finally:
        server.stop()


def expect_unavailable(call, uri: str, within: float = 10.0) -> TrackingUnavailable:
    started = time.monotonic()
    with pytest.raises(TrackingUnavailable, match=re.escape(uri)) as caught:
        call()
    assert time.monotonic() - started < within
    message = str(caught.value)
    assert "results are kept" in message and "Rerun" in message
    assert isinstance(caught.value, RuntimeError)
    return caught.value


@time_limit(300)
def test_a_down_server_fails_fast_and_a_rerun_logs_once_it_is_back(server, curve, late_fusion):
    import mlflow

    uri, experiment = server.uri, "served"
    expect_unavailable(lambda: log_pair(uri, experiment, pair(), curve), uri)
    expect_unavailable(lambda: log_method(uri, experiment, late_fusion), uri)

    server.start()
    transfer = log_pair(uri, experiment, pair(), curve)  # the experiment is created on the way
    method = log_method(uri, experiment, late_fusion)
    assert log_pair(uri, experiment, pair(), curve) == transfer  # a third call: reused
    assert log_method(uri, experiment, late_fusion) == method

    client = mlflow.MlflowClient(tracking_uri=uri)
    runs = active_runs(client, experiment)
    keys = [r.data.tags[RESULT_KEY_TAG] for r in runs if RESULT_KEY_TAG in r.data.tags]
    assert len(keys) == len(set(keys)) == 3  # one run per key: two mappings, one method and task
    assert len(runs) == 3 + 6  # and the method's trials under it
    assert client.get_run(method["style"]).data.metrics["accuracy"] == ROW["accuracy"]

    server.stop()  # going down again later fails fast again
    expect_unavailable(lambda: log_pair(uri, experiment, pair(), curve), uri)


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
