"""Shared fixtures: the tiny preset is built once per test session from the real corpus."""

from __future__ import annotations

import copy
import os
from pathlib import Path

import pytest

from musicfusion.config import load_params

PROJECT_ROOT = Path(__file__).resolve().parents[1]
# What a private copy of the project needs to run the workflow (tests/test_workflow.py and others).
PROJECT_FILES = ["Snakefile", "params.yaml", "workflow", "profiles", ".dvc/config", ".dvcignore", ".gitignore"]
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
    from musicfusion.collect import collect_dataset
    from musicfusion.config import collect_settings
    from musicfusion.io import write_csv

    out = tmp_path_factory.mktemp("raw") / "tiny"
    _, duplicates = collect_dataset(collect_settings(params, "tiny"), params["seed"], out, workers=2)
    write_csv(out / "duplicates.csv", duplicates)  # as the collect rule does
    return out


def snakemake_tiny(workdir: Path, *args: str, cores: int = 2, env: dict | None = None,
                   expect_success: bool = True):
    """``snakemake --cores N ARGS --config dataset=tiny`` in ``workdir``, logging to the project's
    own MLflow store unless ``env`` says otherwise."""
    import subprocess
    import sys

    run_env = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}
    run_env.update(env or {})
    # Targets and flags before --config, which takes every word after it as a key=value pair.
    proc = subprocess.run([str(Path(sys.executable).parent / "snakemake"), "--cores", str(cores), *args,
                           "--config", "dataset=tiny"], cwd=workdir, capture_output=True, text=True,
                          env=run_env, check=False)
    if expect_success:
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc


@pytest.fixture(scope="session")
def tiny_run(tiny_dataset, tmp_path_factory) -> Path:
    """A git project with the workflow, the tiny dataset and one complete local run of it.
    Tests must not modify it: `copy_run` gives a private copy."""
    import shutil

    work = copy_project(tmp_path_factory.mktemp("tiny_run"))
    # The session already rendered tiny; Snakemake accepts existing outputs of collect.
    shutil.copytree(tiny_dataset, work / "data/raw/tiny")
    snakemake_tiny(work)
    return work


def copy_run(run: Path, work: Path) -> Path:
    """A private copy of a finished project (symlinks kept as links, Snakemake's metadata too)."""
    import shutil

    shutil.copytree(run, work, symlinks=True)
    return work


def copy_project(work: Path) -> Path:
    """A git repository at ``work`` holding the workflow files of this project, nothing built."""
    import shutil
    import subprocess

    for name in PROJECT_FILES:
        src, dst = PROJECT_ROOT / name, work / name
        dst.parent.mkdir(parents=True, exist_ok=True)
        if src.is_symlink():  # profiles -> workflow/profiles, kept a link as in the repository
            dst.symlink_to(os.readlink(src))
        else:
            (shutil.copytree if src.is_dir() else shutil.copy)(src, dst)
    subprocess.run(["git", "init", "-q"], cwd=work, check=True)
    return work
