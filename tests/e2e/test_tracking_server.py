"""A team's tracking server: PostgreSQL and ``mlflow server`` started by scripts/tracking_server.sh
on 127.0.0.1, the tiny workflow's tracking jobs pointed at it through params.yaml's
``tracking.uri``, and their runs read back through the server as the local store holds them."""

from __future__ import annotations

import glob
import json
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from pathlib import Path

import pandas as pd
import pytest
import yaml

from support import PROJECT_ROOT, copy_run, snakemake

SCRIPT = PROJECT_ROOT / "scripts/tracking_server.sh"
MLFLOW = Path(sys.executable).with_name("mlflow")
# Every robustness and transfer tracking job logs to the server, and two of the twelve method jobs
# (a late fusion of scikit-learn learners, a JAX network): each method job logs 100 trial runs,
# about 300 requests, so all twelve took 90 s on 2 cores where these take a third of it.
SERVED_METHODS = ("late_fusion", "mlp_multitask")
SERVED_JOBS = ("track_robustness", "track_transfer", "track_style_transfer", "track_transcription", "track_assist",
               *(f"results/tiny/methods/{m}/mlflow_runs.json" for m in SERVED_METHODS))


def _missing() -> str | None:
    """Why this machine cannot run a PostgreSQL-backed server, or None."""
    if not (glob.glob("/usr/lib/postgresql/*/bin/initdb") or os.environ.get("PG_BIN") or shutil.which("initdb")):
        return "PostgreSQL's programs are not installed (Debian: apt-get install postgresql)"
    try:
        import psycopg2  # noqa: F401
    except ImportError:
        return "psycopg2 is not installed (pip install -e \".[server]\")"
    if os.geteuid() == 0:  # PostgreSQL refuses root: the script runs it as `postgres` (else as us)
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            return "root, and no 'postgres' user to run PostgreSQL as"
    return None


pytestmark = [pytest.mark.workflow, pytest.mark.skipif(_missing() is not None, reason=str(_missing()))]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Served:
    """The server of scripts/tracking_server.sh in a temporary folder, on free ports."""

    def __init__(self):
        # Not under pytest's tmp folder: that is root's alone, and PostgreSQL runs as `postgres`.
        self.dir = Path(tempfile.mkdtemp(prefix="musicfusion-tracking-"))
        self.dir.chmod(0o711)
        self.port, self.pg_port, self.password = free_port(), free_port(), uuid.uuid4().hex
        self.uri = f"http://127.0.0.1:{self.port}"
        self.artifacts = self.dir / "shared-artifacts"
        self.env = {**os.environ, "TRACKING_SERVER_DIR": str(self.dir), "TRACKING_PORT": str(self.port),
                    "TRACKING_PG_PORT": str(self.pg_port), "TRACKING_DB_PASSWORD": self.password,
                    "TRACKING_ARTIFACTS": str(self.artifacts), "MLFLOW": str(MLFLOW)}

    def script(self, action: str, timeout: int = 300) -> subprocess.CompletedProcess:
        return subprocess.run(["bash", str(SCRIPT), action], env=self.env, capture_output=True, text=True,
                              timeout=timeout, check=False)

    def logs(self) -> str:
        return "".join(f"\n--- {name}\n{(self.dir / name).read_text()[-2000:]}"
                       for name in ("postgres.log", "mlflow.log") if (self.dir / name).exists())

    def connect(self):
        import psycopg2

        return psycopg2.connect(host="127.0.0.1", port=self.pg_port, dbname="mlflow", user="mlflow",
                                password=self.password, connect_timeout=5)


@pytest.fixture(scope="module")
def server():
    served = Served()
    try:
        started = time.monotonic()
        proc = served.script("start")
        assert proc.returncode == 0, proc.stdout + proc.stderr + served.logs()
        served.start_seconds = time.monotonic() - started
        again = served.script("start")  # idempotent: finds it running
        assert again.returncode == 0 and "already answers" in again.stdout, again.stdout + again.stderr
        yield served
    finally:
        stopped = served.script("stop", timeout=120)
        shutil.rmtree(served.dir, ignore_errors=True)
        assert stopped.returncode == 0, stopped.stdout + stopped.stderr


