"""Fusion against the best single modality, on constructed predictions with known accuracy."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from musicfusion.compare import SIGNIFICANCE_COLUMNS, Comparison, best_single_modality, compare, compare_to_best_single

CLASSES = np.array(["a", "b", "c"])
REPEATS = 2
N_TEST = 60  # test clips per repeat
N_VAL = 30
SEED = 0
SETTINGS = {"selection_metric": "recall_macro", "bootstrap_samples": 300, "confidence": 0.95}

METHODS = {
    "audio_only": {"type": "single_modality", "modalities": ["audio"], "C": 1.0},
    "video_only": {"type": "single_modality", "modalities": ["video"], "C": 1.0},
    "late_fusion": {"type": "late_fusion", "modalities": ["audio", "video", "text"], "weight_step": 0.1},
    "copycat": {"type": "early_fusion", "modalities": ["audio", "text"]},
}


def validation_metrics(scores: dict[str, dict[str, float]]) -> dict:
    """metrics.json-like dicts: method -> task -> split -> metric, from validation recall."""
    return {m: {task: {"validation": {"recall_macro": v, "accuracy": v}, "test": {"recall_macro": 0.0}}
                for task, v in by_task.items()}
            for m, by_task in scores.items()}


def clip_frame(rng: np.random.Generator) -> pd.DataFrame:
    """The validation and test clips of every repeat, with their true class."""
    parts = []
    for repeat in range(REPEATS):
        for split, n in (("validation", N_VAL), ("test", N_TEST)):
            parts.append(pd.DataFrame({"repeat": repeat, "clip_id": [f"{split[0]}{i:03d}" for i in range(n)],
                                       "split": split, "true": CLASSES[np.arange(n) % 3]}))
    return pd.concat(parts, ignore_index=True)


def predicted_with_accuracy(clips: pd.DataFrame, accuracy: float, rng: np.random.Generator) -> np.ndarray:
    """Correct on a random fraction ``accuracy`` of the clips, otherwise the next class."""
    correct = rng.random(len(clips)) < accuracy
    true = clips["true"].to_numpy()
    wrong = CLASSES[(np.searchsorted(CLASSES, true) + 1) % 3]
    return np.where(correct, true, wrong)


def prediction_table(clips: pd.DataFrame, predicted: np.ndarray, task: str, rng: np.random.Generator) -> pd.DataFrame:
    """predictions.csv content for one task, rows in a shuffled order (compare must sort them)."""
    frame = clips.assign(task=task, predicted=predicted, confidence=np.round(rng.random(len(clips)), 6))
    frame = frame[["repeat", "clip_id", "split", "task", "true", "predicted", "confidence"]]
    return frame.iloc[rng.permutation(len(frame))].reset_index(drop=True)


@pytest.fixture(scope="module")
def constructed():
    """audio_only (55 % right) is the best single modality; late_fusion is right 95 % of the
    time; copycat predicts exactly what audio_only predicts."""
    rng = np.random.default_rng(SEED)
    clips = clip_frame(rng)
    audio = predicted_with_accuracy(clips, 0.55, rng)
    predictions = {
        "audio_only": prediction_table(clips, audio, "style", rng),
        "video_only": prediction_table(clips, predicted_with_accuracy(clips, 0.4, rng), "style", rng),
        "late_fusion": prediction_table(clips, predicted_with_accuracy(clips, 0.95, rng), "style", rng),
        "copycat": prediction_table(clips, audio, "style", rng),
    }
    metrics = validation_metrics({"audio_only": {"style": 0.6}, "video_only": {"style": 0.4},
                                  "late_fusion": {"style": 0.9}, "copycat": {"style": 0.6}})
    return predictions, metrics


def run(predictions, metrics, methods=METHODS, seed=SEED):
    return compare_to_best_single(predictions, metrics, methods, ["style"], "recall_macro",
                                  SETTINGS["bootstrap_samples"], seed, 0.95, 0.05)


def as_read_from_csv(predictions: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    return {name: frame.astype(str) for name, frame in predictions.items()}


def test_best_single_modality_picks_the_highest_validation_score():
    metrics = validation_metrics({"audio_only": {"style": 0.5, "instrument": 0.9},
                                  "video_only": {"style": 0.7, "instrument": 0.3},
                                  "late_fusion": {"style": 0.99, "instrument": 0.99},
                                  "copycat": {"style": 0.99, "instrument": 0.99}})
    # fusion methods never count as the baseline, however well they score
    assert best_single_modality(METHODS, metrics, "style", "recall_macro") == "video_only"
    assert best_single_modality(METHODS, metrics, "instrument", "recall_macro") == "audio_only"


def test_best_single_modality_uses_the_selection_metric():
    metrics = validation_metrics({m: {"style": 0.5} for m in METHODS})
    metrics["audio_only"]["style"]["validation"].update(recall_macro=0.8, accuracy=0.2)
    metrics["video_only"]["style"]["validation"].update(recall_macro=0.3, accuracy=0.7)
    assert best_single_modality(METHODS, metrics, "style", "recall_macro") == "audio_only"
    assert best_single_modality(METHODS, metrics, "style", "accuracy") == "video_only"


def test_best_single_modality_breaks_ties_by_params_order():
    metrics = validation_metrics({m: {"style": 0.5} for m in METHODS})
    metrics["text_only"] = validation_metrics({"x": {"style": 0.5}})["x"]
    text_first = {"text_only": {"type": "single_modality", "modalities": ["text"]}, **METHODS}
    assert best_single_modality(METHODS, metrics, "style", "recall_macro") == "audio_only"
    assert best_single_modality(text_first, metrics, "style", "recall_macro") == "text_only"
    video_first = {"video_only": METHODS["video_only"], "audio_only": METHODS["audio_only"]}
    assert best_single_modality(video_first, metrics, "style", "recall_macro") == "video_only"


def test_best_single_modality_needs_a_single_modality_method():
    fusion_only = {m: p for m, p in METHODS.items() if len(p["modalities"]) > 1}
    metrics = validation_metrics({m: {"style": 0.5} for m in fusion_only})
    with pytest.raises(ValueError, match="single-modality"):
        best_single_modality(fusion_only, metrics, "style", "recall_macro")


def test_clearly_better_fusion_is_significant(constructed):
    predictions, metrics = constructed
    table, _ = run(predictions, metrics)
    assert list(table.columns) == SIGNIFICANCE_COLUMNS
    assert table["method"].tolist() == ["late_fusion", "copycat"]  # fusion methods, params order
    row = table.set_index("method").loc["late_fusion"]
    assert row["baseline"] == "audio_only"
    assert row["modalities"] == "audio+video+text"
    assert row["fusion_gain"] == pytest.approx(row["recall_macro"] - row["baseline_recall_macro"], abs=2e-4)
    assert row["fusion_gain"] > 0.25
    assert row["gain_ci_low"] > 0 and row["gain_ci_low"] <= row["fusion_gain"] <= row["gain_ci_high"]
    assert row["p_bootstrap"] < 0.01
    assert row["p_mcnemar"] < 0.01
    assert row["only_method_correct"] > row["only_baseline_correct"]
    assert bool(row["significant"]) is True


def test_recall_and_mcnemar_counts_match_a_hand_computation(constructed):
    predictions, metrics = constructed
    table, _ = run(predictions, metrics)
    row = table.set_index("method").loc["late_fusion"]

    def test_rows(frame):
        return frame[frame["split"] == "test"].sort_values(["repeat", "clip_id"]).reset_index(drop=True)

    ours, base = test_rows(predictions["late_fusion"]), test_rows(predictions["audio_only"])
    right_ours, right_base = ours["predicted"] == ours["true"], base["predicted"] == base["true"]
    assert row["only_method_correct"] == int((right_ours & ~right_base).sum())
    assert row["only_baseline_correct"] == int((~right_ours & right_base).sum())
    # macro recall: mean over classes within a repeat, then mean over repeats
    recall = ours.assign(hit=right_ours).groupby(["repeat", "true"])["hit"].mean().groupby("repeat").mean().mean()
    assert row["recall_macro"] == pytest.approx(recall, abs=1e-4)


def test_identical_predictions_give_no_gain(constructed):
    predictions, metrics = constructed
    table, per_class = run(predictions, metrics)
    row = table.set_index("method").loc["copycat"]
    assert row["fusion_gain"] == 0.0
    assert row["gain_ci_low"] == 0.0 and row["gain_ci_high"] == 0.0
    assert row["p_bootstrap"] == 1.0
    assert row["p_mcnemar"] == 1.0
    assert row["only_method_correct"] == 0 and row["only_baseline_correct"] == 0
    assert bool(row["significant"]) is False
    assert (per_class.loc[per_class["method"] == "copycat", "gain"] == 0.0).all()


def test_methods_tested_on_different_clips_are_refused(constructed):
    predictions, metrics = constructed
    fewer = dict(predictions)
    frame = predictions["late_fusion"]
    fewer["late_fusion"] = frame.drop(index=frame.index[frame["split"] == "test"][0])
    with pytest.raises(ValueError, match="late_fusion and audio_only"):
        run(fewer, metrics)
    renamed = dict(predictions)
    renamed["late_fusion"] = frame.assign(clip_id=frame["clip_id"].str.replace("t000", "t999"))
    with pytest.raises(ValueError, match="same clips"):
        run(renamed, metrics)


def test_per_class_table_has_one_row_per_class_and_fusion_method(constructed):
    predictions, metrics = constructed
    _, per_class = run(predictions, metrics)
    assert len(per_class) == len(CLASSES) * 2
    assert set(per_class.groupby(["method", "class"]).size()) == {1}
    assert sorted(per_class["class"].unique()) == list(CLASSES)
    assert set(per_class["method"]) == {"late_fusion", "copycat"}
    assert (per_class["baseline"] == "audio_only").all()
    assert per_class["gain"].to_numpy() == pytest.approx(
        (per_class["recall"] - per_class["baseline_recall"]).to_numpy(), abs=2e-4)
    # per-class recall, averaged over repeats, by hand
    test = predictions["late_fusion"].query("split == 'test'")
    by_hand = (test["predicted"] == test["true"]).groupby([test["true"], test["repeat"]]).mean().groupby(level=0).mean()
    got = per_class[per_class["method"] == "late_fusion"].set_index("class")["recall"]
    assert got.to_dict() == pytest.approx(by_hand.to_dict(), abs=1e-4)
    assert (per_class.loc[per_class["method"] == "late_fusion", "gain"] > 0).all()


def test_the_baseline_is_chosen_per_task():
    rng = np.random.default_rng(SEED)
    clips = clip_frame(rng)
    methods = {m: METHODS[m] for m in ("audio_only", "video_only", "late_fusion")}
    predictions = {m: pd.concat([prediction_table(clips, predicted_with_accuracy(clips, 0.6, rng), task, rng)
                                 for task in ("style", "instrument")], ignore_index=True) for m in methods}
    metrics = validation_metrics({"audio_only": {"style": 0.8, "instrument": 0.2},
                                  "video_only": {"style": 0.3, "instrument": 0.6},
                                  "late_fusion": {"style": 0.5, "instrument": 0.5}})
    table, per_class = compare_to_best_single(predictions, metrics, methods, ["style", "instrument"],
                                              "recall_macro", 50, SEED, 0.95, 0.05)
    assert table[["task", "baseline"]].values.tolist() == [["style", "audio_only"], ["instrument", "video_only"]]
    assert per_class.groupby("task")["baseline"].unique().map(list).to_dict() == {
        "style": ["audio_only"], "instrument": ["video_only"]}


def test_compare_reads_string_columns_and_returns_a_figure(constructed):
    predictions, metrics = constructed
    result = compare(as_read_from_csv(predictions), metrics, METHODS, ["style"], SETTINGS, SEED)
    assert isinstance(result, Comparison)
    assert isinstance(result.figure, Figure)
    table, per_class = run(predictions, metrics)  # the same numbers as on typed columns
    pd.testing.assert_frame_equal(result.table, table)
    pd.testing.assert_frame_equal(result.per_class, per_class)


def test_compare_treats_repeats_as_numbers():
    """As text, repeat '10' sorts before '2' (which changes how the bootstrap draws); compare
    must give the numbers of integer repeats, as predictions.csv is read back."""
    rng = np.random.default_rng(SEED)
    clips = clip_frame(rng)
    clips["repeat"] = clips["repeat"].map({0: 2, 1: 10})
    methods = {m: METHODS[m] for m in ("audio_only", "late_fusion")}
    predictions = {m: prediction_table(clips, predicted_with_accuracy(clips, 0.7, rng), "style", rng)
                   for m in methods}
    metrics = validation_metrics({m: {"style": 0.5} for m in methods})
    result = compare(as_read_from_csv(predictions), metrics, methods, ["style"], SETTINGS, SEED)
    table, _ = compare_to_best_single(predictions, metrics, methods, ["style"], "recall_macro",
                                      SETTINGS["bootstrap_samples"], SEED, 0.95, 0.05)
    pd.testing.assert_frame_equal(result.table, table)


def test_compare_is_deterministic_for_a_seed(constructed):
    predictions, metrics = constructed
    first = compare(as_read_from_csv(predictions), metrics, METHODS, ["style"], SETTINGS, seed=11)
    again = compare(as_read_from_csv(predictions), metrics, METHODS, ["style"], SETTINGS, seed=11)
    pd.testing.assert_frame_equal(first.table, again.table)
    pd.testing.assert_frame_equal(first.per_class, again.per_class)
    other = compare(as_read_from_csv(predictions), metrics, METHODS, ["style"], SETTINGS, seed=12)
    # the observed gain does not depend on the seed; only the bootstrap interval does
    pd.testing.assert_series_equal(first.table["fusion_gain"], other.table["fusion_gain"])
