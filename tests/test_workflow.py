"""The whole workflow through Snakemake on the tiny preset, in a private copy of the project."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

from conftest import PROJECT_ROOT

pytestmark = pytest.mark.workflow
BIN = Path(sys.executable).parent
PROJECT_FILES = ["Snakefile", "params.yaml", "workflow", ".dvc/config", ".dvcignore", ".gitignore"]


def snakemake(workdir: Path, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}  # the project's own store
    proc = subprocess.run([str(BIN / "snakemake"), "--cores", "2", "--config", "dataset=tiny", *args],
                          cwd=workdir, capture_output=True, text=True, env=env, check=False)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc


def planned_jobs(workdir: Path) -> set[str]:
    """The (rule, wildcards) a dry run would execute."""
    out = snakemake(workdir, "-n", "--quiet", "rules").stdout
    rows = [line.split() for line in out.splitlines()]
    return {r[0] for r in rows if len(r) == 2 and r[1].isdigit() and r[0] not in ("job", "total")}


@pytest.fixture(scope="module")
def project(tiny_dataset, tmp_path_factory) -> Path:
    """A git + DVC project with the workflow, the tiny dataset already rendered, and one full run."""
    work = tmp_path_factory.mktemp("project")
    for name in PROJECT_FILES:
        src, dst = PROJECT_ROOT / name, work / name
        dst.parent.mkdir(parents=True, exist_ok=True)
        (shutil.copytree if src.is_dir() else shutil.copy)(src, dst)
    subprocess.run(["git", "init", "-q"], cwd=work, check=True)
    # The session already rendered tiny; Snakemake accepts existing outputs of collect.
    shutil.copytree(tiny_dataset, work / "data/raw/tiny")
    snakemake(work)
    return work


def test_every_method_and_task_has_a_result_and_an_mlflow_run(project, params):
    summary = pd.read_csv(project / "results/summary.csv")
    expected = {(m, t) for m in params["methods"] for t in params["tasks"]}
    assert set(zip(summary["method"], summary["task"])) == expected
    metrics = summary[["accuracy", "precision_macro", "recall_macro", "f1_macro"]]
    assert ((metrics >= 0) & (metrics <= 1)).all().all()
    assert (project / "results/summary.md").read_text().count("\n") >= len(expected) + 2

    import mlflow

    client = mlflow.MlflowClient(tracking_uri=f"sqlite:///{project / 'mlflow.db'}")
    experiment = client.get_experiment_by_name(params["tracking"]["experiment"])
    runs = client.search_runs([experiment.experiment_id])
    logged = {(r.data.tags["method"], r.data.tags["task"]) for r in runs}
    assert logged == expected
    run = runs[0]
    assert {"git_commit", "dataset_sha256", "preset"} <= set(run.data.tags)
    assert {"accuracy", "recall_macro"} <= set(run.data.metrics)


def test_a_complete_run_leaves_nothing_to_do(project):
    assert planned_jobs(project) == set()


def test_changing_one_method_reruns_only_that_method(project):
    params_path = project / "params.yaml"
    original = params_path.read_text()
    params = yaml.safe_load(original)
    params["methods"]["late_fusion"]["weight_step"] = 0.25
    params_path.write_text(yaml.safe_dump(params, sort_keys=False))
    try:
        out = snakemake(project, "-n", "--quiet", "rules").stdout
        assert planned_jobs(project) == {"train", "evaluate", "track", "summarize", "all"}
        dry = snakemake(project, "-n").stdout
        assert "method=late_fusion" in dry and "method=early_fusion" not in dry, out
    finally:
        params_path.write_text(original)


def test_rerunning_gives_identical_results(project):
    before = (project / "results/summary.csv").read_bytes()
    predictions = (project / "models/stacking/predictions.csv").read_bytes()
    snakemake(project, "--forcerun", "train")
    assert (project / "results/summary.csv").read_bytes() == before
    assert (project / "models/stacking/predictions.csv").read_bytes() == predictions


def test_restoring_raw_data_with_dvc_reruns_nothing(project):
    shutil.rmtree(project / "data/raw/tiny")
    proc = subprocess.run([str(BIN / "dvc"), "checkout", "--quiet", "data/raw/tiny.dvc"], cwd=project,
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    assert (project / "data/raw/tiny/manifest.csv").is_file()
    assert planned_jobs(project) == set()
