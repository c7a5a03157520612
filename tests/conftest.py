"""Shared fixtures: the tiny preset is rendered once per test session from the real corpus, and
the workflow run on it once; tests that need either start from a copy."""

from __future__ import annotations

import copy
import os
import shutil
from pathlib import Path

import pytest

from musicfusion.plumbing.config import load_params

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
