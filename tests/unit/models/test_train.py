"""Tuning, refitting and predicting a registered method on each fold's split, on a small
synthetic dataset (audio carries both labels, text carries the style weakly)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from musicfusion.evaluation.metrics import score
from musicfusion.models.fusion import EarlyFusion, LateFusion, MultiTaskFusion, SingleModality
from musicfusion.models.methods import build_method, parse_method
from musicfusion.models.train import PREDICTION_COLUMNS, Tuning, fit_final, fit_fold, train, typed_predictions

from small_learners import LEARNERS

TASKS = ["style", "instrument"]
STYLES = np.array(["chorale", "folk", "mass"])
INSTRUMENTS = np.array(["organ", "piano"])
SEED = 0
N_CLIPS = 90
TUNING = Tuning(n_trials=4, startup_trials=2, selection_metric="recall_macro")

SINGLE = {"type": "single_modality", "modalities": ["audio"], "learner": "logistic"}
LATE = {"type": "late_fusion", "modalities": ["audio", "text"], "learner": "logistic", "weight_step": 0.25}
MLP_MULTITASK = {"type": "multitask", "modalities": ["audio", "text"], "learner": "mlp", "block_scaling": True}
MLP_SINGLE_TASK = dict(MLP_MULTITASK, type="early_fusion")
TIMES = ["seconds", "search_seconds"]  # wall-clock columns of the trials: they alone may differ


def make_dataset(seed: int = SEED, n: int = N_CLIPS) -> tuple[dict, pd.DataFrame]:
    """Features per modality and the clip table: 3/5 train, 1/5 validation, 1/5 test."""
    rng = np.random.default_rng(seed)
    style = np.arange(n) % 3
    instrument = rng.integers(0, 2, n)
    audio = np.hstack([2.0 * np.eye(3)[style], 2.0 * instrument[:, None]]) + rng.normal(size=(n, 4))
    text = 0.8 * np.eye(3)[style] + rng.normal(size=(n, 3))
    X = {"audio": audio.astype(np.float32), "text": text.astype(np.float32),
         "video": rng.normal(size=(n, 2)).astype(np.float32)}
    split = np.array(["train", "train", "train", "validation", "test"])[(np.arange(n) // 3) % 5]
    clips = pd.DataFrame({"clip_id": [f"clip{i:03d}" for i in range(n)], "split": split,
                          "style": STYLES[style], "instrument": INSTRUMENTS[instrument]})
    return X, clips


def other_split(clips: pd.DataFrame, seed: int) -> pd.DataFrame:
    """The same clips with the split column shuffled (as another fold would have)."""
    return clips.assign(split=np.random.default_rng(seed).permutation(clips["split"].to_numpy()))


def fold_clips(clips: pd.DataFrame, index: int) -> pd.DataFrame:
    """Fold ``index``'s clip table, with the columns musicfusion.data.splits.cv_split adds."""
    split = clips if index == 0 else other_split(clips, SEED + index)
    return split.assign(repetition=index // 2, fold=index % 2)


def folds(n: int):
    """A generator of (X, clips) per fold, as workflow code feeds train()."""
    X, clips = make_dataset()
    for index in range(n):
        yield X, fold_clips(clips, index)


def subset(X: dict, mask) -> dict:
    return {m: x[np.asarray(mask)] for m, x in X.items()}


def split_mask(clips: pd.DataFrame, *splits: str) -> np.ndarray:
    return clips["split"].isin(splits).to_numpy()


def rows_of(table: pd.DataFrame, task: str, split: str | None = None, configuration: str = "tuned") -> pd.DataFrame:
    rows = table[(table["task"] == task) & (table["configuration"] == configuration)]
    return rows if split is None else rows[rows["split"] == split]


def chosen_values(trials: pd.DataFrame, task: str) -> dict:
    [settings] = trials.loc[(trials["task"] == task) & trials["chosen"], "settings"]
    return json.loads(settings)


def without_times(trials: pd.DataFrame) -> pd.DataFrame:
    return trials.drop(columns=TIMES)


@pytest.fixture(scope="module")
def dataset():
    return make_dataset()


@pytest.fixture(scope="module")
def single_fold(dataset):
    X, clips = dataset
    return fit_fold(parse_method(SINGLE, LEARNERS), TASKS, X, clips, SEED, TUNING)


def test_predictions_cover_validation_and_test_clips_for_every_task_and_configuration(dataset, single_fold):
    X, clips = dataset
    table = single_fold.predictions
    assert list(table.columns) == PREDICTION_COLUMNS
    kept = clips[split_mask(clips, "validation", "test")]
    assert len(table) == len(kept) * len(TASKS) * 2  # tuned and untuned
    assert set(table["split"]) == {"validation", "test"}
    assert set(table["configuration"]) == {"tuned", "untuned"}
    for task in TASKS:
        for configuration in ("tuned", "untuned"):
            rows = rows_of(table, task, configuration=configuration).sort_values("clip_id")
            assert rows["clip_id"].tolist() == kept["clip_id"].tolist()
            assert rows["split"].tolist() == kept["split"].tolist()
            assert rows["true"].tolist() == kept[task].tolist()
    assert not set(table["clip_id"]) & set(clips.loc[clips["split"] == "train", "clip_id"])


def test_predictions_are_the_models_predictions_and_their_probability(dataset, single_fold):
    X, clips = dataset
    models, table, trials = single_fold.models, single_fold.predictions, single_fold.trials
    assert models["style"] is not models["instrument"]
    assert all(isinstance(m, SingleModality) for m in models.values())
    test, val, train_rows = split_mask(clips, "test"), split_mask(clips, "validation"), split_mask(clips, "train")
    for task in TASKS:
        assert list(models[task].classes_) == sorted(clips[task].unique())  # fitted on this task
        # test rows: the kept (tuned, refitted) model's predictions and their probability
        rows = rows_of(table, task, "test")
        assert rows["predicted"].tolist() == models[task].predict(subset(X, test)).tolist()
        best = models[task].predict_proba(subset(X, test)).max(axis=1)
        assert rows["confidence"].to_numpy() == pytest.approx(best, abs=1e-6)
        # validation rows: the chosen configuration fitted on the training clips (as in the search)
        searched = build_method(SINGLE, SEED, LEARNERS, chosen_values(trials, task))
        searched.fit(subset(X, train_rows), clips.loc[train_rows, task].to_numpy())
        rows = rows_of(table, task, "validation")
        assert rows["predicted"].tolist() == searched.predict(subset(X, val)).tolist()
        best = searched.predict_proba(subset(X, val)).max(axis=1)
        assert rows["confidence"].to_numpy() == pytest.approx(best, abs=1e-6)
    # audio carries both labels: well above chance on the held-out clips
    for task in TASKS:
        rows = rows_of(table, task)
        assert (rows["predicted"] == rows["true"]).mean() > 0.8


def test_test_predictions_come_from_a_refit_on_training_and_validation_clips(dataset, single_fold):
    X, clips = dataset
    fitting = split_mask(clips, "train", "validation")
    for task in TASKS:
        scaler = single_fold.models[task].models_["audio"][0]
        assert scaler.n_samples_seen_ == fitting.sum()
        assert scaler.mean_ == pytest.approx(X["audio"][fitting].mean(axis=0), abs=1e-5)
        assert single_fold.models[task].learners["audio"]["C"] == chosen_values(single_fold.trials, task)["audio.C"]
        # the untuned configuration is refitted on the same clips and scores the same test clips
        untuned = build_method(SINGLE, SEED, LEARNERS).fit(subset(X, fitting), clips.loc[fitting, task].to_numpy())
        rows = rows_of(single_fold.predictions, task, "test", "untuned")
        assert rows["predicted"].tolist() == untuned.predict(subset(X, split_mask(clips, "test"))).tolist()


def test_a_final_model_keeps_the_folds_choice_and_refits_on_every_labelled_clip(dataset, single_fold):
    X, clips = dataset
    clips = clips.assign(style=clips["style"].where(clips.index != 0, ""))  # one clip unlabelled for style
    models, validation = fit_final(parse_method(SINGLE, LEARNERS), TASKS, X, clips, SEED, TUNING)
    fold = fit_fold(parse_method(SINGLE, LEARNERS), TASKS, X, clips, SEED, TUNING)
    for task in TASKS:
        labelled = (clips[task] != "").to_numpy()
        scaler = models[task].models_["audio"][0]
        assert scaler.n_samples_seen_ == labelled.sum()  # test clips included; the unlabelled clip not
        assert scaler.mean_ == pytest.approx(X["audio"][labelled].mean(axis=0), abs=1e-5)
        # The same search on the same split chooses the same configuration as a fold does.
        assert models[task].learners["audio"]["C"] == chosen_values(fold.trials, task)["audio.C"]
    # Its validation predictions are the search's; a final model has seen the test clips and scores none.
    assert set(validation["split"]) == {"validation"}
    pd.testing.assert_frame_equal(validation.reset_index(drop=True),
                                  fold.predictions[fold.predictions["split"] == "validation"].reset_index(drop=True))


def test_each_task_has_its_own_search_starting_untuned(single_fold):
    trials = single_fold.trials
    assert set(trials["task"]) == set(TASKS)
    for task in TASKS:
        own = trials[trials["task"] == task]
        assert own["trial"].tolist() == list(range(TUNING.n_trials))
        assert json.loads(own["settings"].iloc[0]) == {"audio.C": LEARNERS["logistic"]["settings"]["C"]}
        assert own["untuned"].tolist() == [True] + [False] * (TUNING.n_trials - 1)
        assert own["chosen"].sum() == 1
        assert own["search_seconds"].nunique() == 1 and own["search_seconds"].iloc[0] > 0


def test_the_validation_rows_score_what_the_search_recorded(dataset, single_fold):
    for task in TASKS:
        own = single_fold.trials[single_fold.trials["task"] == task]
        for configuration, flag in (("tuned", "chosen"), ("untuned", "untuned")):
            rows = rows_of(single_fold.predictions, task, "validation", configuration)
            recorded = own.loc[own[flag], "validation_score"].item()
            assert score("recall_macro", rows["true"], rows["predicted"]) == pytest.approx(recorded)


def test_the_tuned_configuration_never_scores_below_the_untuned_on_validation():
    _, predictions, trials = train(parse_method(LATE, LEARNERS), TASKS, folds(3), SEED, TUNING)
    for (fold, task), own in trials.groupby(["fold", "task"]):
        assert own["untuned"].iloc[0] and own["trial"].iloc[0] == 0
        untuned = own.loc[own["untuned"], "validation_score"].item()
        chosen = own.loc[own["chosen"], "validation_score"].item()
        assert chosen >= untuned and chosen == own["validation_score"].max(), (fold, task)
        val = predictions[(predictions["fold"] == fold) & (predictions["task"] == task)
                          & (predictions["split"] == "validation")]
        by_configuration = {c: score("recall_macro", g["true"], g["predicted"])
                            for c, g in val.groupby("configuration")}
        assert by_configuration["tuned"] >= by_configuration["untuned"], (fold, task)


def test_one_trial_keeps_the_untuned_configuration(dataset):
    X, clips = dataset
    result = fit_fold(parse_method(SINGLE, LEARNERS), TASKS, X, clips, SEED, Tuning(1, 1, "recall_macro"))
    assert len(result.trials) == len(TASKS) and result.trials["chosen"].all() and result.trials["untuned"].all()
    table = result.predictions
    tuned, untuned = (table[table["configuration"] == c].drop(columns="configuration").reset_index(drop=True)
                      for c in ("tuned", "untuned"))
    pd.testing.assert_frame_equal(tuned, untuned)


def test_validation_only_stops_after_the_search(dataset, single_fold):
    X, clips = dataset
    result = fit_fold(parse_method(SINGLE, LEARNERS), TASKS, X, clips, SEED, TUNING, test=False)
    assert set(result.predictions["split"]) == {"validation"}
    assert set(result.predictions["configuration"]) == {"tuned", "untuned"}
    full = single_fold.predictions
    expected = full[full["split"] == "validation"].sort_values(["task", "configuration", "clip_id"])
    got = result.predictions.sort_values(["task", "configuration", "clip_id"])
    pd.testing.assert_frame_equal(got.reset_index(drop=True), expected.reset_index(drop=True))
    pd.testing.assert_frame_equal(without_times(result.trials), without_times(single_fold.trials))


def test_multitask_mlp_is_one_shared_model_and_one_search_for_all_tasks(dataset):
    X, clips = dataset
    result = fit_fold(parse_method(MLP_MULTITASK, LEARNERS), TASKS, X, clips, SEED, TUNING)
    models, table, trials = result.models, result.predictions, result.trials
    assert isinstance(models["style"], MultiTaskFusion)
    assert models["style"] is models["instrument"]
    model = models["style"]
    assert [list(c) for c in model.classes_] == [list(STYLES), list(INSTRUMENTS)]  # tasks in order
    assert list(table.columns) == PREDICTION_COLUMNS
    test = split_mask(clips, "test")
    joint = model.predict(subset(X, test))
    for t, task in enumerate(TASKS):
        for configuration in ("tuned", "untuned"):
            rows = rows_of(table, task, configuration=configuration)
            assert sorted(rows["clip_id"]) == sorted(clips.loc[split_mask(clips, "validation", "test"), "clip_id"])
            assert set(rows["predicted"]) <= set(clips[task])
            assert ((rows["confidence"] > 0) & (rows["confidence"] <= 1)).all()
        assert rows_of(table, task, "test")["predicted"].tolist() == joint[:, t].tolist()
    # one search for both tasks, scored on the mean of their validation scores
    assert set(trials["task"]) == {"style+instrument"}
    assert trials["trial"].tolist() == list(range(TUNING.n_trials))
    assert sorted(json.loads(trials["settings"].iloc[0])) == ["joint.alpha", "joint.dropout"]
    means = np.mean([score("recall_macro", r["true"], r["predicted"])
                     for r in (rows_of(table, task, "validation") for task in TASKS)])
    assert trials.loc[trials["chosen"], "validation_score"].item() == pytest.approx(means)
    assert model.model_[0].n_samples_seen_ == split_mask(clips, "train", "validation").sum()


def test_single_task_mlp_gets_one_model_and_one_search_per_task(dataset):
    X, clips = dataset
    result = fit_fold(parse_method(MLP_SINGLE_TASK, LEARNERS), TASKS, X, clips, SEED, Tuning(2, 1, "recall_macro"))
    models = result.models
    assert isinstance(models["style"], EarlyFusion) and not models["style"].multitask
    assert models["style"] is not models["instrument"]
    assert list(models["instrument"].classes_) == list(INSTRUMENTS)
    assert sorted(result.trials["task"].unique()) == sorted(TASKS)


def test_selection_metric_reaches_late_fusion(dataset):
    """The metric chooses the modality weights (inside each trial) and the trial; the refitted
    model keeps the weights chosen on validation."""
    X, clips = dataset
    train_rows, val = split_mask(clips, "train"), split_mask(clips, "validation")
    y_val = clips.loc[val, "instrument"].to_numpy()
    scores = {}
    for metric in ("accuracy", "recall_macro"):
        result = fit_fold(parse_method(LATE, LEARNERS), ["instrument"], X, clips, SEED, Tuning(4, 2, metric))
        refitted = result.models["instrument"]
        assert isinstance(refitted, LateFusion)
        assert refitted.selection_metric == metric
        # the chosen trial's model, as the search fitted it on the training clips
        searched = build_method(LATE, SEED, LEARNERS, chosen_values(result.trials, "instrument"))
        searched.set_params(selection_metric=metric)
        searched.fit(subset(X, train_rows), clips.loc[train_rows, "instrument"].to_numpy(), subset(X, val), y_val)
        assert refitted.weights_ == searched.weights_ and refitted.val_score_ is None
        assert searched.val_score_ == pytest.approx(score(metric, y_val, searched.predict(subset(X, val))))
        chosen = result.trials.loc[result.trials["chosen"], "validation_score"].item()
        assert chosen == pytest.approx(searched.val_score_)
        predicted = searched.predict(subset(X, val))
        scores[metric] = (score("accuracy", y_val, predicted), score("recall_macro", y_val, predicted))
    # instrument is unbalanced on the validation split, so the two metrics differ
    assert scores["accuracy"][0] != pytest.approx(scores["accuracy"][1])
    # methods without the setting are built as usual
    single = fit_fold(parse_method(SINGLE, LEARNERS), ["style"], X, clips, SEED, Tuning(1, 1, "accuracy")).models["style"]
    assert "selection_metric" not in single.get_params()


def test_train_passes_the_selection_metric_on():
    models, _, _ = train(parse_method(LATE, LEARNERS), TASKS, folds(1), SEED, Tuning(2, 1, "f1_macro"))
    assert {m.selection_metric for m in models[0].values()} == {"f1_macro"}


def test_train_over_three_folds_keeps_every_folds_models():
    models, predictions, trials = train(parse_method(SINGLE, LEARNERS), TASKS, folds(3), SEED, TUNING)
    assert list(predictions.columns) == ["repetition", "fold", *PREDICTION_COLUMNS, "n_train"]
    assert sorted(predictions["fold"].unique()) == [0, 1, 2]
    assert predictions.groupby("fold")["repetition"].first().tolist() == [0, 0, 1]
    assert trials.groupby("fold")["repetition"].first().tolist() == [0, 0, 1]
    assert (trials.groupby(["fold", "task"]).size() == TUNING.n_trials).all()
    X, clips = make_dataset()
    kept = {}
    for index in range(3):
        fold = fold_clips(clips, index)
        expected = fit_fold(parse_method(SINGLE, LEARNERS), TASKS, X, fold, SEED, TUNING)
        kept[index] = expected.models["style"]
        got = predictions[predictions["fold"] == index]
        # validation rows: models fitted on the training clips; test rows: refitted on training and validation
        n_train, n_val = int((fold["split"] == "train").sum()), int((fold["split"] == "validation").sum())
        assert (got.loc[got["split"] == "validation", "n_train"] == n_train).all()
        assert (got.loc[got["split"] == "test", "n_train"] == n_train + n_val).all()
        got = got.drop(columns=["repetition", "fold", "n_train"]).reset_index(drop=True)
        pd.testing.assert_frame_equal(got, expected.predictions)
        own = trials[trials["fold"] == index].drop(columns=["repetition", "fold"]).reset_index(drop=True)
        pd.testing.assert_frame_equal(without_times(own), without_times(expected.trials))
    # the kept models are each fold's own, in fold order
    assert len(models) == 3
    for index in range(3):
        coef = models[index]["style"].models_["audio"][-1].coef_
        assert np.array_equal(coef, kept[index].models_["audio"][-1].coef_)
    assert not np.allclose(models[0]["style"].models_["audio"][-1].coef_, kept[2].models_["audio"][-1].coef_)


def test_typed_predictions_read_back_one_configuration_with_integer_columns():
    _, predictions, _ = train(parse_method(SINGLE, LEARNERS), TASKS, folds(2), SEED, TUNING)
    on_disk = predictions.astype(str)
    for configuration in ("tuned", "untuned"):
        typed = typed_predictions(on_disk, configuration)
        expected = predictions[predictions["configuration"] == configuration].reset_index(drop=True)
        assert set(typed["configuration"]) == {configuration}
        pd.testing.assert_frame_equal(typed[["repetition", "fold", "n_train"]],
                                      expected[["repetition", "fold", "n_train"]])
        assert typed["clip_id"].tolist() == expected["clip_id"].tolist()
    pd.testing.assert_frame_equal(typed_predictions(on_disk), typed_predictions(on_disk, "tuned"))  # the default
    with pytest.raises(ValueError, match="configuration"):
        typed_predictions(on_disk, "best")


def test_train_is_deterministic_for_a_seed():
    _, first, first_trials = train(parse_method(MLP_MULTITASK, LEARNERS), TASKS, folds(2), SEED, TUNING)
    _, again, again_trials = train(parse_method(MLP_MULTITASK, LEARNERS), TASKS, folds(2), SEED, TUNING)
    pd.testing.assert_frame_equal(first, again)
    pd.testing.assert_frame_equal(without_times(first_trials), without_times(again_trials))
    _, late, late_trials = train(parse_method(LATE, LEARNERS), TASKS, folds(2), SEED, TUNING)
    _, late_again, late_trials_again = train(parse_method(LATE, LEARNERS), TASKS, folds(2), SEED, TUNING)
    pd.testing.assert_frame_equal(late, late_again)
    pd.testing.assert_frame_equal(without_times(late_trials), without_times(late_trials_again))
    _, reseeded, reseeded_trials = train(parse_method(MLP_MULTITASK, LEARNERS), TASKS, folds(2), SEED + 1, TUNING)
    assert not np.array_equal(first["confidence"].to_numpy(), reseeded["confidence"].to_numpy())
    # the seed also seeds the search: other configurations are drawn after the untuned one
    drawn = first_trials["trial"] > 0
    assert first_trials.loc[drawn, "settings"].tolist() != reseeded_trials.loc[drawn, "settings"].tolist()


def test_unlabelled_clips_are_left_out_of_that_task_only(dataset):
    X, clips = dataset
    unlabelled = clips["clip_id"].isin(["clip000", "clip009", "clip012", "clip014"])  # train, val, test rows
    partial = clips.assign(style=np.where(unlabelled, "", clips["style"]))
    result = fit_fold(parse_method(SINGLE, LEARNERS), TASKS, X, partial, SEED, TUNING)
    models = result.models
    fitting = partial["split"].isin(["train", "validation"])
    trained_on = int((fitting & (partial["style"] != "")).sum())
    assert models["style"].models_["audio"][-1].n_features_in_ == X["audio"].shape[1]
    assert models["style"].models_["audio"][0].n_samples_seen_ == trained_on
    assert models["instrument"].models_["audio"][0].n_samples_seen_ == int(fitting.sum())
    table = result.predictions
    style_rows = table[table["task"] == "style"]
    assert not set(style_rows["clip_id"]) & set(partial.loc[unlabelled, "clip_id"])
    assert "" not in set(style_rows["true"])
    instrument_rows = table[table["task"] == "instrument"]
    assert set(partial.loc[unlabelled & partial["split"].isin(["validation", "test"]), "clip_id"]) <= set(
        instrument_rows["clip_id"])
    # a multi-task model learns from the clips labelled for every task
    multi = fit_fold(parse_method(MLP_MULTITASK, LEARNERS), TASKS, X, partial, SEED, Tuning(1, 1, "recall_macro")).models["style"]
    assert multi.classes_[0].tolist() == sorted(set(STYLES))
    assert multi.model_[0].n_samples_seen_ == trained_on
