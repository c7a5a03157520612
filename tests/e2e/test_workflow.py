"""The whole workflow through Snakemake on the tiny preset, in a private copy of the project."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

from musicfusion import MODALITIES

from support import copy_run, planned_jobs, snakemake

pytestmark = pytest.mark.workflow
BIN = Path(sys.executable).parent


@pytest.fixture(scope="module")
def project(tiny_run, tmp_path_factory) -> Path:
    """A git + DVC project with the workflow, the tiny dataset already rendered, and one full run
    (a private copy: these tests change it)."""
    return copy_run(tiny_run, tmp_path_factory.mktemp("project") / "work")


def test_every_method_and_task_has_a_result_and_an_mlflow_run(project, params):
    summary = pd.read_csv(project / "results/tiny/summary.csv")
    expected = {(m, t) for m in params["methods"] for t in params["tasks"]}
    assert set(zip(summary["method"], summary["task"])) == expected
    metrics = summary[["accuracy", "precision_macro", "recall_macro", "f1_macro"]]
    assert ((metrics >= 0) & (metrics <= 1)).all().all()
    assert (project / "results/tiny/summary.md").read_text().count("\n") >= len(expected) + 2

    import mlflow

    client = mlflow.MlflowClient(tracking_uri=f"sqlite:///{project / 'mlflow.db'}")
    experiment = client.get_experiment_by_name(params["tracking"]["experiment"])
    runs = client.search_runs([experiment.experiment_id], filter_string="tags.kind = 'fusion'")
    logged = {(r.data.tags["method"], r.data.tags["task"]) for r in runs}
    assert logged == expected and len(runs) == len(expected)
    run = runs[0]
    tags = run.data.tags
    assert {"git_commit", "dataset_sha256", "params_sha256", "preset", "version.scikit-learn"} <= set(tags)
    # The UI's Source: the project file and the rule, not Snakemake's temporary script copy.
    assert (tags["mlflow.source.name"], tags["mlflow.project.entryPoint"]) == ("Snakefile", "track")
    assert tags["script"] == "workflow/scripts/track.py" and tags["mlflow.source.git.commit"] == tags["git_commit"]
    [dataset] = [d.dataset for d in run.inputs.dataset_inputs]  # the UI's Dataset column
    assert dataset.name == "tiny" and tags["dataset_sha256"].startswith(dataset.digest)
    assert dataset.source.endswith('data/raw/tiny/manifest.csv"}')
    # Every number of the run's row in summary.csv, means and confidence bounds alike.
    row = summary.set_index(["method", "task"]).loc[(tags["method"], tags["task"])]
    numbers = {k: float(v) for k, v in row.items() if k not in ("modalities", "kind", "learner", "tuned_settings")}
    assert {k: run.data.metrics[k] for k in numbers} == numbers
    assert {"recall_macro_ci_low", "recall_macro_ci_high", "search_seconds"} <= set(run.data.metrics)
    assert row["learner"] == params["methods"][tags["method"]]["learner"] or " " in row["learner"]
    # Every tuning trial of every fold is a child run of its method's run.
    children = client.search_runs([experiment.experiment_id], filter_string=f"tags.mlflow.parentRunId = '{run.info.run_id}'",
                                  max_results=5000)
    n_folds = params["evaluate"]["folds"] * params["evaluate"]["repetitions"]
    assert len(children) == n_folds * params["tuning"]["n_trials"]
    assert {c.data.tags["kind"] for c in children} == {"trial"}
    assert sum(c.data.tags["chosen"] == "true" for c in children) == n_folds
    assert all("validation_score" in c.data.metrics for c in children)


def swept_methods(params) -> list[str]:
    """The methods the robustness sweeps cover: those reading only the modalities' own features."""
    return [name for name, entry in params["methods"].items()
            if entry["modalities"] == "dataset" or set(entry["modalities"]) <= set(MODALITIES)]


