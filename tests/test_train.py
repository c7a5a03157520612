"""Training a registered method on each fold's split and predicting validation and test clips,
on a small synthetic dataset (audio carries both labels, text carries the style weakly)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from musicfusion.fusion import LateFusion, MLPFusion, SingleModality
from musicfusion.train import PREDICTION_COLUMNS, fit_method, predict_table, train, typed_predictions

TASKS = ["style", "instrument"]
STYLES = np.array(["chorale", "folk", "mass"])
INSTRUMENTS = np.array(["organ", "piano"])
SEED = 0
N_CLIPS = 90

SINGLE = {"type": "single_modality", "modalities": ["audio"], "C": 1.0}
LATE = {"type": "late_fusion", "modalities": ["audio", "text"], "C": 1.0, "weight_step": 0.25}
MLP_MULTITASK = {"type": "mlp", "multitask": True, "modalities": ["audio", "text"], "hidden_layer_sizes": [16],
                 "alpha": 0.001, "max_iter": 100, "block_scaling": True}
MLP_SINGLE_TASK = dict(MLP_MULTITASK, multitask=False)


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
    """Fold ``index``'s clip table, with the columns musicfusion.splits.cv_split adds."""
    split = clips if index == 0 else other_split(clips, SEED + index)
    return split.assign(repetition=index // 2, fold=index % 2)


def folds(n: int):
    """A generator of (X, clips) per fold, as workflow code feeds train()."""
    X, clips = make_dataset()
    for index in range(n):
        yield X, fold_clips(clips, index)


def held_out(clips: pd.DataFrame) -> pd.Series:
    return clips["split"].isin(["validation", "test"]).to_numpy()


@pytest.fixture(scope="module")
def dataset():
    return make_dataset()


def test_predictions_cover_validation_and_test_clips_for_every_task(dataset):
    X, clips = dataset
    models = fit_method(SINGLE, TASKS, X, clips, SEED)
    table = predict_table(models, TASKS, X, clips)
    assert list(table.columns) == PREDICTION_COLUMNS
    kept = clips[held_out(clips)]
    assert len(table) == len(kept) * len(TASKS)
    assert set(table["split"]) == {"validation", "test"}
    for task in TASKS:
        rows = table[table["task"] == task]
        assert rows["clip_id"].tolist() == kept["clip_id"].tolist()
        assert rows["split"].tolist() == kept["split"].tolist()
        assert rows["true"].tolist() == kept[task].tolist()
    assert not set(table["clip_id"]) & set(clips.loc[clips["split"] == "train", "clip_id"])


def test_predictions_are_the_models_predictions_and_their_probability(dataset):
    X, clips = dataset
    models = fit_method(SINGLE, TASKS, X, clips, SEED)
    assert models["style"] is not models["instrument"]
    assert all(isinstance(m, SingleModality) for m in models.values())
    table = predict_table(models, TASKS, X, clips)
    Xs = {m: x[held_out(clips)] for m, x in X.items()}
    for task in TASKS:
        rows = table[table["task"] == task]
        assert list(models[task].classes_) == sorted(clips[task].unique())  # fitted on this task
        assert rows["predicted"].tolist() == models[task].predict(Xs).tolist()
        best = models[task].predict_proba(Xs).max(axis=1)
        assert rows["confidence"].to_numpy() == pytest.approx(best, abs=1e-6)
    # audio carries both labels: well above chance on the held-out clips
    for task in TASKS:
        rows = table[table["task"] == task]
        assert (rows["predicted"] == rows["true"]).mean() > 0.8


def test_models_are_fitted_on_the_training_split_only(dataset):
    X, clips = dataset
    models = fit_method(SINGLE, ["style"], X, clips, SEED)
    train_rows = (clips["split"] == "train").to_numpy()
    scaler = models["style"].models_["audio"][0]
    assert scaler.n_samples_seen_ == train_rows.sum()
    assert scaler.mean_ == pytest.approx(X["audio"][train_rows].mean(axis=0), abs=1e-5)


def test_multitask_mlp_is_one_shared_model_for_all_tasks(dataset):
    X, clips = dataset
    models = fit_method(MLP_MULTITASK, TASKS, X, clips, SEED)
    assert isinstance(models["style"], MLPFusion)
    assert models["style"] is models["instrument"]
    model = models["style"]
    assert [list(c) for c in model.classes_] == [list(STYLES), list(INSTRUMENTS)]  # tasks in order
    table = predict_table(models, TASKS, X, clips)
    assert list(table.columns) == PREDICTION_COLUMNS
    joint = model.predict({m: x[held_out(clips)] for m, x in X.items()})
    for t, task in enumerate(TASKS):
        rows = table[table["task"] == task]
        assert rows["predicted"].tolist() == joint[:, t].tolist()
        assert set(rows["predicted"]) <= set(clips[task])
        assert ((rows["confidence"] > 0) & (rows["confidence"] <= 1)).all()


def test_single_task_mlp_gets_one_model_per_task(dataset):
    X, clips = dataset
    models = fit_method(MLP_SINGLE_TASK, TASKS, X, clips, SEED)
    assert models["style"] is not models["instrument"]
    assert list(models["instrument"].classes_) == list(INSTRUMENTS)


def test_selection_metric_reaches_late_fusion(dataset):
    X, clips = dataset
    chosen = fit_method(LATE, ["instrument"], X, clips, SEED, selection_metric="accuracy")["instrument"]
    default = fit_method(LATE, ["instrument"], X, clips, SEED)["instrument"]
    assert isinstance(chosen, LateFusion)
    assert chosen.selection_metric == "accuracy"
    assert default.selection_metric == "recall_macro"
    # the weights are scored with that metric on the validation split (instrument is unbalanced
    # there, so accuracy and macro recall differ)
    val = (clips["split"] == "validation").to_numpy()
    Xv, y = {m: x[val] for m, x in X.items()}, clips.loc[val, "instrument"].to_numpy()
    accuracy = float(np.mean(chosen.predict(Xv) == y))
    recall = float(np.mean([np.mean(default.predict(Xv)[y == c] == c) for c in INSTRUMENTS]))
    assert accuracy != pytest.approx(recall)
    assert chosen.val_score_ == pytest.approx(accuracy)
    assert default.val_score_ == pytest.approx(recall)
    # methods without the setting are built as usual
    single = fit_method(SINGLE, ["style"], X, clips, SEED, selection_metric="accuracy")["style"]
    assert "selection_metric" not in single.get_params()


def test_train_passes_the_selection_metric_on(dataset):
    models, _ = train(LATE, TASKS, folds(1), SEED, selection_metric="f1_macro")
    assert {m.selection_metric for m in models.values()} == {"f1_macro"}


def test_train_over_three_folds_keeps_fold_zero_models():
    models, predictions = train(SINGLE, TASKS, folds(3), SEED)
    assert list(predictions.columns) == ["repetition", "fold", *PREDICTION_COLUMNS, "n_train"]
    assert sorted(predictions["fold"].unique()) == [0, 1, 2]
    assert predictions.groupby("fold")["repetition"].first().tolist() == [0, 0, 1]
    X, clips = make_dataset()
    for index in range(3):
        fold = fold_clips(clips, index)
        expected = predict_table(fit_method(SINGLE, TASKS, X, fold, SEED), TASKS, X, fold)
        got = predictions[predictions["fold"] == index]
        assert (got["n_train"] == int((fold["split"] == "train").sum())).all()
        got = got.drop(columns=["repetition", "fold", "n_train"]).reset_index(drop=True)
        pd.testing.assert_frame_equal(got, expected)
    # the kept models are those fitted on fold 0's split, not the last fold's
    coef = models["style"].models_["audio"][-1].coef_
    fit0 = fit_method(SINGLE, ["style"], X, fold_clips(clips, 0), SEED)["style"].models_["audio"][-1].coef_
    fit2 = fit_method(SINGLE, ["style"], X, fold_clips(clips, 2), SEED)["style"].models_["audio"][-1].coef_
    assert np.array_equal(coef, fit0)
    assert not np.allclose(coef, fit2)


def test_typed_predictions_read_back_integer_columns_as_numbers():
    _, predictions = train(SINGLE, TASKS, folds(2), SEED)
    typed = typed_predictions(predictions.astype(str))
    pd.testing.assert_frame_equal(typed[["repetition", "fold", "n_train"]],
                                  predictions[["repetition", "fold", "n_train"]])


def test_train_is_deterministic_for_a_seed():
    _, first = train(MLP_MULTITASK, TASKS, folds(2), SEED)
    _, again = train(MLP_MULTITASK, TASKS, folds(2), SEED)
    pd.testing.assert_frame_equal(first, again)
    _, late = train(LATE, TASKS, folds(2), SEED)
    _, late_again = train(LATE, TASKS, folds(2), SEED)
    pd.testing.assert_frame_equal(late, late_again)
    _, reseeded = train(MLP_MULTITASK, TASKS, folds(2), SEED + 1)
    assert not np.array_equal(first["confidence"].to_numpy(), reseeded["confidence"].to_numpy())


def test_unlabelled_clips_are_left_out_of_that_task_only(dataset):
    X, clips = dataset
    unlabelled = clips["clip_id"].isin(["clip000", "clip009", "clip012", "clip014"])  # train, val, test rows
    partial = clips.assign(style=np.where(unlabelled, "", clips["style"]))
    models = fit_method(SINGLE, TASKS, X, partial, SEED)
    trained_on = int(((partial["split"] == "train") & (partial["style"] != "")).sum())
    assert models["style"].models_["audio"][-1].n_features_in_ == X["audio"].shape[1]
    assert models["style"].models_["audio"][0].n_samples_seen_ == trained_on
    assert models["instrument"].models_["audio"][0].n_samples_seen_ == int((clips["split"] == "train").sum())
    table = predict_table(models, TASKS, X, partial)
    style_rows = table[table["task"] == "style"]
    assert not set(style_rows["clip_id"]) & set(partial.loc[unlabelled, "clip_id"])
    assert "" not in set(style_rows["true"])
    instrument_rows = table[table["task"] == "instrument"]
    assert set(partial.loc[unlabelled & partial["split"].isin(["validation", "test"]), "clip_id"]) <= set(
        instrument_rows["clip_id"])
    # a multi-task model learns from the clips labelled for every task
    multi = fit_method(MLP_MULTITASK, TASKS, X, partial, SEED)["style"]
    assert multi.classes_[0].tolist() == sorted(set(STYLES))
