"""The environment every job runs in: pinned thread pools, persistent numba and XLA caches, progress lines.

Snakemake runs several jobs at once, one per core. A job whose numerical libraries each start a
pool of one thread per core (OpenBLAS, OpenMP, MKL, numba, XLA, OpenCV, FFmpeg's decoder) makes
``--cores 2`` run 2 x 2 threads on 2 cores: measured 1.5-3x slower than one thread each. The
workflow pins every pool to one thread, overriding what the user's environment sets, because the
job scheduler, not the libraries, decides how the cores are shared.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TypeVar

# Thread-count variables of the libraries the jobs load (BLAS and OpenMP through numpy, scipy
# and scikit-learn; numba through librosa; OpenCV's own pool).
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "BLIS_NUM_THREADS",
                    "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS", "NUMBA_NUM_THREADS",
                    "OPENCV_FOR_THREADS_NUM")
# XLA (the JAX network) takes its thread settings as flags; one thread also makes it deterministic.
XLA_THREAD_FLAGS = ("--xla_cpu_multi_thread_eigen=false", "intra_op_parallelism_threads=1")
# Where numba keeps compiled functions (librosa's): site-packages may be read-only, and without a
# cache every job compiles again (30-38 s). Relative to the project folder; NUMBA_CACHE_DIR wins.
NUMBA_CACHE = ".numba-cache"
# Where XLA keeps the JAX network's compiled programs between jobs: each new data shape (a fold's
# training clips) costs 1.5 s of compiling, a cached one 0.2 s. The key is the program, the
# compile options and the jax/jaxlib versions, so a cached program computes what a fresh compile
# would, bit for bit. Relative to the project folder; JAX_COMPILATION_CACHE_DIR wins.
JAX_CACHE = ".jax-cache"
# Where collect keeps what it read from each corpus work (musicfusion.data.presets.corpus_cache):
# parsing the scores is most of a build's cost before rendering. Relative to the project folder.
CORPUS_CACHE = ".corpus-cache"
JAX_CACHE_SETTINGS = {"JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS": "0",
                      "JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES": "0"}
# How often a long loop logs its progress.
PROGRESS_SECONDS = 10.0

T = TypeVar("T")


def job_environment(environ: dict[str, str], project: str | Path, threads: int = 1) -> dict[str, str]:
    """The variables to set so a job's thread pools use ``threads`` threads, and numba and XLA
    cache what they compile in folders of ``project``. Thread counts override ``environ``; a cache
    folder the user chose is kept."""
    if threads < 1:
        raise ValueError(f"threads must be at least 1, not {threads}")
    env = {name: str(threads) for name in THREAD_VARIABLES}
    # FFmpeg's decoder (OpenCV's video backend) starts its own threads unless told.
    env["OPENCV_FFMPEG_CAPTURE_OPTIONS"] = f"threads;{threads}"
    flags = environ.get("XLA_FLAGS", "").split()
    flags = [f for f in flags if not f.startswith(("--xla_cpu_multi_thread_eigen", "intra_op_parallelism_threads"))]
    env["XLA_FLAGS"] = " ".join([*flags, *XLA_THREAD_FLAGS])
    env["NUMBA_CACHE_DIR"] = environ.get("NUMBA_CACHE_DIR") or str(Path(project).resolve() / NUMBA_CACHE)
    env["JAX_COMPILATION_CACHE_DIR"] = (environ.get("JAX_COMPILATION_CACHE_DIR")
                                        or str(Path(project).resolve() / JAX_CACHE))
    env.update(JAX_CACHE_SETTINGS)
    return env


def pin_job_environment(project: str | Path, threads: int = 1) -> dict[str, str]:
    """Apply :func:`job_environment` to this process (jobs inherit it); returns what was set."""
    env = job_environment(dict(os.environ), project, threads)
    os.environ.update(env)
    for cache in (env["NUMBA_CACHE_DIR"], env["JAX_COMPILATION_CACHE_DIR"]):
        Path(cache).mkdir(parents=True, exist_ok=True)
    return env


def progress(items: Iterable[T], total: int, what: str, log: logging.Logger,
             every_seconds: float = PROGRESS_SECONDS, clock=time.monotonic) -> Iterator[T]:
    """Yield ``items``, logging "<what>: i/total clips (x clips/s)" every ``every_seconds`` and at
    the end, so a long job's log shows it is moving and how fast."""
    start = last = clock()
    done = 0
    for item in items:
        yield item
        done += 1
        now = clock()
        if now - last >= every_seconds or done == total:
            rate = done / (now - start) if now > start else float("inf")
            log.info("%s: %d/%d clips (%.1f clips/s)", what, done, total, rate)
            last = now