def test_robustness_covers_every_method_both_sweeps_and_every_modality(project, params):
    table = pd.read_csv(project / "results/tiny/robustness.csv")
    noise = params["robustness"]["noise"]
    swept = swept_methods(params)
    # A method reading a further feature set (the pitch CNN's) is left out of the sweeps.
    assert set(table["method"]) == set(swept) and "audio_pitch_cnn" in set(params["methods"]) - set(swept)
    for method in swept:
        for task in params["tasks"]:
            rows = table[(table["method"] == method) & (table["task"] == task)]
            absent = rows[rows["perturbation"] == "absent"]
            assert set(absent["modality"]) == set(MODALITIES)
            assert sorted(absent["level"].unique()) == sorted(params["robustness"]["absent_fractions"])
            assert set(rows["perturbation"]) == {"absent", *noise}
    assert set(table.loc[table["perturbation"] != "absent", "modality"]) == set(MODALITIES)
    # the clean point of every curve is the method's own test score in the summary
    summary = pd.read_csv(project / "results/tiny/summary.csv").set_index(["method", "task"])
    clean = table[(table["perturbation"] == "absent") & (table["level"] == 0.0)].set_index(["method", "task", "modality"])
    for (method, task, _), row in clean.iterrows():
        assert row["recall_macro"] == pytest.approx(summary.loc[(method, task), "recall_macro"], abs=1e-4)
    # a single-modality baseline without its modality gives no prediction at all
    gone = table[(table["method"] == "audio_only") & (table["perturbation"] == "absent")
                 & (table["modality"] == "audio") & (table["level"] == 1.0)]
    assert (gone["coverage"] == 0.0).all() and (gone["recall_macro"] == 0.0).all()
    relative = pd.read_csv(project / "results/tiny/robustness_relative.csv")
    assert len(relative) == len(swept) * len(params["tasks"]) * (len(MODALITIES) + len(noise))

    import mlflow

    client = mlflow.MlflowClient(tracking_uri=f"sqlite:///{project / 'mlflow.db'}")
    experiment = client.get_experiment_by_name(params["tracking"]["experiment"])
    runs = client.search_runs([experiment.experiment_id], filter_string="tags.kind = 'robustness'")
    assert len(runs) == len(swept) * len(params["tasks"])
    assert "relative.absent.audio" in runs[0].data.metrics and "absent.audio.0.5.recall_macro" in runs[0].data.metrics
    # a forced rerun of the tracking step logs nothing twice
    snakemake(project, "--forcerun", "track_robustness", "track")
    again = client.search_runs([experiment.experiment_id], filter_string="tags.kind = 'robustness'")
    assert sorted(r.info.run_id for r in again) == sorted(r.info.run_id for r in runs)
    fusion = client.search_runs([experiment.experiment_id], filter_string="tags.kind = 'fusion'")
    assert len(fusion) == len(params["methods"]) * len(params["tasks"])


def test_no_group_straddles_train_and_test_in_any_fold(project, params):
    """Repeated stratified group k-fold: every clip tested once per repetition, and the clips
    of one group (one work, or exact duplicates) never split between training and testing."""
    evaluate = params["evaluate"]
    base = project / "data/processed/tiny/features"
    clips = pd.read_csv(base / "clips.csv", dtype=str, keep_default_na=False)
    assert clips["group"].ne("").all()
    tested = {}
    for index in range(evaluate["folds"] * evaluate["repetitions"]):
        fold = pd.read_csv(base / f"fold-{index}/clips.csv", dtype=str, keep_default_na=False)
        assert fold["clip_id"].tolist() == clips["clip_id"].tolist()
        splits_per_group = fold.groupby("group")["split"].nunique()
        assert (splits_per_group == 1).all(), splits_per_group[splits_per_group > 1]
        for clip in fold.loc[fold["split"] == "test", "clip_id"]:
            tested.setdefault((fold["repetition"].iloc[0], clip), 0)
            tested[(fold["repetition"].iloc[0], clip)] += 1
    assert set(tested.values()) == {1} and len(tested) == len(clips) * evaluate["repetitions"]


def test_controls_are_methods_and_comparisons_are_holm_corrected(project, params):
    summary = pd.read_csv(project / "results/tiny/summary.csv")
    controls = [m for m, p in params["methods"].items() if p["type"] == "control"]
    assert set(summary.loc[summary["kind"] == "control", "method"]) == set(controls) and controls
    significance = pd.read_csv(project / "results/tiny/significance.csv")
    assert set(significance["comparison"]) == {"modality_vs_control", "fusion_vs_best_single"}
    assert (significance["p_holm"] >= significance["p_raw"]).all()
    assert (significance["gain_ci_low"] <= significance["gain"]).all()
    assert (significance["gain"] <= significance["gain_ci_high"]).all()


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
        # The method's own jobs (its fold models and final model), then the tables across methods (and their
        # provenance record), the style transfers, which late_fusion judges, and the evaluation of assist,
        # which may choose it.
        assert planned_jobs(project) == {"train", "final_model", "evaluate", "track", "robustness", "summarize",
                                         "compare", "summarize_robustness", "track_robustness", "provenance", "all",
                                         "restyle_clips", "style_transfer", "track_style_transfer", "assist_eval",
                                         "track_assist"}
        dry = snakemake(project, "-n").stdout
        assert "method=late_fusion" in dry and "method=early_fusion" not in dry, out
    finally:
        params_path.write_text(original)


# Retrained on 1 core: one method for every kind of learner and fusion the defaults use (stacking
# fits logistic regressions, a calibrated SVM and a meta-learner; mlp_multitask the JAX network),
# and every transfer mapping. All twelve methods took 350 s on 1 core, these two a third of it.
ONE_CORE_METHODS = ("stacking", "mlp_multitask")


