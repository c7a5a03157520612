"""Shared fixtures: the tiny preset is rendered once per test session from the real corpus, and
the workflow run on it once; tests that need either start from a copy."""

from __future__ import annotations

import copy
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from musicfusion.models.methods import build_method
from musicfusion.plumbing.config import load_params

from small_learners import LEARNERS
from support import PROJECT_ROOT, copy_project, snakemake

os.environ.setdefault("NUMBA_CACHE_DIR", str(PROJECT_ROOT / ".numba-cache"))


@pytest.fixture(scope="session")
def params() -> dict:
    return load_params(PROJECT_ROOT / "params.yaml")


@pytest.fixture()
def params_copy(params) -> dict:
    return copy.deepcopy(params)


@pytest.fixture(scope="session")
def tiny_dataset(params, tmp_path_factory) -> Path:
    """The `tiny` preset, rendered once; tests must not modify it (copy what they change)."""
    from musicfusion.data.presets.collect import collect_dataset
    from musicfusion.plumbing.config import collect_settings
    from musicfusion.plumbing.files import write_csv

    out = tmp_path_factory.mktemp("raw") / "tiny"
    _, duplicates = collect_dataset(collect_settings(params, "tiny"), params["seed"], out, workers=2)
    write_csv(out / "duplicates.csv", duplicates)  # as the collect rule does
    return out


@pytest.fixture(scope="session")
def tiny_run(tiny_dataset, tmp_path_factory) -> Path:
    """A git project with the workflow, the tiny dataset and one complete local run of it.
    Tests must not modify it: `support.copy_run` gives a private copy."""
    work = copy_project(tmp_path_factory.mktemp("tiny_run"))
    # The session already rendered tiny; Snakemake accepts existing outputs of collect.
    shutil.copytree(tiny_dataset, work / "data/raw/tiny")
    snakemake(work)
    return work


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
