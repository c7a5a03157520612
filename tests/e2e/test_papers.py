"""A reproduced paper end to end: `snakemake --config dataset=NAME` on a papers entry whose score
collections are two ABC files built here (the real `ismir2011` parses 1,943 tunes: README)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import yaml

from support import copy_project, snakemake

pytestmark = pytest.mark.workflow
LEARNERS = {"majority": {"settings": {}, "published": 50},
            "naive_bayes": {"settings": {}, "published": 0},  # a figure no learner gets near
            "naive_bayes_discretised": {"settings": {"alpha": 1.0}, "published": 100},
            "decision_tree": {"settings": {"confidence": 0.25, "min_samples_leaf": 2}, "published": 100},
            "logistic": {"settings": {"ridge": 1.0e-8, "max_iter": 1000}, "published": 100},
            "knn": {"settings": {"n_neighbors": 3}, "published": 100}}
SCALES = {"major": "CDEFGAB", "pentatonic": "CDEGA"}


def collection(scale: str, meter: str, n_tunes: int) -> str:
    """An ABC file of ``n_tunes`` distinct tunes in one scale and metre (a class anyone can tell)."""
    notes, tunes = SCALES[scale], []
    for number in range(n_tunes):
        melody = " ".join(notes[(number + 2 * i) % len(notes)] + notes[(number * 3 + i) % len(notes)]
                          for i in range(12))
        tunes.append(f"X:{number + 1}\nT:{scale} tune {number + 1}\nM:{meter}\nL:1/8\nK:C\n{melody} |]\n")
    return "\n".join(tunes)


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    work = copy_project(tmp_path_factory.mktemp("project"))
    scores = tmp_path_factory.mktemp("scores")
    (scores / "north.abc").write_text(collection("major", "4/4", 10), encoding="utf-8")
    (scores / "south.abc").write_text(collection("pentatonic", "3/4", 10), encoding="utf-8")
    params = yaml.safe_load((work / "params.yaml").read_text())
    params["papers"]["mini"] = {"citation": "A test paper", "folds": 3, "repetitions": 2,
                                "classes": {"north": [str(scores / "north.abc")], "south": [str(scores / "south.abc")]},
                                "features": ["r31", "p1", "p16", "p20"], "learners": LEARNERS}
    (work / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    snakemake(work, dataset="mini")
    return work


def test_the_comparison_has_a_verdict_per_learner_and_an_mlflow_run_each(project):
    table = pd.read_csv(project / "results/mini/paper_comparison.csv", keep_default_na=False)
    assert table["learner"].tolist() == list(LEARNERS)
    rows = table.set_index("learner")
    # Equal classes: the training folds' majority is the test folds' minority.
    assert rows.at["majority", "ours_percent"] <= 50.0
    # The metres alone (r31: 4/4 against 3/4) tell the classes apart.
    assert (rows.loc[["decision_tree", "naive_bayes_discretised"], "ours_percent"] == 100.0).all()
    assert (table["ours_ci_high"] <= 100.0).all()  # a percentage's interval stops at 100
    assert rows.at["naive_bayes", "verdict"].startswith("not reproduced, by ")
    assert (table["n_folds"] == 6).all()  # 3 folds x 2 repetitions
    folds = pd.read_csv(project / "results/mini/paper/folds_grouped.csv")
    assert len(folds) == 6 * len(LEARNERS) and set(folds["n_test"] + folds["n_train"]) == {20}
    page = (project / "results/mini/paper_comparison.md").read_text(encoding="utf-8")
    assert "# Reproduced: A test paper" in page and "20 tunes (north 10, south 10)" in page
    runs = json.loads((project / "results/mini/paper_mlflow_runs.json").read_text())["runs"]
    assert sorted(runs) == sorted(LEARNERS)


def test_a_finished_paper_run_leaves_nothing_to_do_and_reproduces_its_reference(project):
    dry = snakemake(project, "-n", dataset="mini").stdout
    assert "Nothing to be done" in dry
    snakemake(project, "update_reference", dataset="mini")
    assert (project / "reference/mini/paper_comparison.csv").is_file()
    snakemake(project, "reproduce", dataset="mini")
    reference = project / "reference/mini/paper_comparison.csv"
    moved = pd.read_csv(reference, keep_default_na=False)
    moved.loc[moved["learner"] == "knn", "ours_percent"] += 1.0
    moved.to_csv(reference, index=False)
    failed = snakemake(project, "reproduce", dataset="mini", expect_success=False)
    assert failed.returncode != 0 and "knn ours_percent" in failed.stdout + failed.stderr