@pytest.fixture(scope="module")
def served_run(tiny_run, server, tmp_path_factory):
    """A copy of the finished tiny run whose tracking jobs (SERVED_JOBS) logged again, to the
    server: the documented way, tracking.uri in params.yaml. A changed tracking.uri reruns every
    tracking job by itself (it is one of their params): only modification times count here, so
    that the jobs forced are the ones that run."""
    work = copy_run(tiny_run, tmp_path_factory.mktemp("served") / "work")
    params_file = work / "params.yaml"
    params = yaml.safe_load(params_file.read_text())
    params["tracking"]["uri"] = server.uri
    params_file.write_text(yaml.safe_dump(params, sort_keys=False))
    started = time.monotonic()
    proc = snakemake(work, "--rerun-triggers", "mtime", "--forcerun", *SERVED_JOBS)
    seconds = time.monotonic() - started
    ran = Counter(line.split()[-1].rstrip(":") for line in proc.stderr.splitlines()
                  if line.startswith(("rule ", "localrule ")))
    return work, params, ran, seconds


def top_level_runs(client, experiment_id: str) -> dict:
    """run name -> run, for the runs that are no trial (trials are child runs of a method's run)."""
    runs = client.search_runs([experiment_id], "tags.kind != 'trial'", max_results=5000)
    named = {run.info.run_name: run for run in runs}
    assert len(named) == len(runs), "two runs of one name"
    return named


def test_the_script_starts_postgresql_and_mlflow_and_stops_them(server):
    from mlflow.tracking import MlflowClient

    assert server.script("status").returncode == 0
    assert server.script("uri").stdout.strip() == server.uri
    assert MlflowClient(tracking_uri=server.uri).search_experiments() is not None
    with server.connect() as db, db.cursor() as cursor:  # MLflow's schema, in PostgreSQL
        cursor.execute("SELECT to_regclass('public.runs') IS NOT NULL, to_regclass('public.metrics') IS NOT NULL")
        assert cursor.fetchone() == (True, True)
    # the database password is on no command line
    cmdlines = [Path(p, "cmdline").read_bytes() for p in glob.glob("/proc/[0-9]*") if Path(p, "cmdline").exists()]
    assert not any(server.password.encode() in c for c in cmdlines)


def test_jobs_creating_one_dataset_at_once_share_it_on_postgresql(server):
    """PostgreSQL names the race of two jobs creating the run's dataset its own way: the loser
    links its run to the winner's dataset (musicfusion.tracking.loggers._log_dataset)."""
    import mlflow

    from musicfusion.tracking.loggers import RunOrigin, _log_dataset

    client = mlflow.MlflowClient(tracking_uri=server.uri)
    experiment_id = client.create_experiment(f"race-{uuid.uuid4().hex[:8]}")
    errors, linked = [], []

    def log(run_id, origin, barrier):
        barrier.wait()
        try:
            with mlflow.start_run(run_id=run_id):  # the active run is per thread
                _log_dataset(origin)
        except Exception as err:  # noqa: BLE001 - reported below
            errors.append(repr(err)[:500])

    previous = mlflow.get_tracking_uri()
    mlflow.set_tracking_uri(server.uri)  # what _log_dataset logs to, as in a track job
    try:
        for _ in range(4):  # fresh datasets: without the retry, about one job in two failed
            origin = RunOrigin("track", "workflow/scripts/track.py", "abc", "tiny", uuid.uuid4().hex * 2,
                               str(PROJECT_ROOT / "params.yaml"))
            runs = [client.create_run(experiment_id).info.run_id for _ in range(4)]
            barrier = threading.Barrier(len(runs))
            threads = [threading.Thread(target=log, args=(run_id, origin, barrier)) for run_id in runs]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            linked += [(run_id, origin.dataset_sha256[:16]) for run_id in runs]
    finally:
        mlflow.set_tracking_uri(previous)
    assert not errors, errors
    for run_id, digest in linked:
        [dataset_input] = client.get_run(run_id).inputs.dataset_inputs
        assert dataset_input.dataset.digest == digest


