"""The one experiment is tagged as machine learning for MLflow 3's UI (when created, and when an
older store's is found without the tag), and each kind of run is one filter away."""

from __future__ import annotations

from types import SimpleNamespace

import pandas as pd
import pytest

from musicfusion.tracking.loggers import (
    RUN_KINDS,
    kind_filter,
    log_paper_runs,
    log_robustness_runs,
    log_style_transfer_runs,
    log_assist_run,
    log_transcription_run,
)
from musicfusion.tracking.store import _get_or_create_experiment, experiment_id, init_store

from tracking_cases import ORIGIN, active_runs, log_method, log_pair, pair

# Spelled out, not imported: the names MLflow's UI reads (ExperimentKind in mlflow/server/js).
UI_KIND_TAG, MACHINE_LEARNING = "mlflow.experimentKind", "custom_model_development"


def test_a_new_experiment_is_tagged_as_machine_learning(store):
    _, client, experiment = store  # the fixture's init_store created the experiment
    assert client.get_experiment_by_name(experiment).tags[UI_KIND_TAG] == MACHINE_LEARNING


def test_an_experiment_of_an_older_store_gets_the_tag_and_keeps_its_id(database):
    import mlflow

    uri, root = database
    client = mlflow.MlflowClient(tracking_uri=uri)
    old = client.create_experiment("older-store", artifact_location=(root / "mlruns").as_uri())
    assert UI_KIND_TAG not in client.get_experiment(old).tags
    assert init_store(uri, "older-store", root=root) == old
    assert client.get_experiment(old).tags[UI_KIND_TAG] == MACHINE_LEARNING
    assert experiment_id(uri, "older-store") == old


def test_a_kind_chosen_in_the_ui_stays(database):
    import mlflow

    uri, root = database
    client = mlflow.MlflowClient(tracking_uri=uri)
    chosen = client.create_experiment("chosen-kind", tags={UI_KIND_TAG: "genai_development"})
    assert init_store(uri, "chosen-kind", root=root) == chosen
    assert client.get_experiment(chosen).tags[UI_KIND_TAG] == "genai_development"


def test_an_experiment_another_job_created_in_between_is_tagged_too():
    """On a server two jobs can both find no experiment: the loser of the creation tags the winner's."""
    from mlflow.exceptions import MlflowException

    class Client:
        def __init__(self):
            self.found, self.tagged = [None, SimpleNamespace(experiment_id="7", tags={})], []

        def get_experiment_by_name(self, name):
            return self.found.pop(0)

        def create_experiment(self, name, artifact_location=None, tags=None):
            raise MlflowException("experiment already exists")

        def set_experiment_tag(self, experiment_id, key, value):
            self.tagged.append((experiment_id, key, value))

    client = Client()
    assert _get_or_create_experiment(client, "http://127.0.0.1:5000", "musicfusion") == "7"
    assert client.tagged == [("7", UI_KIND_TAG, MACHINE_LEARNING)]


