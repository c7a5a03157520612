"""Tracking with real processes: six jobs creating and logging to one fresh SQLite store at once,
and a real ``mlflow server`` down (the step fails fast, results kept) then back (logged once)."""

from __future__ import annotations

import json
import multiprocessing
import os
import re
import signal
import subprocess
import sys
import time
import traceback
import urllib.request
from pathlib import Path

import pytest

from musicfusion.tracking.log_once import RESULT_KEY_TAG
from musicfusion.tracking.store import TrackingUnavailable, init_store, lock_path

from support import free_port
from tracking_cases import ROW, active_runs, log_method, log_pair, pair, time_limit

pytestmark = pytest.mark.workflow
MLFLOW = str(Path(sys.executable).with_name("mlflow"))


# --- parallel jobs on one SQLite store ---------------------------------------------------------

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


# --- a tracking server that is down ------------------------------------------------------------

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
