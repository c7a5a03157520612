"""Fusion against the best single modality and modalities against their controls, on
constructed predictions with known accuracy."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from musicfusion.evaluation.compare import (
    SIGNIFICANCE_COLUMNS,
    Comparison,
    best_single_modality,
    compare,
    comparison_table,
    control_of,
)
from musicfusion.evaluation.stats import corrected_resampled_t, holm

CLASSES = np.array(["a", "b", "c"])
N_FOLDS = 6  # 2 repetitions x 3 folds
N_TEST = 30  # test clips per fold
N_VAL = 30
N_TRAIN = 60
SEED = 0
SETTINGS = {"selection_metric": "recall_macro", "confidence": 0.95}

METHODS = {
    "audio_only": {"type": "single_modality", "modalities": ["audio"], "learner": "logistic"},
    "video_only": {"type": "single_modality", "modalities": ["video"], "learner": "logistic"},
    "audio_control": {"type": "control", "modalities": ["audio"], "learner": "logistic"},
    "late_fusion": {"type": "late_fusion", "modalities": ["audio", "video", "text"], "learner": "logistic",
                    "weight_step": 0.1},
    "copycat": {"type": "early_fusion", "modalities": ["audio", "text"], "learner": "logistic"},
}


def validation_metrics(scores: dict[str, dict[str, float]]) -> dict:
    """metrics.json-like dicts: method -> task -> split -> metric, from validation recall."""
    return {m: {task: {"validation": {"recall_macro": v, "accuracy": v}, "test": {"recall_macro": 0.0}}
                for task, v in by_task.items()}
            for m, by_task in scores.items()}


def clip_frame() -> pd.DataFrame:
    """The validation and test clips of every fold, with their true class."""
    parts = []
    for fold in range(N_FOLDS):
        for split, n in (("validation", N_VAL), ("test", N_TEST)):
            parts.append(pd.DataFrame({"repetition": fold // 3, "fold": fold,
                                       "clip_id": [f"{split[0]}{fold}-{i:03d}" for i in range(n)],
                                       "split": split, "true": CLASSES[np.arange(n) % 3], "n_train": N_TRAIN}))
    return pd.concat(parts, ignore_index=True)


def predicted_with_accuracy(clips: pd.DataFrame, accuracy: float, rng: np.random.Generator) -> np.ndarray:
    """Correct on a random fraction ``accuracy`` of the clips, otherwise the next class."""
    correct = rng.random(len(clips)) < accuracy
    true = clips["true"].to_numpy()
    wrong = CLASSES[(np.searchsorted(CLASSES, true) + 1) % 3]
    return np.where(correct, true, wrong)


COLUMNS = ["repetition", "fold", "clip_id", "split", "configuration", "task", "true", "predicted", "confidence",
           "n_train"]


def prediction_table(clips: pd.DataFrame, predicted: np.ndarray, task: str, rng: np.random.Generator,
                     configuration: str = "tuned") -> pd.DataFrame:
    """predictions.csv content of one configuration for one task, rows in a shuffled order
    (compare must sort them)."""
    frame = clips.assign(task=task, predicted=predicted, confidence=np.round(rng.random(len(clips)), 6),
                         configuration=configuration)
    frame = frame[COLUMNS]
    return frame.iloc[rng.permutation(len(frame))].reset_index(drop=True)


def with_untuned(predictions: dict[str, pd.DataFrame], rng: np.random.Generator) -> dict[str, pd.DataFrame]:
    """Each method's predictions.csv: its (tuned) rows and untuned rows that are always wrong."""
    out = {}
    for name, frame in predictions.items():
        wrong = CLASSES[(np.searchsorted(CLASSES, frame["true"].to_numpy()) + 1) % 3]
        untuned = frame.assign(configuration="untuned", predicted=wrong)
        out[name] = pd.concat([frame, untuned], ignore_index=True).iloc[rng.permutation(2 * len(frame))]
    return out