def test_the_workflow_logs_every_run_to_the_server_as_the_local_store_has_it(served_run, server):
    from mlflow.tracking import MlflowClient

    work, params, ran, seconds = served_run
    print(f"server start {server.start_seconds:.1f} s, tracking jobs {seconds:.1f} s")
    n_pairs = len(params["transfer"]["pairs"])
    assert ran == Counter({"track": len(SERVED_METHODS), "track_transfer": n_pairs, "track_robustness": 1,
                           "track_style_transfer": 1, "track_transcription": 1, "track_assist": 1, "all": 1}), ran
    served = MlflowClient(tracking_uri=server.uri)
    local = MlflowClient(tracking_uri=f"sqlite:///{work / 'mlflow.db'}")
    name = params["tracking"]["experiment"]
    served_exp, local_exp = served.get_experiment_by_name(name), local.get_experiment_by_name(name)
    # Artifacts go through the server into its artifacts destination: clients need no access to it.
    assert served_exp.artifact_location.startswith("mlflow-artifacts:")
    runs = top_level_runs(served, served_exp.experiment_id)
    expected = {name: run for name, run in top_level_runs(local, local_exp.experiment_id).items()
                if run.data.tags["kind"] != "fusion" or run.data.tags["method"] in SERVED_METHODS}
    assert set(runs) == set(expected)
    n_tasks = len(params["tasks"])
    # The robustness sweeps cover the methods that read only the modalities' own features.
    n_methods = sum(entry["modalities"] == "dataset" or "." not in "".join(entry["modalities"])
                    for entry in params["methods"].values())
    kinds = Counter(run.data.tags["kind"] for run in runs.values())
    assert kinds == {"fusion": len(SERVED_METHODS) * n_tasks, "robustness": n_methods * n_tasks,
                     "transfer": n_pairs * len(params["transfer"]["methods"]),
                     # one per operator set and one per control (instrument, tempo)
                     "style_transfer": len(params["style_transfer"]["operator_sets"]) + 2,
                     "transcription": 1, "assist": 1}
    for run_name, run in runs.items():
        twin = expected[run_name]
        assert run.info.status == "FINISHED", run_name
        assert run.data.metrics == twin.data.metrics, run_name
        assert run.data.params == twin.data.params, run_name
        # the same result under the same key: a local and a served run of it are one result
        for tag in ("result_key", "results_sha256", "kind", "git_commit", "dataset_sha256", "params_sha256"):
            assert run.data.tags.get(tag) == twin.data.tags.get(tag), (run_name, tag)
    # summary.csv's numbers, as in the local store; every trial is a child run of its method's run
    summary = pd.read_csv(work / "results/tiny/summary.csv").set_index(["method", "task"])
    run = runs["late_fusion/style"]
    assert run.data.metrics["recall_macro"] == float(summary.loc[("late_fusion", "style"), "recall_macro"])
    trials = served.search_runs([served_exp.experiment_id], "tags.kind = 'trial'", max_results=5000)
    parents = {r.info.run_id: name for name, r in runs.items() if r.data.tags["kind"] == "fusion"}
    assert Counter(parents[t.data.tags["mlflow.parentRunId"]] for t in trials) == {
        name: len(local.search_runs([local_exp.experiment_id], f"tags.`mlflow.parentRunId` = '{r.info.run_id}'",
                                    max_results=5000))
        for name, r in expected.items() if r.data.tags["kind"] == "fusion"}
    # the workflow's records name the server and its runs; the jobs not forced kept the local store
    record = json.loads((work / "results/tiny/methods/late_fusion/mlflow_runs.json").read_text())
    assert record["tracking_uri"] == server.uri and record["runs"]["style"] == run.info.run_id
    record = json.loads((work / "results/tiny/methods/audio_only/mlflow_runs.json").read_text())
    assert record["tracking_uri"].startswith("sqlite:")


