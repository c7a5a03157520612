"""Tuning: the search space of a method's learners and the seeded search over it, on synthetic
objectives (no model is fitted here)."""

from __future__ import annotations

import json
import math

import pytest

from musicfusion.models.tuning import TRIAL_COLUMNS, search

SEED = 0
LATE = {"type": "late_fusion", "modalities": ["audio", "text"], "learner": {"audio": "svm", "text": "logistic"}}
SINGLE = {"type": "single_modality", "modalities": ["audio"], "learner": "logistic"}


def run(objective, space, untuned, n_trials=8, seed=SEED, startup_trials=4):
    return search(objective, space, untuned, n_trials, seed, startup_trials)


def peaked(values):
    """A smooth objective with its peak at C = 10 (in log scale); the payload names the value."""
    return -abs(math.log10(values["a.C"]) - 1.0), f"C={values['a.C']}"


RANGE = {"a.C": {"low": 1.0e-3, "high": 1.0e+2, "log": True}}



def test_the_first_trial_is_the_untuned_configuration():
    untuned = {"a.C": 1.0}
    result = run(peaked, RANGE, untuned)
    assert list(result.trials.columns) == TRIAL_COLUMNS
    assert result.trials["trial"].tolist() == list(range(8))
    first = result.trials.iloc[0]
    assert json.loads(first["settings"]) == untuned and bool(first["untuned"])
    assert result.trials["untuned"].sum() == 1
    assert result.untuned == untuned and result.untuned_payload == "C=1.0"
    assert first["validation_score"] == pytest.approx(peaked(untuned)[0])


def test_the_best_validation_score_is_chosen_with_its_payload():
    result = run(peaked, RANGE, {"a.C": 1.0}, n_trials=12)
    trials = result.trials
    best = trials.loc[trials["validation_score"].idxmax()]
    assert trials["chosen"].sum() == 1 and bool(trials.loc[trials["chosen"], "trial"].item() == best["trial"])
    assert result.chosen == json.loads(best["settings"])
    assert result.chosen_payload == f"C={result.chosen['a.C']}"
    assert best["validation_score"] > trials.loc[0, "validation_score"]  # the search found better than untuned
    assert not result.chose_untuned
    for row in trials.itertuples():  # every score is the objective's for that trial's settings
        assert row.validation_score == pytest.approx(peaked(json.loads(row.settings))[0])
    assert result.seconds > 0 and (trials["seconds"] >= 0).all()


def test_the_same_seed_gives_the_same_trials_and_another_seed_other_draws():
    def scored(seed):
        trials = run(peaked, RANGE, {"a.C": 1.0}, seed=seed).trials
        return trials.drop(columns="seconds")

    first, again, other = scored(SEED), scored(SEED), scored(SEED + 1)
    assert first.equals(again)
    assert first.loc[0, "settings"] == other.loc[0, "settings"]  # both start untuned
    assert first["settings"].iloc[1:].tolist() != other["settings"].iloc[1:].tolist()


def test_a_configuration_drawn_again_is_not_refitted():
    calls = []

    def objective(values):
        calls.append(values)
        return float(values["a.kernel"] == "rbf"), len(calls)

    space = {"a.kernel": ["linear", "rbf"]}
    result = run(objective, space, {"a.kernel": "linear"}, n_trials=10)
    trials = result.trials
    assert len(trials) == 10
    assert sorted(c["a.kernel"] for c in calls) == ["linear", "rbf"]  # each configuration fitted once
    assert (trials["repeat_of"] >= 0).sum() == 10 - len(calls)
    for row in trials[trials["repeat_of"] >= 0].itertuples():
        source = trials.loc[row.repeat_of]
        assert source["repeat_of"] == -1 and source["trial"] < row.trial
        assert (row.settings, row.validation_score) == (source["settings"], source["validation_score"])
    # the chosen configuration is the first trial that scored best, with its own payload
    assert result.chosen == {"a.kernel": "rbf"}
    chosen = trials.loc[trials["chosen"]].iloc[0]
    assert chosen["repeat_of"] == -1
    assert result.chosen_payload == 2


def test_ties_go_to_the_earliest_trial():
    flat = run(lambda values: (0.5, values), RANGE, {"a.C": 1.0})
    assert flat.trials["chosen"].tolist() == [True] + [False] * 7  # the untuned configuration
    assert flat.chose_untuned and flat.chosen == {"a.C": 1.0} and flat.chosen_payload == {"a.C": 1.0}
    # all but the untuned configuration tie: the first of them wins
    beaten = run(lambda values: (float(values["a.C"] != 1.0), None), RANGE, {"a.C": 1.0})
    assert beaten.trials["chosen"].tolist() == [False, True] + [False] * 6
    assert beaten.chosen == json.loads(beaten.trials.loc[1, "settings"])


def test_integer_ranges_draw_integers_and_lists_are_choices():
    space = {"a.min_samples_leaf": {"low": 1, "high": 8}, "a.max_features": ["sqrt", "log2", 0.5],
             "a.alpha": {"low": 1, "high": 8.0}, "a.rate": {"low": 1.0e-4, "high": 1.0e-1, "log": True}}
    drawn = []
    untuned = {"a.min_samples_leaf": 1, "a.max_features": "sqrt", "a.alpha": 2.0, "a.rate": 1.0e-3}
    result = run(lambda values: (drawn.append(values) or 0.0, None), space, untuned, n_trials=12)
    assert drawn[0] == untuned
    for values in drawn:
        assert type(values["a.min_samples_leaf"]) is int and 1 <= values["a.min_samples_leaf"] <= 8
        assert values["a.max_features"] in ("sqrt", "log2", 0.5)
        assert type(values["a.alpha"]) is float and 1 <= values["a.alpha"] <= 8  # a float bound: floats
        assert 1.0e-4 <= values["a.rate"] <= 1.0e-1
    assert len({v["a.min_samples_leaf"] for v in drawn}) > 1 and len({v["a.max_features"] for v in drawn}) > 1
    assert len(result.trials) == 12


def test_trial_zero_is_exactly_the_untuned_configuration_even_with_many_digits():
    # A drawn value must never be altered: trial 0 has to be the untuned settings to the last digit.
    result = run(lambda values: (0.5, values), RANGE, {"a.C": 1.23456789}, n_trials=3)
    assert result.untuned_payload == {"a.C": 1.23456789}
    assert result.chosen == result.untuned and result.chose_untuned



def test_an_empty_space_runs_the_untuned_configuration_once():
    calls = []
    result = run(lambda values: (calls.append(values) or 0.7, "model"), {}, {}, n_trials=8)
    assert calls == [{}]
    assert len(result.trials) == 1 and bool(result.trials.loc[0, "untuned"]) and bool(result.trials.loc[0, "chosen"])
    assert result.chosen == result.untuned == {} and result.chose_untuned
    assert result.chosen_payload == result.untuned_payload == "model"


def test_a_search_needs_a_trial():
    with pytest.raises(ValueError, match="at least 1 trial"):
        run(peaked, RANGE, {"a.C": 1.0}, n_trials=0)
