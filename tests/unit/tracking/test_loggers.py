"""Tracking: MLflow runs carry their origin, the dataset input, every summary number and the model."""

from __future__ import annotations

import numpy as np
import pytest

from musicfusion.models.methods import build_method
from musicfusion.tracking.loggers import (
    RunOrigin,
    flatten,
    log_method_runs,
    log_transfer_runs,
    metric_key,
    numeric_metrics,
)
from musicfusion.tracking.store import tracking_uri

from small_learners import LEARNERS
from tracking_cases import ORIGIN, ROW, trial_arguments, trials_as_read


def test_a_method_run_says_where_it_came_from_and_holds_every_summary_number(store, late_fusion, tmp_path):
    uri, client, experiment = store
    artifact = tmp_path / "metrics.json"
    artifact.write_text("{}")
    runs = log_method_runs(uri=uri, experiment=experiment, method="late_fusion",
                           method_params={"type": "late_fusion", "learner": "logistic", "weight_step": 0.5},
                           rows={"style": ROW},
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
    assert params["method.learner"] == "logistic"
    assert params["learned.weights.audio"] == str(late_fusion.learned_params()["weights"]["audio"])
    assert "metrics.json" in {a.path for a in client.list_artifacts(run.info.run_id)}
    # MLflow 3 keeps the fitted model as a logged model of the run, loadable as it was.
    [model] = client.search_logged_models([run.info.experiment_id])
    assert model.source_run_id == run.info.run_id
    import mlflow

    X = {"audio": np.zeros((2, 3)), "text": np.zeros((2, 2))}
    loaded = mlflow.sklearn.load_model(model.model_uri)
    np.testing.assert_array_equal(loaded.predict_proba(X), late_fusion.predict_proba(X))


def test_a_method_run_holds_fold_0s_model_and_the_final_model_each_named(store, late_fusion):
    import mlflow

    uri, client, experiment = store
    rng = np.random.default_rng(1)
    X = {"audio": rng.normal(size=(30, 3)), "text": rng.normal(size=(30, 2))}
    y = np.array(["chorale", "folk", "mass"] * 10)
    method = {"type": "late_fusion", "modalities": ["audio", "text"], "learner": "logistic", "weight_step": 0.5}
    final = build_method(method, 0, LEARNERS).fit(X, y, X, y)  # another model than fold 0's
    runs = log_method_runs(uri=uri, experiment=experiment, method="late_fusion",
                           method_params={"type": "late_fusion"}, rows={"style": ROW}, artifacts={},
                           models={"style": late_fusion}, final_models={"style": final}, params={}, tags={},
                           origin=ORIGIN)
    run = client.get_run(runs["style"])
    assert "every labelled clip" in run.data.tags["models.final_model"]
    assert "fold 0" in run.data.tags["models.model"]
    logged = {m.name: m for m in client.search_logged_models([run.info.experiment_id])}
    assert set(logged) == {"model", "final_model"}
    Q = {"audio": rng.normal(size=(4, 3)), "text": rng.normal(size=(4, 2))}
    np.testing.assert_array_equal(mlflow.sklearn.load_model(logged["final_model"].model_uri).predict_proba(Q),
                                  final.predict_proba(Q))
    np.testing.assert_array_equal(mlflow.sklearn.load_model(logged["model"].model_uri).predict_proba(Q),
                                  late_fusion.predict_proba(Q))


def test_every_tuning_trial_is_a_child_run_and_the_chosen_settings_are_parent_params(store, late_fusion):
    """A multi-task search served both tasks: each task's run holds all its trials as children."""
    from musicfusion.evaluation.evaluate import search_record

    uri, client, experiment = store
    trials = trials_as_read("style+instrument", [0.5, 1.0])
    tasks = ["style", "instrument"]
    runs = log_method_runs(uri=uri, experiment=experiment, method="mlp_multitask",
                           method_params={"type": "multitask", "learner": "mlp"},
                           rows={task: dict(ROW, task=task) for task in tasks}, artifacts={},
                           models={task: late_fusion for task in tasks}, params={}, tags={}, origin=ORIGIN,
                           searches={task: search_record(trials, task) for task in tasks},
                           **trial_arguments(trials, tasks))
    assert sorted(runs) == sorted(tasks)
    exp_id = client.get_experiment_by_name(experiment).experiment_id
    for task, parent_id in runs.items():
        parent = client.get_run(parent_id)
        assert parent.data.params["chosen.fold-0.audio.C"] == "0.5"
        assert parent.data.params["chosen.fold-1.audio.C"] == "1.0"
        assert parent.data.metrics["search_seconds"] == 3.0  # 1.5 s in each of two folds
        assert parent.data.metrics["n_trials"] == 3 and parent.data.metrics["folds_kept_untuned"] == 1
        assert parent.data.tags.get("mlflow.parentRunId") is None
        children = client.search_runs([exp_id], f"tags.`mlflow.parentRunId` = '{parent_id}'")
        assert len(children) == len(trials)
        assert {c.data.tags["kind"] for c in children} == {"trial"}
        assert {c.data.tags["task"] for c in children} == {task}
        by_name = {c.info.run_name: c for c in children}
        assert set(by_name) == {f"mlp_multitask/{task}/fold-{f}/trial-{t}" for f in range(2) for t in range(3)}
        repeat = by_name[f"mlp_multitask/{task}/fold-0/trial-2"]
        assert repeat.data.params == {"audio.C": "0.5", "fold": "0", "repetition": "0", "trial": "2"}
        assert repeat.data.metrics == {"validation_score": 0.7, "seconds": 0.25}
        assert (repeat.data.tags["repeat_of"], repeat.data.tags["chosen"], repeat.data.tags["untuned"]) == (
            "1", "false", "false")
        first = by_name[f"mlp_multitask/{task}/fold-1/trial-0"]
        assert (first.data.tags["untuned"], first.data.tags["chosen"]) == ("true", "true")
        assert all(c.info.status == "FINISHED" for c in children)


def test_transfer_runs_are_one_per_method_in_params_order(store, tmp_path):
    uri, client, experiment = store
    entry = {"type": "ridge", "params": {"type": "ridge", "alpha": 1.0}, "validation_mrr": 0.4,
             "test": {"mrr": 0.5, "recall@1": 0.25}}
    pair = {"source": "video", "target": "audio", "n_train": 10, "n_validation": 4, "n_test": 4,
            "pca_components": 8, "seed": 1, "recall_at": [1], "best_on_validation": "second",
            "method_order": ["first", "second"], "methods": {"first": entry, "second": entry}}
    curve = tmp_path / "recall_at_k.png"
    curve.write_bytes(b"\x89PNG")
    runs = log_transfer_runs(uri=uri, experiment=experiment, pair_metrics=pair, tags={}, params={"dataset": "tiny"},
                             artifacts=[curve], origin=ORIGIN)
    assert list(runs) == ["first", "second"]
    second = client.get_run(runs["second"])
    assert second.info.run_name == "transfer/video_to_audio/second"
    assert second.data.tags["best_on_validation"] == "true" and second.data.tags["kind"] == "transfer"
    assert second.data.metrics["recall_at_1"] == 0.25 and second.data.metrics["n_test"] == 4
    assert second.data.params["pca_components"] == "8"
    assert second.inputs.dataset_inputs[0].dataset.name == "tiny"


def test_a_missing_experiment_points_at_the_onstart_hook(database):
    uri, _ = database
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


@pytest.mark.parametrize("method", [
    {"type": "multitask", "modalities": ["audio", "text"], "learner": "mlp"},
    {"type": "late_fusion", "modalities": ["audio", "text"], "learner": {"audio": "svm", "text": "random_forest"}}])
def test_models_of_every_learner_load_back_through_skops(method):
    """The logged model format (skops) trusts our types and scikit-learn's only: the network and
    the calibrated SVM load back and predict as they did."""
    import skops.io

    from musicfusion.tracking.loggers import _trusted_types

    rng = np.random.default_rng(0)
    y = np.column_stack([np.array(["a", "b"] * 20), np.array(["x", "y", "z", "w"] * 10)])
    X = {"audio": rng.normal(size=(40, 3)) + (y[:, 0] == "a")[:, None], "text": rng.normal(size=(40, 2))}
    model = build_method(method, 0, LEARNERS)
    model.fit(X, y) if model.multitask else model.fit(X, y[:, 0], X, y[:, 0])
    trusted = _trusted_types(model)
    assert all(t.startswith(("musicfusion.", "sklearn.")) for t in trusted)
    loaded = skops.io.loads(skops.io.dumps(model), trusted=trusted)
    expected, got = model.predict_proba(X), loaded.predict_proba(X)
    for e, g in zip(*((expected, got) if model.multitask else ([expected], [got]))):
        np.testing.assert_array_equal(e, g)