def robustness_tables(groups: list[tuple[str, str]]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A robustness summary and relative table (results/<dataset>/robustness*.csv) for ``groups``."""
    summary = pd.DataFrame([{"method": method, "task": task, "perturbation": "absent", "modality": "audio",
                             "level": level, "recall_macro": 0.5 - level / 2, "recall_macro_ci_low": 0.4 - level / 2,
                             "recall_macro_ci_high": 0.6 - level / 2}
                            for method, task in groups for level in (0.0, 0.5)])
    relative = pd.DataFrame([{"method": method, "task": task, "perturbation": "absent", "modality": "audio",
                              "relative_robustness": 0.5} for method, task in groups])
    return summary, relative


def test_each_kind_filter_returns_only_that_kind(store, late_fusion, curve):
    """Every run carries a kind, even when the caller's tags say otherwise, and each kind's filter
    finds exactly its runs: one fusion run with its 2 folds x 3 trials, two mappings, two sweeps."""
    uri, client, experiment = store
    exp_id = client.get_experiment_by_name(experiment).experiment_id
    log_method(uri, experiment, late_fusion)
    log_pair(uri, experiment, pair(), curve)
    summary, relative = robustness_tables([("late_fusion", "style"), ("audio_only", "style")])
    log_robustness_runs(uri=uri, experiment=experiment, summary=summary, relative=relative, scores=["recall_macro"],
                        tags={"kind": "not-this"}, params={"seed": 42}, artifacts=[curve], origin=ORIGIN)
    comparison = [{"learner": name, "paper_percent": 95.0, "ours_percent": 95.5, "ours_ci_low": 94.0,
                   "ours_ci_high": 97.0, "verdict": "reproduced", "reason": ""} for name in ("logistic", "knn")]
    log_paper_runs(uri=uri, experiment=experiment, paper="ismir2011", comparison=comparison,
                   settings={"logistic": {"ridge": 1e-8}, "knn": {"n_neighbors": 3}}, params={"folds": 10},
                   tags={"kind": "not-this"}, artifacts=[curve], origin=ORIGIN)
    styled = [{"kind": kind, "operator_set": name, "judge": "audio_only", "task": "style", "source_style": "all",
               "target": "all", "success_rate": rate, "n_clips": 12}
              for kind, name, rate in (("style", "all", 0.4), ("tempo", "tempo", float("nan")))]
    log_style_transfer_runs(uri=uri, experiment=experiment, table=styled, operator_sets={"all": ["register"]},
                            params={"clips_per_style": 2}, tags={"kind": "not-this"}, artifacts=[curve],
                            origin=ORIGIN)
    transcribed = [{"group_by": by, "group": group, "f_measure": 0.5, "f_measure_ci_low": low,
                    "f_measure_ci_high": high} for by, group, low, high in (("all", "all", 0.4, 0.6),
                                                                              ("instrument", "organ", float("nan"),
                                                                               float("nan")))]
    log_transcription_run(uri=uri, experiment=experiment, table=transcribed, scores=["f_measure"],
                          params={"onset_threshold": 0.6}, tags={"kind": "not-this"}, artifacts=[curve], origin=ORIGIN)
    assisted = [{"part": "suggestion", "task": "style", "query": "video", "metric": "accuracy", "value": 0.7,
                 "ci_low": 0.6, "ci_high": 0.8, "chance": 0.17, "n": 720},
                {"part": "suggestion", "task": "style", "query": "video", "metric": "ece", "value": 0.09,
                 "ci_low": float("nan"), "ci_high": float("nan"), "chance": float("nan"), "n": 720}]
    log_assist_run(uri=uri, experiment=experiment, table=assisted, params={"top": 5}, tags={"kind": "not-this"},
                   artifacts=[curve], origin=ORIGIN)

    assert kind_filter("fusion") == "tags.kind = 'fusion'"
    expected = {"fusion": 1, "trial": 6, "transfer": 2, "robustness": 2, "paper": 2, "style_transfer": 2,
                "transcription": 1, "assist": 1}
    assert set(RUN_KINDS) == set(expected)
    found = {kind: client.search_runs([exp_id], kind_filter(kind), max_results=1000) for kind in RUN_KINDS}
    for kind, runs in found.items():
        assert len(runs) == expected[kind], kind
        assert {run.data.tags["kind"] for run in runs} == {kind}
    paper = {run.data.tags["learner"]: run for run in found["paper"]}
    assert paper["knn"].data.params["learner.n_neighbors"] == "3" and paper["knn"].data.metrics["ours_percent"] == 95.5
    assert paper["knn"].data.tags["verdict"] == "reproduced" and paper["knn"].info.run_name == "paper/ismir2011/knn"
    everything = active_runs(client, experiment)
    assert sorted(run.info.run_id for runs in found.values() for run in runs) == sorted(
        run.info.run_id for run in everything)
    assert {run.info.run_name for run in found["robustness"]} == {"robustness/late_fusion/style",
                                                                  "robustness/audio_only/style"}
    styled_runs = {run.data.tags["operator_set"]: run for run in found["style_transfer"]}
    assert styled_runs["all"].data.metrics["audio_only.style.success_rate"] == 0.4
    assert styled_runs["all"].data.params["operators"] == '["register"]'
    assert "audio_only.style.success_rate" not in styled_runs["tempo"].data.metrics  # NaN: no success for a control
    transcription = found["transcription"][0].data
    assert transcription.metrics["all.all.f_measure_ci_high"] == 0.6
    assert transcription.metrics["instrument.organ.f_measure"] == 0.5
    assert "instrument.organ.f_measure_ci_low" not in transcription.metrics  # NaN: one clip has no interval
    assert transcription.params["onset_threshold"] == "0.6"
    assisted_run = found["assist"][0].data
    assert assisted_run.metrics["suggestion.style.video.accuracy"] == 0.7
    assert assisted_run.metrics["suggestion.style.video.accuracy_chance"] == 0.17
    assert "suggestion.style.video.ece_ci_low" not in assisted_run.metrics  # NaN: no interval


def test_an_unknown_kind_has_no_filter():
    with pytest.raises(ValueError, match="fusion"):
        kind_filter("fusoin")
