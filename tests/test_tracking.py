"""Tracking: MLflow runs carry their origin, the dataset input, every summary number and the model."""

from __future__ import annotations

import numpy as np
import pytest

from musicfusion.fusion import build_method
from musicfusion.tracking import (RunOrigin, flatten, init_store, log_method_runs, log_transfer_runs, metric_key,
                                  numeric_metrics, tracking_uri)
from musicfusion.workflow import project_script

EXPERIMENT = "unit"
ORIGIN = RunOrigin(rule="track", script="workflow/scripts/track.py", git_commit="abc123", dataset="tiny",
                   dataset_sha256="f" * 64, manifest="data/raw/tiny/manifest.csv")
ROW = {"method": "late_fusion", "task": "style", "modalities": "audio+text", "accuracy": 0.75,
       "recall_macro": 0.7, "recall_macro_ci_low": 0.6, "recall_macro_ci_high": 0.8, "n_repeats": 5,
       "n_test_clips": 12}


@pytest.fixture()
def store(tmp_path):
    import mlflow

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    init_store(uri, EXPERIMENT, root=tmp_path)
    yield uri, mlflow.MlflowClient(tracking_uri=uri)


@pytest.fixture(scope="module")
def late_fusion():
    rng = np.random.default_rng(0)
    y = np.array(["a", "b"] * 20)
    X = {"audio": rng.normal(size=(40, 3)) + (y == "a")[:, None], "text": rng.normal(size=(40, 2))}
    return build_method({"type": "late_fusion", "modalities": ["audio", "text"], "weight_step": 0.5}, 0).fit(
        X, y, X, y)


def test_a_method_run_says_where_it_came_from_and_holds_every_summary_number(store, late_fusion, tmp_path):
    uri, client = store
    artifact = tmp_path / "metrics.json"
    artifact.write_text("{}")
    runs = log_method_runs(uri=uri, experiment=EXPERIMENT, method="late_fusion",
                           method_params={"type": "late_fusion", "weight_step": 0.5}, rows={"style": ROW},
                           artifacts={"style": [artifact]}, models={"style": late_fusion},
                           params={"seed": 42}, tags={"kind": "fusion"}, origin=ORIGIN)
    run = client.get_run(runs["style"])
    tags = run.data.tags
    assert tags["mlflow.source.name"] == "Snakefile" and tags["mlflow.project.entryPoint"] == "track"
    assert tags["mlflow.source.type"] == "PROJECT" and tags["mlflow.source.git.commit"] == "abc123"
    assert tags["script"] == "workflow/scripts/track.py" and tags["kind"] == "fusion"
    assert (tags["method"], tags["task"], run.info.run_name) == ("late_fusion", "style", "late_fusion/style")
    [dataset_input] = run.inputs.dataset_inputs
    assert (dataset_input.dataset.name, dataset_input.dataset.digest) == ("tiny", "f" * 16)
    assert "data/raw/tiny/manifest.csv" in dataset_input.dataset.source
    assert {t.key: t.value for t in dataset_input.tags}["mlflow.data.context"] == "training"
    # Every number of the summary row, means and bounds alike; labels are not metrics.
    assert run.data.metrics == {k: float(v) for k, v in ROW.items() if not isinstance(v, str)}
    params = run.data.params
    assert params["method.weight_step"] == "0.5" and params["seed"] == "42"
    assert params["learned.weights.audio"] == str(late_fusion.learned_params()["weights"]["audio"])
    assert "metrics.json" in {a.path for a in client.list_artifacts(run.info.run_id)}
    # MLflow 3 keeps the fitted model as a logged model of the run, loadable as it was.
    [model] = client.search_logged_models([run.info.experiment_id])
    assert model.source_run_id == run.info.run_id
    import mlflow

    X = {"audio": np.zeros((2, 3)), "text": np.zeros((2, 2))}
    loaded = mlflow.sklearn.load_model(model.model_uri)
    np.testing.assert_array_equal(loaded.predict_proba(X), late_fusion.predict_proba(X))


def test_transfer_runs_are_one_per_method_in_params_order(store, tmp_path):
    uri, client = store
    entry = {"type": "ridge", "params": {"type": "ridge", "alpha": 1.0}, "validation_mrr": 0.4,
             "test": {"mrr": 0.5, "recall@1": 0.25}}
    pair = {"source": "video", "target": "audio", "n_train": 10, "n_validation": 4, "n_test": 4,
            "pca_components": 8, "seed": 1, "recall_at": [1], "best_on_validation": "second",
            "method_order": ["first", "second"], "methods": {"first": entry, "second": entry}}
    curve = tmp_path / "recall_at_k.png"
    curve.write_bytes(b"\x89PNG")
    runs = log_transfer_runs(uri=uri, experiment=EXPERIMENT, pair_metrics=pair, tags={}, params={"dataset": "tiny"},
                             artifacts=[curve], origin=ORIGIN)
    assert list(runs) == ["first", "second"]
    second = client.get_run(runs["second"])
    assert second.info.run_name == "transfer/video_to_audio/second"
    assert second.data.tags["best_on_validation"] == "true" and second.data.tags["kind"] == "transfer"
    assert second.data.metrics["recall_at_1"] == 0.25 and second.data.metrics["n_test"] == 4
    assert second.data.params["pca_components"] == "8"
    assert second.inputs.dataset_inputs[0].dataset.name == "tiny"


def test_a_missing_experiment_points_at_the_onstart_hook(tmp_path):
    uri = f"sqlite:///{tmp_path / 'empty.db'}"
    with pytest.raises(RuntimeError, match="onstart"):
        log_transfer_runs(uri=uri, experiment="nowhere", pair_metrics={}, tags={}, params={}, artifacts=[],
                          origin=ORIGIN)


def test_tracking_uri_prefers_the_environment_then_params(monkeypatch, tmp_path):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    assert tracking_uri(None, tmp_path) == f"sqlite:///{(tmp_path / 'mlflow.db').resolve()}"
    assert tracking_uri("http://127.0.0.1:5000") == "http://127.0.0.1:5000"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://127.0.0.1:6000")
    assert tracking_uri("http://127.0.0.1:5000") == "http://127.0.0.1:6000"


def test_flat_params_and_safe_metric_names():
    assert flatten("", {"a": {"b": 1, "c": [1, 2]}, "d": None}) == {"a.b": "1", "a.c": "[1, 2]", "d": "None"}
    assert metric_key("style_precision@5") == "style_precision_at_5"
    assert numeric_metrics({"recall@1": 0.5, "n": 3, "flag": True, "name": "x"}) == {"recall_at_1": 0.5, "n": 3.0}


def test_the_origin_comes_from_the_provenance_record():
    record = {"git_commit": "abc123", "dataset": "tiny", "dataset_sha256": "f" * 64, "params_sha256": "0"}
    assert RunOrigin.of("track", "workflow/scripts/track.py", record, "data/raw/tiny/manifest.csv") == ORIGIN


def test_project_script_names_the_repository_file_not_snakemakes_copy():
    assert project_script("/p/.snakemake/scripts/tmpab12cd34.track.py") == "workflow/scripts/track.py"
    assert project_script("/p/workflow/scripts/track_transfer.py") == "workflow/scripts/track_transfer.py"
