"""What the tracking tests share: a run origin, a summary row, trials as read from disk and as the
track rule hands them to the loggers."""

from __future__ import annotations

import json

import pandas as pd

from musicfusion.tracking.loggers import RunOrigin

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