def test_rerunning_on_one_core_gives_bit_identical_results(project, params):
    """The first run used 2 cores; retraining on 1 core must change nothing."""
    assert set(ONE_CORE_METHODS) <= set(params["methods"])
    tables = ["results/tiny/summary.csv", "results/tiny/significance.csv", "results/tiny/transfer.csv"]
    tables += [f"models/tiny/{m}/predictions.csv" for m in ONE_CORE_METHODS]
    tables += [f"results/tiny/methods/{m}/metrics.json" for m in ONE_CORE_METHODS]
    before = {t: (project / t).read_bytes() for t in tables}
    stamps = {m: (project / f"models/tiny/{m}/predictions.csv").stat().st_mtime_ns for m in ONE_CORE_METHODS}
    # Only the tables' own jobs (the robustness sweeps re-score the same models with seeded
    # perturbations: musicfusion.evaluation.robustness is tested for determinism on its own).
    snakemake(project, "--forcerun", *[f"models/tiny/{m}/model.pkl" for m in ONE_CORE_METHODS], "transfer",
              "--until", "summarize", "compare", "summarize_transfer", cores=1)
    assert all((project / f"models/tiny/{m}/predictions.csv").stat().st_mtime_ns > stamps[m] for m in ONE_CORE_METHODS)
    assert {t: (project / t).read_bytes() for t in tables} == before
    # The retrained models are the same bytes: mark what depends on them up to date again.
    snakemake(project, "--touch")


def test_restoring_raw_data_with_dvc_reruns_nothing(project):
    shutil.rmtree(project / "data/raw/tiny")
    proc = subprocess.run([str(BIN / "dvc"), "checkout", "--quiet", "data/raw/tiny.dvc"], cwd=project,
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    assert (project / "data/raw/tiny/manifest.csv").is_file()
    assert planned_jobs(project) == set()


def test_transfer_has_a_row_per_pair_and_method_and_an_mlflow_run_each(project, params):
    transfer = params["transfer"]
    table = pd.read_csv(project / "results/tiny/transfer.csv")
    expected = {(s, t, m) for s, t in transfer["pairs"] for m in transfer["methods"]}
    assert set(zip(table["source"], table["target"], table["method"])) == expected
    assert len(table) == len(expected)
    assert table.groupby(["source", "target"])["best_on_validation"].sum().eq(1).all()
    for pair in {f"{s}_to_{t}" for s, t in transfer["pairs"]}:
        assert (project / f"models/tiny/transfer/{pair}.pkl").is_file()
    assert (project / "results/tiny/recall_at_k.png").read_bytes().startswith(b"\x89PNG")
    significance = pd.read_csv(project / "results/tiny/transfer_significance.csv")
    n_methods = len(transfer["methods"])
    assert len(significance) == len(transfer["pairs"]) * n_methods * (n_methods - 1) // 2
    assert significance["p_raw"].between(0, 1).all() and (significance["p_holm"] >= significance["p_raw"]).all()
    assert table["p_vs_chance"].between(0, 1).all() and (table["p_vs_chance_holm"] >= table["p_vs_chance"]).all()

    import mlflow

    client = mlflow.MlflowClient(tracking_uri=f"sqlite:///{project / 'mlflow.db'}")
    experiment = client.get_experiment_by_name(params["tracking"]["experiment"])
    runs = client.search_runs([experiment.experiment_id], filter_string="tags.kind = 'transfer'")
    assert {r.info.run_name for r in runs} == {f"transfer/{s}_to_{t}/{m}" for s, t, m in expected}
    run = runs[0]
    assert {"git_commit", "dataset_sha256", "dataset", "preset", "source", "target", "method"} <= set(run.data.tags)
    assert {"mrr", "recall_at_1", "chance_mrr", "r2", "validation_mrr"} <= set(run.data.metrics)
    assert any(a.path.endswith(".png") for a in client.list_artifacts(run.info.run_id))


def recommend_cli(project: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(BIN / "musicfusion"), "recommend", "--dataset", "tiny", *args], cwd=project,
                          capture_output=True, text=True, check=False)


