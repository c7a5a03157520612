"""Absent modalities: every fusion method handles a clip without a modality by design."""

from __future__ import annotations

import numpy as np
import pytest

from musicfusion.evaluation.metrics import NO_PREDICTION, score
from musicfusion.evaluation.stats import macro_recall
from musicfusion.models.fusion import AbsenceImputer, decide, drop_modalities, presence

from fusion_cases import CLASSES, MODS, build, fit_predict, make_split

SEED = 3


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(SEED)
    return {name: make_split(n, rng) for name, n in [("train", 150), ("val", 150), ("test", 300)]}


def without(X: dict, modality: str, rows) -> dict:
    """``X`` with ``modality`` removed (NaN rows) from ``rows``."""
    out = {m: np.array(x, dtype=np.float64) for m, x in X.items()}
    out[modality][rows] = np.nan
    return out


def test_presence_reads_all_nan_rows_as_absent_and_refuses_partial_rows():
    a = np.array([[1.0, 2.0], [np.nan, np.nan], [3.0, 4.0]])
    assert presence([a, a[::-1]]).tolist() == [[True, True], [False, False], [True, True]]
    method = build("single_modality", ["audio"])
    X, y, _ = make_split(30, np.random.default_rng(0))
    X["audio"] = X["audio"].astype(np.float64)
    X["audio"][4, 0] = np.nan
    with pytest.raises(ValueError, match="row 4.*whole row"):
        method.fit(X, y)


def test_decide_gives_no_prediction_for_a_row_of_nan():
    predicted, confidence = decide(np.array([[0.2, 0.8], [np.nan, np.nan]]), np.array(["x", "y"]))
    assert predicted.tolist() == ["y", NO_PREDICTION]
    assert confidence[0] == 0.8 and np.isnan(confidence[1])


def test_no_prediction_is_an_error_for_its_class_and_no_class_of_its_own():
    true = ["a", "a", "b", "b"]
    predicted = ["a", NO_PREDICTION, "b", "b"]
    assert score("recall_macro", true, predicted) == pytest.approx((0.5 + 1.0) / 2)
    assert macro_recall(true, predicted) == pytest.approx((0.5 + 1.0) / 2)
    assert score("accuracy", true, predicted) == 0.75
    assert score("precision_macro", true, predicted) == 1.0  # the unpredicted clip enters no precision


def test_single_modality_gives_no_prediction_without_its_modality(data):
    method = fit_predict(build("single_modality", ["audio"]), data)
    X, y, _ = data["test"]
    proba = method.predict_proba(without(X, "audio", slice(0, 10)))
    assert np.isnan(proba[:10]).all() and np.isfinite(proba[10:]).all()
    assert (method.predict(without(X, "audio", slice(0, 10)))[:10] == NO_PREDICTION).all()
    # and it is fitted on the training clips that have the modality only
    Xtr, ytr, _ = data["train"]
    partial = fit_predict(build("single_modality", ["audio"]), {**data, "train": (without(Xtr, "audio", slice(0, 50)), ytr, None)})
    reference = build("single_modality", ["audio"]).fit({"audio": Xtr["audio"][50:]}, ytr[50:])
    assert np.allclose(partial.predict_proba(X), reference.predict_proba(X))


def test_late_fusion_renormalises_its_weights_over_the_modalities_present(data):
    method = fit_predict(build("late_fusion", weight_step=0.25), data)
    X, _, _ = data["test"]
    # fixed weights so the check is exact
    method.weights_ = {"audio": 0.5, "video": 0.25, "text": 0.25}
    per = method._proba_per_modality(X)
    lost_video = method.predict_proba(without(X, "video", slice(None)))
    assert np.allclose(lost_video, (0.5 * per[0] + 0.25 * per[2]) / 0.75)
    only_video = method.predict_proba(without(without(X, "audio", slice(None)), "text", slice(None)))
    assert np.allclose(only_video, per[1])
    nothing = method.predict_proba({m: np.full_like(x, np.nan, dtype=np.float64) for m, x in X.items()})
    assert np.isnan(nothing).all()
    # a clip keeping only a modality weighted 0 uses it alone (equal weights over what is there)
    method.weights_ = {"audio": 1.0, "video": 0.0, "text": 0.0}
    assert np.allclose(method.predict_proba(without(X, "audio", slice(None)))[:5], (per[1][:5] + per[2][:5]) / 2)