@pytest.fixture(scope="module")
def constructed():
    """audio_only (55 % right) is the best single modality; late_fusion is right 95 % of the
    time; copycat predicts exactly what audio_only predicts; the audio control is at chance."""
    rng = np.random.default_rng(SEED)
    clips = clip_frame()
    audio = predicted_with_accuracy(clips, 0.55, rng)
    predictions = {
        "audio_only": prediction_table(clips, audio, "style", rng),
        "video_only": prediction_table(clips, predicted_with_accuracy(clips, 0.4, rng), "style", rng),
        "audio_control": prediction_table(clips, predicted_with_accuracy(clips, 1 / 3, rng), "style", rng),
        "late_fusion": prediction_table(clips, predicted_with_accuracy(clips, 0.95, rng), "style", rng),
        "copycat": prediction_table(clips, audio, "style", rng),
    }
    metrics = validation_metrics({"audio_only": {"style": 0.6}, "video_only": {"style": 0.4},
                                  "audio_control": {"style": 0.95}, "late_fusion": {"style": 0.9},
                                  "copycat": {"style": 0.6}})
    return predictions, metrics


def run(predictions, metrics, methods=METHODS):
    return comparison_table(predictions, metrics, methods, ["style"], "recall_macro", 0.95)


def as_read_from_csv(predictions: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    return {name: frame.astype(str) for name, frame in predictions.items()}


def test_best_single_modality_picks_the_highest_validation_score_and_never_a_control():
    metrics = validation_metrics({"audio_only": {"style": 0.5, "instrument": 0.9},
                                  "video_only": {"style": 0.7, "instrument": 0.3},
                                  "audio_control": {"style": 0.99, "instrument": 0.99},
                                  "late_fusion": {"style": 0.99, "instrument": 0.99},
                                  "copycat": {"style": 0.99, "instrument": 0.99}})
    # neither fusion methods nor controls count as the baseline, however well they score
    assert best_single_modality(METHODS, metrics, "style", "recall_macro") == "video_only"
    assert best_single_modality(METHODS, metrics, "instrument", "recall_macro") == "audio_only"


def test_best_single_modality_uses_the_selection_metric_and_breaks_ties_by_params_order():
    metrics = validation_metrics({m: {"style": 0.5} for m in METHODS})
    assert best_single_modality(METHODS, metrics, "style", "recall_macro") == "audio_only"
    video_first = {"video_only": METHODS["video_only"], "audio_only": METHODS["audio_only"]}
    assert best_single_modality(video_first, metrics, "style", "recall_macro") == "video_only"
    metrics["audio_only"]["style"]["validation"].update(recall_macro=0.8, accuracy=0.2)
    metrics["video_only"]["style"]["validation"].update(recall_macro=0.3, accuracy=0.7)
    assert best_single_modality(METHODS, metrics, "style", "recall_macro") == "audio_only"
    assert best_single_modality(METHODS, metrics, "style", "accuracy") == "video_only"


def test_best_single_modality_needs_a_single_modality_method():
    no_single = {m: p for m, p in METHODS.items() if m not in ("audio_only", "video_only")}
    metrics = validation_metrics({m: {"style": 0.5} for m in no_single})
    with pytest.raises(ValueError, match="single-modality"):
        best_single_modality(no_single, metrics, "style", "recall_macro")


def test_a_modality_is_compared_with_the_control_of_the_same_modality():
    assert control_of(METHODS, "audio_only") == "audio_control"
    assert control_of(METHODS, "video_only") is None  # no video control configured
    # A further feature set of the audio (a learned one) is compared with the audio's shortcut control.
    learned = {**METHODS, "audio_pitch_cnn": {"type": "single_modality", "modalities": ["audio.pitch_cnn"],
                                              "learner": "logistic"}}
    assert control_of(learned, "audio_pitch_cnn") == "audio_control"


def test_clearly_better_fusion_is_significant_after_correction(constructed):
    predictions, metrics = constructed
    table, _ = run(predictions, metrics)
    assert list(table.columns) == SIGNIFICANCE_COLUMNS
    assert table[["comparison", "method"]].values.tolist() == [
        ["modality_vs_control", "audio_only"],
        ["fusion_vs_best_single", "late_fusion"], ["fusion_vs_best_single", "copycat"]]
    row = table.set_index("method").loc["late_fusion"]
    assert row["baseline"] == "audio_only"
    assert row["modalities"] == "audio+video+text"
    assert row["gain"] == pytest.approx(row["recall_macro"] - row["baseline_recall_macro"], abs=2e-4)
    assert row["gain"] > 0.25
    assert row["gain_ci_low"] > 0 and row["gain_ci_low"] <= row["gain"] <= row["gain_ci_high"]
    assert row["p_raw"] < 0.01 and row["p_raw"] <= row["p_holm"] < 0.05
    assert row["df"] == N_FOLDS - 1 and row["n_folds"] == N_FOLDS
    assert bool(row["significant"]) is True
    control = table.set_index("method").loc["audio_only"]
    assert control["baseline"] == "audio_control" and control["gain"] > 0.1


def test_the_gain_and_its_test_match_a_hand_computation(constructed):
    predictions, metrics = constructed
    table, _ = run(predictions, metrics)
    row = table.set_index("method").loc["late_fusion"]

    def per_fold_macro_recall(frame):
        test = frame[frame["split"] == "test"]
        hits = (test["predicted"] == test["true"]).groupby([test["fold"], test["true"]]).mean()
        return hits.groupby(level=0).mean().sort_index().to_numpy()

    ours, base = per_fold_macro_recall(predictions["late_fusion"]), per_fold_macro_recall(predictions["audio_only"])
    assert row["recall_macro"] == pytest.approx(ours.mean(), abs=1e-4)
    expected = corrected_resampled_t(ours - base, N_TEST / N_TRAIN, 0.95)
    assert row["t"] == pytest.approx(expected["t"], abs=1e-3)
    assert row["p_raw"] == pytest.approx(expected["p_value"], abs=1e-4)
    assert row["gain_ci_low"] == pytest.approx(expected["ci_low"], abs=1e-4)
    # the plain t-test over folds (ratio 0) would give a narrower interval
    plain = corrected_resampled_t(ours - base, 0.0, 0.95)
    assert plain["ci_high"] - plain["ci_low"] < row["gain_ci_high"] - row["gain_ci_low"]


def test_holm_is_applied_across_the_whole_table(constructed):
    predictions, metrics = constructed
    table, _ = run(predictions, metrics)
    np.testing.assert_allclose(table["p_holm"], np.round(holm(table["p_raw"].to_numpy()), 4), atol=1e-4)
    assert (table["p_holm"] >= table["p_raw"]).all()
    assert (table["significant"] == (table["p_holm"] < 0.05)).all()


def test_identical_predictions_give_no_gain(constructed):
    predictions, metrics = constructed
    table, per_class = run(predictions, metrics)
    row = table.set_index("method").loc["copycat"]
    assert row["gain"] == 0.0
    assert row["gain_ci_low"] == 0.0 and row["gain_ci_high"] == 0.0
    assert row["p_raw"] == 1.0 and row["p_holm"] == 1.0
    assert bool(row["significant"]) is False
    assert (per_class.loc[per_class["method"] == "copycat", "gain"] == 0.0).all()


def test_methods_tested_on_different_clips_are_compared_on_the_clips_both_have(constructed):
    """A method is tested on the clips that have its modalities: comparisons use the common ones."""
    predictions, metrics = constructed
    table, _ = run(predictions, metrics)
    assert (table["n_clips"] == N_TEST * N_FOLDS).all()  # every test clip of every fold
    fewer = dict(predictions)
    frame = predictions["late_fusion"]
    fewer["late_fusion"] = frame.drop(index=frame.index[frame["split"] == "test"][:5])
    row = run(fewer, metrics)[0].set_index("method").loc["late_fusion"]
    assert row["n_clips"] == N_TEST * N_FOLDS - 5 and row["n_folds"] == N_FOLDS
    renamed = dict(predictions)
    renamed["late_fusion"] = frame.assign(clip_id="x" + frame["clip_id"])
    with pytest.raises(ValueError, match="late_fusion and audio_only share no test clip"):
        run(renamed, metrics)


def test_per_class_table_has_one_row_per_class_and_fusion_method(constructed):
    predictions, metrics = constructed
    _, per_class = run(predictions, metrics)
    assert len(per_class) == len(CLASSES) * 2
    assert set(per_class.groupby(["method", "class"]).size()) == {1}
    assert set(per_class["method"]) == {"late_fusion", "copycat"}
    assert (per_class["baseline"] == "audio_only").all()
    assert per_class["gain"].to_numpy() == pytest.approx(
        (per_class["recall"] - per_class["baseline_recall"]).to_numpy(), abs=2e-4)
    test = predictions["late_fusion"].query("split == 'test'")
    by_hand = (test["predicted"] == test["true"]).groupby([test["true"], test["fold"]]).mean().groupby(level=0).mean()
    got = per_class[per_class["method"] == "late_fusion"].set_index("class")["recall"]
    assert got.to_dict() == pytest.approx(by_hand.to_dict(), abs=1e-4)


def test_the_baseline_is_chosen_per_task():
    rng = np.random.default_rng(SEED)
    clips = clip_frame()
    methods = {m: METHODS[m] for m in ("audio_only", "video_only", "late_fusion")}
    predictions = {m: pd.concat([prediction_table(clips, predicted_with_accuracy(clips, 0.6, rng), task, rng)
                                 for task in ("style", "instrument")], ignore_index=True) for m in methods}
    metrics = validation_metrics({"audio_only": {"style": 0.8, "instrument": 0.2},
                                  "video_only": {"style": 0.3, "instrument": 0.6},
                                  "late_fusion": {"style": 0.5, "instrument": 0.5}})
    table, per_class = comparison_table(predictions, metrics, methods, ["style", "instrument"], "recall_macro", 0.95)
    assert table[["task", "baseline"]].values.tolist() == [["style", "audio_only"], ["instrument", "video_only"]]
    assert per_class.groupby("task")["baseline"].unique().map(list).to_dict() == {
        "style": ["audio_only"], "instrument": ["video_only"]}


def test_compare_reads_string_columns_and_returns_a_figure(constructed):
    predictions, metrics = constructed
    result = compare(as_read_from_csv(predictions), metrics, METHODS, ["style"], SETTINGS)
    assert isinstance(result, Comparison)
    assert isinstance(result.figure, Figure)
    table, per_class = run(predictions, metrics)  # the same numbers as on typed columns
    pd.testing.assert_frame_equal(result.table, table)
    pd.testing.assert_frame_equal(result.per_class, per_class)


def test_compare_uses_the_tuned_configuration_only(constructed):
    """predictions.csv holds tuned and untuned rows; the comparisons are between tuned methods."""
    predictions, metrics = constructed
    both = with_untuned(predictions, np.random.default_rng(SEED + 1))
    assert {name: set(frame["configuration"]) for name, frame in both.items()} == {
        name: {"tuned", "untuned"} for name in predictions}
    result = compare(as_read_from_csv(both), metrics, METHODS, ["style"], SETTINGS)
    table, per_class = run(predictions, metrics)
    pd.testing.assert_frame_equal(result.table, table)
    pd.testing.assert_frame_equal(result.per_class, per_class)
    assert (result.table["n_clips"] == N_TEST * N_FOLDS).all()  # each clip once, not once per configuration


def test_compare_treats_folds_as_numbers():
    """As text, fold '10' sorts before '2'; per-fold pairing must follow the numbers."""
    rng = np.random.default_rng(SEED)
    clips = clip_frame()
    clips["fold"] = clips["fold"].map({f: f * 4 for f in range(N_FOLDS)})
    methods = {m: METHODS[m] for m in ("audio_only", "late_fusion")}
    predictions = {m: prediction_table(clips, predicted_with_accuracy(clips, 0.7, rng), "style", rng)
                   for m in methods}
    metrics = validation_metrics({m: {"style": 0.5} for m in methods})
    result = compare(as_read_from_csv(predictions), metrics, methods, ["style"], SETTINGS)
    table, _ = comparison_table(predictions, metrics, methods, ["style"], "recall_macro", 0.95)
    pd.testing.assert_frame_equal(result.table, table)