def test_recommend_answers_a_video_or_a_text_query_from_the_tiny_library(project):
    import json

    manifest = pd.read_csv(project / "data/raw/tiny/manifest.csv", dtype=str, keep_default_na=False)
    clip = manifest[manifest["split"] == "train"].iloc[0]
    library = set(manifest["clip_id"])

    proc = recommend_cli(project, "--video", f"data/raw/tiny/{clip['video_path']}", "--top", "5")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.strip().splitlines()
    assert lines[1].split() == ["rank", "score", "clip_id", "style", "instrument", "title"]
    rows = [line.split() for line in lines[2:]]
    assert [int(r[0]) for r in rows] == [1, 2, 3, 4, 5] and {r[2] for r in rows} <= library

    text = (project / "data/raw/tiny" / clip["text_path"]).read_text(encoding="utf-8")
    proc = recommend_cli(project, "--text", text, "--top", "5", "--json")
    assert proc.returncode == 0, proc.stderr
    results = json.loads(proc.stdout)["results"]
    assert len(results) == 5 and {r["clip_id"] for r in results} <= library


def test_recommend_refuses_an_unreadable_query_in_one_line(project, tmp_path):
    garbage = tmp_path / "garbage.mp4"
    garbage.write_bytes(b"this is not a video\n" * 100)
    proc = recommend_cli(project, "--video", str(garbage))
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.count("\n") == 1 and str(garbage) in proc.stderr and "Traceback" not in proc.stderr


def test_changing_a_transfer_setting_reruns_only_transfer_jobs(project):
    params_path = project / "params.yaml"
    original = params_path.read_text()
    fitting_rules = {"train", "evaluate", "summarize", "compare"}  # the fusion methods' work
    try:
        params = yaml.safe_load(original)
        params["transfer"]["methods"]["linear"]["alpha"] = 2.0
        params_path.write_text(yaml.safe_dump(params, sort_keys=False))
        planned = planned_jobs(project)
        assert {"transfer", "summarize_transfer", "track_transfer"} <= planned
        assert not planned & fitting_rules

        params = yaml.safe_load(original)
        params["transfer"]["bootstrap_samples"] = 500
        params_path.write_text(yaml.safe_dump(params, sort_keys=False))
        planned = planned_jobs(project)
        assert "summarize_transfer" in planned
        assert not planned & (fitting_rules | {"transfer", "track_transfer"})
    finally:
        params_path.write_text(original)


def test_reproduce_passes_on_its_own_reference_and_names_a_moved_number(project):
    snakemake(project, "update_reference")
    reference = project / "reference/tiny/summary.csv"
    assert reference.is_file() and (project / "reference/tiny/transfer.csv").is_file()
    assert "Reproduced" in snakemake(project, "reproduce").stderr
    table = pd.read_csv(reference)
    row = table.index[(table["method"] == "late_fusion") & (table["task"] == "style")][0]
    table.loc[row, "recall_macro"] = round(table.loc[row, "recall_macro"] + 0.01, 4)
    table.to_csv(reference, index=False)
    proc = snakemake(project, "reproduce", expect_success=False)
    assert proc.returncode != 0
    assert "summary.csv: late_fusion/style recall_macro: reference" in proc.stdout + proc.stderr


REPORT_CATEGORIES = ["Data", "Results", "Confusion matrices", "Robustness", "Transfer", "Style transfer",
                     "Provenance"]


def test_the_html_report_holds_every_result_and_renders_offline(project, params, tmp_path):
    snakemake(project, "--report", "report.html")
    html = (project / "report.html").read_text(encoding="utf-8")
    expected = ["results/tiny/summary.csv", "results/tiny/significance.csv", "results/tiny/fusion_gain.png",
                "results/tiny/transfer.csv", "results/tiny/recall_at_k.png", "results/tiny/dataset.csv",
                "results/tiny/provenance.json", "results/tiny/method_comparison.png", "results/tiny/robustness.csv",
                "results/tiny/robustness_relative.csv", "results/tiny/robustness_absent.png",
                "results/tiny/robustness_noise.png", "results/tiny/robustness_relative.png",
                "results/tiny/style_transfer.csv", "results/tiny/style_transfer.png"]
    expected += [f"results/tiny/methods/{m}/confusion_{t}.png" for m in params["methods"] for t in params["tasks"]]
    missing = [name for name in expected if name not in html]
    assert not missing, f"report lacks {missing}"
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.skip("chromium not installed: `scripts/install.sh --tests` installs it")
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             f"--user-data-dir={tmp_path / 'profile'}", "--virtual-time-budget=10000"]
    url = (project / "report.html").as_uri()
    dom = subprocess.run([chromium, *flags, "--dump-dom", url], capture_output=True, text=True, timeout=120).stdout
    # The report is a JavaScript app: these menu entries exist only once it has rendered.
    for category in REPORT_CATEGORIES:
        assert f"<span>{category}</span>" in dom, category
    shot = tmp_path / "report.png"
    subprocess.run([chromium, *flags, "--window-size=1280,900", f"--screenshot={shot}", url],
                   capture_output=True, timeout=120, check=True)
    import matplotlib.image

    pixels = matplotlib.image.imread(shot)
    assert pixels.shape[:2] == (900, 1280) and pixels.std() > 0.05  # not a blank page
