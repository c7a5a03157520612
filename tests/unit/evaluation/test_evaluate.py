"""Evaluate: per-method metrics over folds, the summary table and its readable forms."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from musicfusion.evaluation.evaluate import (
    SUMMARY_COLUMNS,
    evaluate_method,
    headline_scores,
    learner_label,
    method_rows,
    readable_summary,
    search_record,
    search_seconds,
    settings_summary,
    summarize,
    summary_row,
    summary_table,
)
from musicfusion.evaluation.metrics import METRICS
from musicfusion.evaluation.stats import corrected_resampled_t
from musicfusion.plumbing.files import markdown_table, read_json, read_table, write_csv, write_json

from support import PROJECT_ROOT

ROWS = [
    {"method": "late_fusion", "task": "style", "kind": "fusion", "modalities": ["audio", "video", "text"],
     "accuracy": 0.912345, "precision_macro": 0.9, "recall_macro": 0.91, "f1_macro": 0.905,
     "seconds": 1.5},
    {"method": "audio_only", "task": "style", "kind": "single", "modalities": ["audio"], "accuracy": 0.58,
     "precision_macro": 0.57, "recall_macro": 0.58, "f1_macro": 0.575, "seconds": 0.2},
    {"method": "audio_only", "task": "instrument", "kind": "single", "modalities": ["audio"], "accuracy": 0.99,
     "precision_macro": 0.99, "recall_macro": 0.99, "f1_macro": 0.99, "seconds": 0.2},
]
CONFIDENCE = 0.95
N_TRAIN = 8
AUDIO = {"type": "single_modality", "modalities": ["audio"], "learner": "logistic"}


def predictions(correct_by_fold: list[int], n: int = 4, untuned_by_fold: list[int] | None = None,
                task: str = "style") -> pd.DataFrame:
    """Predictions of one task over folds, as predictions.csv reads: fold f gets its first
    ``correct_by_fold[f]`` test clips right with the tuned configuration and its first
    ``untuned_by_fold[f]`` (default: all) with the untuned one (validation is always right).
    Each fold tests its own clips; two folds make a repetition."""
    untuned_by_fold = untuned_by_fold or [n] * len(correct_by_fold)
    rows = []
    for configuration, counts in (("tuned", correct_by_fold), ("untuned", untuned_by_fold)):
        for fold, correct in enumerate(counts):
            for split in ("validation", "test"):
                for i in range(n):
                    true = "ab"[i % 2]
                    wrong = split == "test" and i >= correct
                    rows.append({"repetition": str(fold // 2), "fold": str(fold), "clip_id": f"f{fold % 2}c{i}",
                                 "split": split, "configuration": configuration, "task": task, "true": true,
                                 "predicted": ("ba"[i % 2] if wrong else true), "confidence": "0.9",
                                 "n_train": str(N_TRAIN)})
    return pd.DataFrame(rows)


def trials(chosen_by_fold: list[dict], task: str = "style", n_trials: int = 3, seconds: float = 2.0) -> pd.DataFrame:
    """A trials.csv as read from disk: in fold f, trial 0 is untuned ({"audio.C": 1.0}) and the
    configuration ``chosen_by_fold[f]`` is chosen (trial 0 if it is the untuned one, else trial 1)."""
    untuned = {"audio.C": 1.0}
    rows = []
    for fold, chosen in enumerate(chosen_by_fold):
        drawn = [untuned, chosen if chosen != untuned else {"audio.C": 0.5}, {"audio.C": 0.01}]
        for trial, settings in enumerate(drawn[:n_trials]):
            rows.append({"trial": trial, "settings": json.dumps(settings, sort_keys=True),
                         "validation_score": 0.5 + 0.1 * (settings == chosen), "seconds": 0.1, "repeat_of": -1,
                         "untuned": trial == 0, "chosen": settings == chosen, "task": task,
                         "search_seconds": seconds, "repetition": fold // 2, "fold": fold})
    return pd.DataFrame(rows).astype(str)


def test_evaluate_method_gives_per_fold_metrics_with_a_corrected_interval():
    # the untuned configuration's rows (all wrong here) leave the tuned metrics alone
    metrics, figures = evaluate_method("m", predictions([4, 2, 4], untuned_by_fold=[0, 0, 0]), ["style"], CONFIDENCE)
    entry = metrics["style"]
    assert entry["n_folds"] == 3 and entry["n_repetitions"] == 2 and entry["n_test_clips"] == 8
    assert entry["test_by_fold"]["accuracy"] == [1.0, 0.5, 1.0]
    assert entry["test"]["accuracy"] == pytest.approx(2.5 / 3)
    assert entry["test_train_ratio"] == pytest.approx(4 / N_TRAIN)
    low, high = entry["test_ci"]["accuracy"]
    expected = corrected_resampled_t([1.0, 0.5, 1.0], 4 / N_TRAIN, CONFIDENCE)
    assert (low, high) == pytest.approx((expected["ci_low"], expected["ci_high"]))
    assert low < entry["test"]["accuracy"] < high and high > 1.0  # the raw interval, unclipped
    plain = corrected_resampled_t([1.0, 0.5, 1.0], 0.0, CONFIDENCE)
    assert high - low > plain["ci_high"] - plain["ci_low"]  # wider than the uncorrected t
    assert entry["validation"] == {name: 1.0 for name in METRICS}
    assert isinstance(figures["style"], Figure)
    with pytest.raises(ValueError, match="instrument"):
        evaluate_method("m", predictions([4]), ["style", "instrument"], CONFIDENCE)


def test_summary_row_clips_and_rounds_the_interval():
    metrics, _ = evaluate_method("m", predictions([4, 2, 4]), ["style"], CONFIDENCE)
    row = summary_row("m", "style", {"type": "early_fusion", "modalities": ["audio", "text"], "learner": "svm"},
                      metrics["style"])
    assert row["modalities"] == "audio+text" and row["n_folds"] == 3 and row["kind"] == "fusion"
    assert row["validation_accuracy"] == 1.0
    assert row["accuracy_ci_high"] == 1.0  # clipped to [0, 1]
    assert row["accuracy_ci_low"] == 0.0  # the corrected interval reaches below 0: clipped too
    assert row["f1_macro_ci_high"] == round(min(1.0, metrics["style"]["test_ci"]["f1_macro"][1]), 4)
    rows = method_rows("m", AUDIO, metrics)
    assert rows.loc[0, "kind"] == "single"
    assert method_rows("m", {"type": "control", "modalities": ["audio"], "learner": "logistic"},
                       metrics).loc[0, "kind"] == "control"
    assert rows.loc[0, "accuracy"] == round(2.5 / 3, 4)


def test_evaluate_method_reports_the_untuned_configuration_on_the_test_folds():
    metrics, _ = evaluate_method("m", predictions([4, 4, 4], untuned_by_fold=[2, 3, 4]), ["style"], CONFIDENCE)
    entry = metrics["style"]
    assert entry["test_by_fold"]["accuracy"] == [1.0, 1.0, 1.0]
    untuned = entry["untuned"]
    assert set(untuned) == {"test", "test_ci", "test_by_fold", "test_train_ratio"}  # test folds only
    assert untuned["test_by_fold"]["accuracy"] == [0.5, 0.75, 1.0]
    assert untuned["test"]["accuracy"] == pytest.approx(0.75)
    assert untuned["test_train_ratio"] == pytest.approx(4 / N_TRAIN)
    expected = corrected_resampled_t([0.5, 0.75, 1.0], 4 / N_TRAIN, CONFIDENCE)
    assert untuned["test_ci"]["accuracy"] == pytest.approx([expected["ci_low"], expected["ci_high"]])
    assert "search" not in entry  # no trials given


def test_evaluate_method_records_the_search_of_each_fold():
    chosen = [{"audio.C": 0.5}, {"audio.C": 1.0}, {"audio.C": 2.0}]
    metrics, _ = evaluate_method("m", predictions([4, 2, 4]), ["style"], CONFIDENCE, trials(chosen))
    search = metrics["style"]["search"]
    assert search == {"n_trials": 3, "chosen_untuned_folds": 1, "chosen_by_fold": chosen,
                      "settings": "audio.C=1", "shared_by_tasks": "style"}
    json.dumps(metrics)  # metrics.json holds it as it is, and no wall-clock time (reruns are bit-identical)
    assert search_seconds(trials(chosen), "style") == pytest.approx(6.0)


def test_a_shared_search_is_reported_by_every_task_it_served():
    shared = trials([{"audio.C": 0.5}, {"audio.C": 0.5}], task="style+instrument")
    both = pd.concat([predictions([4, 4]), predictions([4, 4], task="instrument")], ignore_index=True)
    metrics, _ = evaluate_method("m", both, ["style", "instrument"], CONFIDENCE, shared)
    assert metrics["style"]["search"] == metrics["instrument"]["search"]
    assert metrics["style"]["search"]["shared_by_tasks"] == "style+instrument"
    assert search_seconds(shared, "instrument") == pytest.approx(4.0)  # counted once per fold
    # one task's own search is not another's
    own = pd.concat([trials([{"audio.C": 0.5}] * 2, task="style"), trials([{"audio.C": 1.0}] * 2, task="instrument")])
    assert search_record(own, "style")["chosen_untuned_folds"] == 0
    assert search_record(own, "instrument")["chosen_untuned_folds"] == 2


def test_settings_summary_gives_each_settings_typical_value():
    chosen = [{"audio.C": 0.1, "audio.kernel": "rbf", "audio.leaf": 2},
              {"audio.C": 10.0, "audio.kernel": "linear", "audio.leaf": 3},
              {"audio.C": 0.31622, "audio.kernel": "rbf", "audio.leaf": 4}]
    assert settings_summary(chosen) == "audio.C=0.316; audio.kernel=rbf; audio.leaf=3"
    assert settings_summary([{"audio.leaf": 2}, {"audio.leaf": 3}]) == "audio.leaf=2.5"  # a median between ints
    assert settings_summary([{}, {}]) == settings_summary([]) == "untuned (nothing to search)"


def test_the_learner_is_labelled_for_the_summary():
    assert learner_label(AUDIO) == "logistic"
    mixed = {"type": "late_fusion", "modalities": ["audio", "text"], "learner": {"audio": "svm", "text": "logistic"}}
    assert learner_label(mixed) == "audio:svm text:logistic"
    metrics, _ = evaluate_method("m", predictions([4, 4, 4]), ["style"], CONFIDENCE, trials([{"audio.C": 0.5}] * 3))
    row = summary_row("m", "style", mixed, metrics["style"])
    assert (row["learner"], row["tuned_settings"]) == ("audio:svm text:logistic", "audio.C=0.5")
    plain, _ = evaluate_method("m", predictions([4, 4, 4]), ["style"], CONFIDENCE)
    assert summary_row("m", "style", AUDIO, plain["style"])["tuned_settings"] == ""


def test_summary_table_orders_sorts_and_rounds():
    df = summary_table(ROWS)
    assert list(df.columns) == SUMMARY_COLUMNS + ["seconds"]
    assert list(zip(df["task"], df["method"])) == [
        ("instrument", "audio_only"), ("style", "audio_only"), ("style", "late_fusion")]
    assert df.loc[2, "accuracy"] == 0.9123
    assert df.loc[2, "modalities"] == "audio+video+text"
    with pytest.raises(ValueError, match="f1_macro"):
        summary_table([{k: v for k, v in ROWS[0].items() if k != "f1_macro"}])


def test_markdown_table():
    df = summary_table(ROWS)
    lines = markdown_table(df).splitlines()
    assert len(lines) == 2 + len(df)
    assert lines[0] == "| " + " | ".join(df.columns) + " |"
    assert set(lines[1].replace("|", "").split()) <= {"---", "---:"}
    assert all(line.startswith("| ") and line.endswith(" |") for line in lines)
    assert {line.count("|") for line in lines} == {len(df.columns) + 1}
    assert "| late_fusion | style | fusion | audio+video+text | 0.9123 |" in lines[4]


def test_summarize_builds_table_readable_form_metrics_and_chart():
    good, _ = evaluate_method("good", predictions([4, 4, 4]), ["style"], CONFIDENCE)
    half, _ = evaluate_method("half", predictions([2, 2, 2]), ["style"], CONFIDENCE)
    methods = {"good": AUDIO, "half": {"type": "early_fusion", "modalities": ["audio", "video"], "learner": "mlp"}}
    summary = summarize({"good": good, "half": half}, methods, "recall_macro", CONFIDENCE)
    table = summary.table.set_index("method")
    assert table.loc["good", "recall_macro"] == 1.0 and table.loc["half", "recall_macro"] == 0.5
    assert table.loc["half", "modalities"] == "audio+video" and table.loc["half", "n_test_clips"] == 8
    # Zero spread over folds: the interval collapses onto the mean.
    assert table.loc["half", "recall_macro_ci_low"] == table.loc["half", "recall_macro_ci_high"] == 0.5
    assert summary.readable.set_index("method").loc["half", "recall_macro"] == "0.500 [0.500, 0.500]"
    assert set(summary.metrics["half"]["style"]) == set(METRICS) | {
        f"{m}_ci_{side}" for m in METRICS for side in ("low", "high")}
    assert isinstance(summary.figure, Figure)
    assert list(table.loc[["good", "half"], "learner"]) == ["logistic", "mlp"]


def test_summarize_compares_tuned_with_untuned_per_fold():
    tuned_better, _ = evaluate_method("better", predictions([4, 4, 3], untuned_by_fold=[2, 3, 2]), ["style"],
                                      CONFIDENCE, trials([{"audio.C": 0.5}, {"audio.C": 1.0}, {"audio.C": 0.5}]))
    same, _ = evaluate_method("same", predictions([2, 2, 2], untuned_by_fold=[2, 2, 2]), ["style"], CONFIDENCE)
    methods = {"better": AUDIO, "same": {"type": "stacking", "modalities": ["audio", "text"], "learner": "svm"}}
    tuning = summarize({"better": tuned_better, "same": same}, methods, "accuracy", CONFIDENCE,
                       {"better": trials([{"audio.C": 0.5}, {"audio.C": 1.0}, {"audio.C": 0.5}])}).tuning
    assert tuning["method"].tolist() == ["better", "same"]
    row = tuning.set_index("method").loc["better"]
    assert row["kind"] == "single" and row["learner"] == "logistic"
    assert row["tuned_accuracy"] == round(2.75 / 3, 4) and row["untuned_accuracy"] == round(1.75 / 3, 4)
    gain = corrected_resampled_t([0.5, 0.25, 0.25], 4 / N_TRAIN, CONFIDENCE)  # paired by fold
    assert row["gain"] == pytest.approx(gain["mean"], abs=1e-4)
    assert (row["gain_ci_low"], row["gain_ci_high"]) == pytest.approx((gain["ci_low"], gain["ci_high"]), abs=1e-4)
    # clipped to [0, 1] as in summary.csv (this interval over 3 folds reaches past 1)
    assert (row["untuned_accuracy_ci_low"], row["untuned_accuracy_ci_high"]) == pytest.approx(
        tuple(np.clip(tuned_better["style"]["untuned"]["test_ci"]["accuracy"], 0, 1)), abs=1e-4)
    assert tuned_better["style"]["untuned"]["test_ci"]["accuracy"][1] > 1 and row["untuned_accuracy_ci_high"] == 1.0
    assert (row["folds_kept_untuned"], row["n_trials"], row["search_seconds"]) == (1, 3, 6.0)
    assert row["tuned_settings"] == "audio.C=0.5"
    flat = tuning.set_index("method").loc["same"]
    assert flat["gain"] == flat["gain_ci_low"] == flat["gain_ci_high"] == 0.0
    assert flat["learner"] == "svm" and flat["tuned_settings"] == ""


def test_readable_summary_without_intervals_shows_the_mean_only():
    out = readable_summary(summary_table(ROWS[:1]), "recall_macro")
    assert out.loc[0, "accuracy"] == "0.912" and "folds" not in out
    assert np.all(out.columns[:4] == ["method", "task", "kind", "modalities"])


def test_headline_scores_are_each_methods_summary_means_per_task():
    assert headline_scores(summary_table(ROWS), "recall_macro") == {
        "audio_only": {"recall_macro": {"instrument": 0.99, "style": 0.58}},
        "late_fusion": {"recall_macro": {"style": 0.91}}}


def test_headline_scores_read_back_from_summary_csv_write_the_same_bytes(tmp_path):
    """The workflow computes them from the summary it writes; summary.csv read back (as text)
    gives the same numbers, rounded as the summary rounds them, and the same JSON."""
    built = summary_table(ROWS)
    write_csv(tmp_path / "summary.csv", built)
    headline = headline_scores(built, "accuracy")
    assert headline["late_fusion"] == {"accuracy": {"style": 0.9123}}
    assert headline_scores(read_table(tmp_path / "summary.csv"), "accuracy") == headline
    write_json(tmp_path / "built.json", headline["late_fusion"])
    write_json(tmp_path / "read.json", headline_scores(read_table(tmp_path / "summary.csv"), "accuracy")["late_fusion"])
    assert (tmp_path / "built.json").read_bytes() == (tmp_path / "read.json").read_bytes()


def test_the_committed_headline_files_are_the_reference_summarys():
    """results/default/headline/<method>.json (committed for `dvc metrics diff`) hold what the
    summarize rule writes from reference/default/summary.csv: one file per method, nothing else."""
    import yaml

    metric = yaml.safe_load((PROJECT_ROOT / "params.yaml").read_text())["evaluate"]["selection_metric"]
    summary = read_table(PROJECT_ROOT / "reference/default/summary.csv")
    headline = headline_scores(summary, metric)
    committed = {path.stem: read_json(path) for path in (PROJECT_ROOT / "results/default/headline").glob("*.json")}
    assert committed == headline and len(committed) == summary["method"].nunique()