def test_artifacts_and_models_come_back_through_the_server(served_run, server, tmp_path):
    import mlflow
    from mlflow.tracking import MlflowClient

    from musicfusion.plumbing.files import load_pickle

    work, params, _, _ = served_run
    client = MlflowClient(tracking_uri=server.uri)
    experiment = client.get_experiment_by_name(params["tracking"]["experiment"])
    run = top_level_runs(client, experiment.experiment_id)["late_fusion/instrument"]
    local_file = work / "results/tiny/methods/late_fusion/confusion_instrument.png"
    downloaded = Path(client.download_artifacts(run.info.run_id, local_file.name, str(tmp_path)))
    assert downloaded.read_bytes() == local_file.read_bytes()
    # ... kept in the shared artifacts store
    [stored] = [p for p in server.artifacts.rglob(local_file.name) if run.info.run_id in p.parts]
    assert stored.read_bytes() == local_file.read_bytes()
    # the fitted model, loaded through the server, is the one the workflow pickled
    [model] = [m for m in client.search_logged_models([experiment.experiment_id],
                                                      filter_string=f"source_run_id = '{run.info.run_id}'")
               if m.name == "model"]  # fold 0's, beside the final model
    previous = mlflow.get_tracking_uri()
    mlflow.set_tracking_uri(server.uri)
    try:
        loaded = mlflow.sklearn.load_model(model.model_uri)
    finally:
        mlflow.set_tracking_uri(previous)
    [pickled] = work.glob("models/tiny/late_fusion/model.pkl")
    learned = load_pickle(pickled)["instrument"].learned_params()
    assert json.dumps(loaded.learned_params(), sort_keys=True, default=str) == \
        json.dumps(learned, sort_keys=True, default=str)


def test_the_runs_are_rows_of_postgresql(served_run, server):
    from mlflow.tracking import MlflowClient

    _, params, _, _ = served_run
    client = MlflowClient(tracking_uri=server.uri)
    experiment = client.get_experiment_by_name(params["tracking"]["experiment"])
    active = client.search_runs([experiment.experiment_id], "", max_results=5000)
    with server.connect() as db, db.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM runs r JOIN experiments e ON r.experiment_id = e.experiment_id "
                       "WHERE e.name = %s AND r.lifecycle_stage = 'active'", (experiment.name,))
        assert cursor.fetchone()[0] == len(active)
        cursor.execute("SELECT value FROM metrics WHERE run_uuid = %s AND key = 'recall_macro'",
                       (top_level_runs(client, experiment.experiment_id)["mlp_multitask/style"].info.run_id,))
        [(recall,)] = cursor.fetchall()
    summary = pd.read_csv(served_run[0] / "results/tiny/summary.csv").set_index(["method", "task"])
    assert recall == float(summary.loc[("mlp_multitask", "style"), "recall_macro"])


def test_a_rerun_against_the_server_logs_nothing_twice(served_run, server):
    from mlflow.entities import ViewType
    from mlflow.tracking import MlflowClient

    work, params, _, _ = served_run
    client = MlflowClient(tracking_uri=server.uri)
    experiment_id = client.get_experiment_by_name(params["tracking"]["experiment"]).experiment_id

    def every_run() -> set:
        return {r.info.run_id for r in client.search_runs([experiment_id], "", run_view_type=ViewType.ALL,
                                                          max_results=5000)}

    before = every_run()
    # Two kinds of tracking job (the third, track_transfer, looks its runs up the same way).
    snakemake(work, "--rerun-triggers", "mtime", "--forcerun", "track_robustness",
                   "results/tiny/methods/late_fusion/mlflow_runs.json")
    assert every_run() == before  # nothing logged, nothing deleted
