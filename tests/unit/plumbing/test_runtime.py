"""Job environment: pinned thread pools whatever the user set, numba's and XLA's caches, progress lines."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys

import pytest

from musicfusion.plumbing.runtime import THREAD_VARIABLES, job_environment, progress


def test_thread_counts_override_the_users_and_other_xla_flags_survive(tmp_path):
    user = {"OMP_NUM_THREADS": "8", "OPENBLAS_NUM_THREADS": "4",
            "XLA_FLAGS": "--xla_dump_to=/tmp/x intra_op_parallelism_threads=4"}
    env = job_environment(user, tmp_path, threads=1)
    assert all(env[name] == "1" for name in THREAD_VARIABLES)
    assert env["XLA_FLAGS"].split() == ["--xla_dump_to=/tmp/x", "--xla_cpu_multi_thread_eigen=false",
                                        "intra_op_parallelism_threads=1"]
    assert env["OPENCV_FFMPEG_CAPTURE_OPTIONS"] == "threads;1"
    assert job_environment({}, tmp_path, threads=3)["OMP_NUM_THREADS"] == "3"
    with pytest.raises(ValueError, match="at least 1"):
        job_environment({}, tmp_path, threads=0)


def test_numba_caches_in_the_project_unless_the_user_chose_a_folder(tmp_path):
    assert job_environment({}, tmp_path)["NUMBA_CACHE_DIR"] == str(tmp_path.resolve() / ".numba-cache")
    assert job_environment({"NUMBA_CACHE_DIR": "/scratch/numba"}, tmp_path)["NUMBA_CACHE_DIR"] == "/scratch/numba"


def test_xla_caches_in_the_project_unless_the_user_chose_a_folder(tmp_path):
    env = job_environment({}, tmp_path)
    assert env["JAX_COMPILATION_CACHE_DIR"] == str(tmp_path.resolve() / ".jax-cache")
    assert env["JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS"] == "0"  # every program, however quick to compile
    chosen = job_environment({"JAX_COMPILATION_CACHE_DIR": "/scratch/xla"}, tmp_path)
    assert chosen["JAX_COMPILATION_CACHE_DIR"] == "/scratch/xla"


def test_a_network_trained_from_the_xla_cache_is_the_same_bit_for_bit(tmp_path):
    """Two jobs, the second finding the first's compiled programs: the same weights to the last bit."""
    env = {**os.environ, **job_environment(dict(os.environ), tmp_path)}
    fit = ("import numpy as np; from musicfusion.models.network import NeuralNetwork; "
           "rng = np.random.default_rng(0); X = rng.normal(size=(30, 12)).astype(np.float32); "
           "m = NeuralNetwork(hidden_units=8, epochs=20, random_state=0).fit(X, rng.integers(0, 3, 30)); "
           "print(m.hidden_weights_.tobytes().hex(), m.loss_curve_.tobytes().hex())")
    cache = tmp_path / ".jax-cache"
    cache.mkdir()
    first = subprocess.run([sys.executable, "-c", fit], env=env, capture_output=True, text=True, check=True).stdout
    cached = sorted(p.name for p in cache.iterdir())
    assert cached  # the first job stored its programs
    again = subprocess.run([sys.executable, "-c", fit], env=env, capture_output=True, text=True, check=True).stdout
    assert again == first and sorted(p.name for p in cache.iterdir()) == cached  # found, not compiled again


def test_a_job_started_with_the_environment_runs_one_thread_per_pool(tmp_path):
    """BLAS, OpenMP and OpenCV as loaded by a job, after the user asked for 4 threads each."""
    user = {**os.environ, **{name: "4" for name in THREAD_VARIABLES}}
    env = {**user, **job_environment(user, tmp_path)}
    probe = ("import json, cv2, numpy, sklearn; from threadpoolctl import threadpool_info; "
             "print(json.dumps({'pools': [p['num_threads'] for p in threadpool_info()], 'cv2': cv2.getNumThreads()}))")
    out = json.loads(subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True,
                                    check=True).stdout)
    assert out["pools"] and set(out["pools"]) == {1} and out["cv2"] == 1
    unpinned = json.loads(subprocess.run([sys.executable, "-c", probe], env=user, capture_output=True, text=True,
                                         check=True).stdout)
    assert max(unpinned["pools"]) == 4  # the probe would see a pool the pinning missed


def test_progress_logs_every_interval_and_at_the_end(caplog):
    ticks = iter(range(0, 100, 3))  # a clock that moves 3 s per call
    log = logging.getLogger("progress-test")
    with caplog.at_level(logging.INFO, logger="progress-test"):
        items = list(progress(range(7), 7, "shard 0", log, every_seconds=10, clock=lambda: next(ticks)))
    assert items == list(range(7))
    lines = [r.getMessage() for r in caplog.records]
    # Calls at t=3, 6, 9, 12 (>= 10 s since start: a line), 15, 18, 21 (the last item: a line).
    assert lines == ["shard 0: 4/7 clips (0.3 clips/s)", "shard 0: 7/7 clips (0.3 clips/s)"]
