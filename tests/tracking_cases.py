"""What the tracking tests share: a run origin, a summary row, trials as read from disk and as the
track rule hands them to the loggers."""

from __future__ import annotations

import functools
import json
import signal
from pathlib import Path

import pandas as pd

from musicfusion.tracking.loggers import RunOrigin, log_method_runs, log_transfer_runs

EXPERIMENT = "unit"
ORIGIN = RunOrigin(rule="track", script="workflow/scripts/track.py", git_commit="abc123", dataset="tiny",
                   dataset_sha256="f" * 64, manifest="data/raw/tiny/manifest.csv")
ROW = {"method": "late_fusion", "task": "style", "modalities": "audio+text", "accuracy": 0.75,
       "recall_macro": 0.7, "recall_macro_ci_low": 0.6, "recall_macro_ci_high": 0.8, "n_repeats": 5,
       "n_test_clips": 12}


def trials_as_read(task: str, chosen_by_fold: list[float], n_trials: int = 3) -> pd.DataFrame:
    """A trials.csv (musicfusion.models.train) as read from disk: trial 0 untuned (C=1), trial 2 a repeat
    of trial 1; in fold f the trial whose C is ``chosen_by_fold[f]`` is chosen."""
    rows = []
    for fold, chosen in enumerate(chosen_by_fold):
        for trial, (c, repeat_of) in enumerate([(1.0, -1), (0.5, -1), (0.5, 1)][:n_trials]):
            rows.append({"trial": trial, "settings": json.dumps({"audio.C": c}), "validation_score": 0.5 + 0.1 * trial,
                         "seconds": 0.25, "repeat_of": repeat_of, "untuned": trial == 0,
                         "chosen": c == chosen and repeat_of < 0, "task": task, "search_seconds": 1.5,
                         "repetition": 0, "fold": fold})
    return pd.DataFrame(rows).astype(str)


def trial_arguments(trials: pd.DataFrame, tasks: list[str]) -> dict:
    """log_method_runs' ``trials_by_task`` and ``search_seconds``, computed from a trials.csv as
    the track rule's script does (tracking itself knows no tuning)."""
    from musicfusion.models.tuning import search_seconds, task_trials

    return {"trials_by_task": {task: task_trials(trials, task) for task in tasks},
            "search_seconds": {task: search_seconds(trials, task) for task in tasks}}


ENTRY = {"type": "ridge", "params": {"type": "ridge", "alpha": 1.0}, "validation_mrr": 0.4,
         "test": {"mrr": 0.5, "recall@1": 0.25}}


def time_limit(seconds: int):
    """Fail the test (TimeoutError) if it runs longer than ``seconds`` (pytest-timeout is not installed)."""
    def decorate(test):
        @functools.wraps(test)
        def limited(*args, **kwargs):
            def expire(signum, frame):
                raise TimeoutError(f"{test.__name__} ran over {seconds} s")

            previous = signal.signal(signal.SIGALRM, expire)
            signal.alarm(seconds)
            try:
                return test(*args, **kwargs)
            finally:
                signal.alarm(0)
                signal.signal(signal.SIGALRM, previous)
        return limited
    return decorate


def pair(source: str = "video", target: str = "audio", mrr: float = 0.5) -> dict:
    """A transfer pair's metrics.json with two mapping methods."""
    first = {**ENTRY, "test": {**ENTRY["test"], "mrr": mrr}}
    return {"source": source, "target": target, "n_train": 10, "n_validation": 4, "n_test": 4,
            "pca_components": 8, "seed": 1, "recall_at": [1], "best_on_validation": "second",
            "method_order": ["first", "second"], "methods": {"first": first, "second": ENTRY}}


def log_pair(uri: str, experiment: str, metrics: dict, artifact: Path) -> dict:
    return log_transfer_runs(uri=uri, experiment=experiment, pair_metrics=metrics, tags={"params_sha256": "p" * 64},
                             params={"dataset": "tiny"}, artifacts=[artifact], origin=ORIGIN)


def log_method(uri: str, experiment: str, model, row: dict = ROW, trials=None) -> dict:
    from musicfusion.evaluation.evaluate import search_record

    trials = trials_as_read("style", [0.5, 1.0]) if trials is None else trials
    return log_method_runs(uri=uri, experiment=experiment, method="late_fusion",
                           method_params={"type": "late_fusion", "learner": "logistic", "weight_step": 0.5},
                           rows={"style": row}, artifacts={}, models={"style": model}, params={"seed": 42},
                           tags={"kind": "fusion"}, origin=ORIGIN, searches={"style": search_record(trials, "style")},
                           **trial_arguments(trials, ["style"]))


def active_runs(client, experiment: str) -> list:
    return client.search_runs([client.get_experiment_by_name(experiment).experiment_id], "", max_results=1000)


def children_of(client, experiment: str, parent_id: str, view=None) -> list:
    from mlflow.entities import ViewType

    exp_id = client.get_experiment_by_name(experiment).experiment_id
    return client.search_runs([exp_id], f"tags.`mlflow.parentRunId` = '{parent_id}'",
                              run_view_type=view or ViewType.ACTIVE_ONLY, max_results=1000)
