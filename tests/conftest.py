"""Shared fixtures: the tiny preset is rendered once per test session from the real corpus, and
the workflow run on it once; tests that need either start from a copy.

The finished run takes minutes of Snakemake on every core, and most tests need no part of it.
When a session has tests that need it, it is started in the background as soon as the preset is
rendered, and the tests that do not need it run first, beside it (``pytest_collection_modifyitems``
puts the others last); the first test that needs it waits for it. A session without such tests
(the fast loop, ``pytest tests/unit``) never starts it.
"""

from __future__ import annotations

import copy
import os
import shutil
import signal
import subprocess
from pathlib import Path

import numpy as np
import pytest

from musicfusion.models.methods import build_method
from musicfusion.plumbing.config import load_params

from small_learners import LEARNERS
from support import PROJECT_ROOT, copy_project, project_environment, snakemake_command

os.environ.setdefault("NUMBA_CACHE_DIR", str(PROJECT_ROOT / ".numba-cache"))

FINISHED_RUN = "tiny_run"


def needs_finished_run(item) -> bool:
    return FINISHED_RUN in getattr(item, "fixturenames", ())


@pytest.hookimpl(trylast=True)  # after -k and -m have deselected what will not run
def pytest_collection_modifyitems(session, config, items):
    # A stable sort: every other test first, in collection order, while the run is built.
    items.sort(key=needs_finished_run)
    config.stash[_WANTS_RUN] = any(map(needs_finished_run, items))


_WANTS_RUN = pytest.StashKey[bool]()
_BACKGROUND = pytest.StashKey[dict]()


def _start_finished_run(config, tiny_dataset: Path, tmp_path_factory) -> None:
    """Copy the project and the rendered preset, and start the workflow on it (not waited for)."""
    work = copy_project(tmp_path_factory.mktemp(FINISHED_RUN))
    # Snakemake accepts the rendered preset as existing outputs of collect.
    shutil.copytree(tiny_dataset, work / "data/raw/tiny")
    log = open(work.parent / f"{FINISHED_RUN}.log", "w", encoding="utf-8")  # closed by the waiter
    process = subprocess.Popen(snakemake_command(), cwd=work, stdout=log, stderr=subprocess.STDOUT,
                               env=project_environment(), start_new_session=True)
    config.stash[_BACKGROUND] = {"work": work, "process": process, "log": log}


def pytest_sessionfinish(session, exitstatus):
    """A run still going when the session ends (its tests deselected or failed early) is stopped."""
    started = session.config.stash.get(_BACKGROUND, None)
    if started and started["process"].poll() is None:
        os.killpg(started["process"].pid, signal.SIGKILL)
        started["process"].wait()


@pytest.fixture(scope="session")
def params() -> dict:
    return load_params(PROJECT_ROOT / "params.yaml")


@pytest.fixture()
def params_copy(params) -> dict:
    return copy.deepcopy(params)


@pytest.fixture(scope="session")
def tiny_dataset(params, tmp_path_factory, pytestconfig) -> Path:
    """The `tiny` preset, rendered once; tests must not modify it (copy what they change)."""
    from musicfusion.data.presets.collect import collect_dataset
    from musicfusion.plumbing.config import collect_settings
    from musicfusion.plumbing.files import write_csv

    out = tmp_path_factory.mktemp("raw") / "tiny"
    _, duplicates = collect_dataset(collect_settings(params, "tiny"), params["seed"], out, workers=2)
    write_csv(out / "duplicates.csv", duplicates)  # as the collect rule does
    if pytestconfig.stash.get(_WANTS_RUN, False):
        _start_finished_run(pytestconfig, out, tmp_path_factory)
    return out


@pytest.fixture(scope="session")
def tiny_run(tiny_dataset, pytestconfig) -> Path:
    """A git project with the workflow, the tiny dataset and one complete local run of it (built
    in the background since the preset was rendered). Tests must not modify it:
    `support.copy_run` gives a private copy."""
    started = pytestconfig.stash[_BACKGROUND]
    returncode = started["process"].wait()
    started["log"].close()
    output = Path(started["log"].name).read_text(encoding="utf-8")
    assert returncode == 0, f"the tiny workflow failed ({started['log'].name}):\n{output[-6000:]}"
    return started["work"]


@pytest.fixture()
def curve(tmp_path) -> Path:
    path = tmp_path / "recall_at_k.png"
    path.write_bytes(b"\x89PNG")
    return path


@pytest.fixture(scope="module")
def late_fusion():
    """A late-fusion method fitted on a small synthetic set (what the tracking tests log)."""
    rng = np.random.default_rng(0)
    y = np.array(["a", "b"] * 20)
    X = {"audio": rng.normal(size=(40, 3)) + (y == "a")[:, None], "text": rng.normal(size=(40, 2))}
    method = {"type": "late_fusion", "modalities": ["audio", "text"], "learner": "logistic", "weight_step": 0.5}
    return build_method(method, 0, LEARNERS).fit(X, y, X, y)
