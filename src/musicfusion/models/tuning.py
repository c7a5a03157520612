"""Tuning: a seeded Optuna search over a method's learner settings, scored on validation data.

The search space and the untuned values come from the method's spec
(musicfusion.models.methods.MethodSpec: ``space``, ``untuned``). The first
trial is always the learner's untuned ``settings``, so tuning never ranks below them on
validation, and every search has the same budget of ``n_trials`` configurations. A
configuration drawn again is not refitted: it scores what it scored before.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

TRIAL_COLUMNS = ["trial", "settings", "validation_score", "seconds", "repeat_of", "untuned", "chosen"]


def suggest(trial, space: Mapping) -> dict[str, Any]:
    """One configuration drawn by an Optuna trial."""
    values = {}
    for key, domain in space.items():
        if isinstance(domain, list):
            values[key] = trial.suggest_categorical(key, domain)
        elif isinstance(domain.get("low"), int) and isinstance(domain.get("high"), int):
            values[key] = trial.suggest_int(key, domain["low"], domain["high"], log=bool(domain.get("log")))
        else:
            values[key] = trial.suggest_float(key, float(domain["low"]), float(domain["high"]),
                                              log=bool(domain.get("log")))
    return values


@dataclass
class SearchResult:
    """What a search found: the chosen and untuned configurations with the objective's payload
    for each (whatever ``objective`` returned beside its score), and one row per trial."""

    chosen: dict
    chosen_payload: Any
    untuned: dict
    untuned_payload: Any
    trials: pd.DataFrame
    seconds: float

    @property
    def chose_untuned(self) -> bool:
        return self.chosen == self.untuned


def search(objective: Callable[[dict], tuple[float, Any]], space: Mapping, untuned: dict, n_trials: int,
           seed: int, startup_trials: int) -> SearchResult:
    """Maximise ``objective(values) -> (validation score, payload)`` over ``space`` with a seeded
    TPE sampler: trial 0 is ``untuned``, the first ``startup_trials`` draws are random, and ties
    go to the earliest trial (so to the untuned configuration first)."""
    import optuna

    if n_trials < 1:
        raise ValueError(f"tuning needs at least 1 trial (the untuned configuration), got {n_trials}")
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    sampler = optuna.samplers.TPESampler(seed=seed, n_startup_trials=startup_trials)
    study = optuna.create_study(direction="maximize", sampler=sampler)
    if space:
        study.enqueue_trial(untuned)
    seen: dict[str, tuple[int, float]] = {}
    rows, payloads = [], {}
    started = time.perf_counter()

    def run(trial) -> float:
        values = suggest(trial, space)
        key = json.dumps(values, sort_keys=True)
        clock = time.perf_counter()
        if key in seen:
            repeat_of, value = seen[key]
        else:
            value, payload = objective(values)
            repeat_of, seen[key] = -1, (trial.number, value)
            payloads[trial.number] = payload
        rows.append({"trial": trial.number, "settings": key, "validation_score": value,
                     "seconds": time.perf_counter() - clock, "repeat_of": repeat_of})
        return value

    # Without a space there is nothing to tune: one trial, the untuned configuration.
    study.optimize(run, n_trials=n_trials if space else 1)
    scores = [row["validation_score"] for row in rows]
    best = scores.index(max(scores))
    best_source = rows[best]["repeat_of"] if rows[best]["repeat_of"] >= 0 else best
    trials = pd.DataFrame(rows)
    trials["untuned"] = trials["trial"] == 0
    trials["chosen"] = trials["trial"] == best
    chosen = json.loads(rows[best]["settings"])
    return SearchResult(chosen, payloads[best_source], dict(untuned), payloads[0], trials[TRIAL_COLUMNS],
                        time.perf_counter() - started)


def task_trials(trials: pd.DataFrame, task: str) -> pd.DataFrame:
    """The rows of a method's trials.csv (musicfusion.models.train) that searched for ``task`` (a
    multi-task method searched once for all its tasks: each task shares that search)."""
    return trials[trials["task"].str.split("+").map(lambda tasks: task in tasks)].astype({"fold": int})


def search_seconds(trials: pd.DataFrame, task: str) -> float:
    """Seconds the search for ``task`` took over all folds (one core). Kept out of metrics.json,
    which reruns reproduce bit for bit."""
    return float(task_trials(trials, task).drop_duplicates("fold")["search_seconds"].astype(float).sum())