@pytest.mark.parametrize("kind", ["early_fusion", "stacking"])
def test_fusion_predicts_every_clip_whatever_is_absent(data, kind):
    method = fit_predict(build(kind, block_scaling=True) if kind == "early_fusion" else build(kind, cv_folds=3), data)
    X, y, _ = data["test"]
    for modality in MODS:
        predicted = method.predict(without(X, modality, slice(None)))
        assert NO_PREDICTION not in set(predicted) and set(predicted) <= set(CLASSES)
    # losing the informative modality hurts, losing the noise modality does not
    clean = np.mean(method.predict(X) == y)
    assert np.mean(method.predict(without(X, "audio", slice(None))) == y) < clean - 0.2
    assert np.mean(method.predict(without(X, "video", slice(None))) == y) > clean - 0.05


def test_absence_imputer_fills_the_training_mean_and_indicates_only_modalities_absent_in_training():
    X = np.array([[1.0, 2.0, 3.0], [np.nan, np.nan, 5.0], [0.5, 0.5, 1.0]])
    imputer = AbsenceImputer((2, 1)).fit(X)
    assert imputer.indicated_.tolist() == [0]
    assert imputer.transform(X).tolist() == [[1.0, 2.0, 3.0, 0.0], [0.0, 0.0, 5.0, 1.0], [0.5, 0.5, 1.0, 0.0]]
    clean = AbsenceImputer((2, 1)).fit(X[[0, 2]])
    assert clean.transform(X).shape == (3, 3)  # no constant indicator column


def test_modality_dropout_never_removes_every_modality_and_is_seeded():
    kept, source = drop_modalities(500, 3, 0.6, random_state=1)
    assert kept.any(axis=1).all() and (~kept.all(axis=1)).all()
    assert 0.4 < kept.mean() < 0.7
    again, source_again = drop_modalities(500, 3, 0.6, random_state=1)
    assert np.array_equal(kept, again) and np.array_equal(source, source_again)


def test_modality_dropout_makes_early_fusion_robust_to_a_lost_modality(data):
    X, y, _ = data["test"]
    lost = without(X, "audio", slice(None))
    plain = fit_predict(build("early_fusion", block_scaling=True), data)
    dropout = fit_predict(build("early_fusion", block_scaling=True, modality_dropout=0.5), data)
    assert len(dropout.model_[-2].indicated_) == 3 and len(plain.model_[-2].indicated_) == 0
    # the text modality carries a weak signal the dropout-trained model learned to lean on alone
    assert np.mean(dropout.predict(lost) == y) >= np.mean(plain.predict(lost) == y)
    # with nothing absent in training, the pipeline adds nothing: refitting gives the same model
    assert np.array_equal(plain.predict_proba(X), fit_predict(build("early_fusion", block_scaling=True), data).predict_proba(X))


def test_stacking_meta_learner_sees_absence_indicators_with_modality_dropout(data):
    method = fit_predict(build("stacking", cv_folds=3, modality_dropout=0.3), data)
    assert method.indicated_.tolist() == [0, 1, 2]
    assert method.meta_.coef_.shape[1] == 3 * len(CLASSES) + 3
    plain = fit_predict(build("stacking", cv_folds=3), data)
    assert plain.indicated_.tolist() == [] and plain.meta_.coef_.shape[1] == 3 * len(CLASSES)


def test_methods_train_on_clips_with_natural_absences(data):
    Xtr, ytr, _ = data["train"]
    rng = np.random.default_rng(0)
    holes = dict(Xtr)
    for modality in MODS:
        holes = without(holes, modality, rng.choice(len(ytr), 20, replace=False))
    for kind in ("single_modality", "early_fusion", "late_fusion", "stacking"):
        method = build(kind, ["audio"] if kind == "single_modality" else MODS,
                       **({"cv_folds": 3} if kind == "stacking" else {}))
        method.fit(holes, ytr, *data["val"][:2])
        assert set(method.predict(data["test"][0])) <= set(CLASSES)
