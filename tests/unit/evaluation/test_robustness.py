"""Robustness sweeps on synthetic folds: absent and noisy modalities, summaries, relative robustness."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from musicfusion.evaluation.robustness import (
    ABSENT,
    FOLD_COLUMNS,
    NATURAL_ABSENCE,
    absence_order,
    relative_robustness,
    remembering,
    severity,
    summarize_robustness,
    sweep_fold,
)

from fusion_cases import MODS, build, make_split

NOISE = {"white_noise": {"levels": [20.0, 0.0]}}
FRACTIONS = [0.0, 0.5, 1.0]


def fold(seed: int, n: int = 240):
    """A fold's clean features and clip table: 60% train, 20% validation, 20% test."""
    X, style, _ = make_split(n, np.random.default_rng(seed))
    split = np.array(["train"] * int(0.6 * n) + ["validation"] * int(0.2 * n) + ["test"] * (n - int(0.8 * n)))
    clips = pd.DataFrame({"clip_id": [f"c{i:03d}" for i in range(n)], "split": split, "style": style,
                          "repetition": 0, **{f"has_{m}": True for m in MODS}})
    return {m: x.astype(np.float64) for m, x in X.items()}, clips


def fitted(kind, X, clips, modalities=MODS, **settings):
    train = (clips["split"] != "test").to_numpy()
    model = build(kind, modalities, **settings)
    return model.fit({m: x[train] for m, x in X.items()}, clips.loc[train, "style"].to_numpy(),
                     {m: x[train] for m, x in X.items()}, clips.loc[train, "style"].to_numpy())


def sweep(model, X, clips, reads, noisy=None, fold_index=0):
    return sweep_fold({"style": model}, X, clips, ["style"], reads, modalities=MODS,
                      absent_fractions=FRACTIONS, noisy=noisy or {}, seed=1, fold=fold_index)


def test_absence_order_is_seeded_and_differs_by_fold_and_modality():
    assert np.array_equal(absence_order(1, 0, "audio", 50), absence_order(1, 0, "audio", 50))
    assert not np.array_equal(absence_order(1, 0, "audio", 50), absence_order(1, 1, "audio", 50))
    assert not np.array_equal(absence_order(1, 0, "audio", 50), absence_order(1, 0, "text", 50))


def test_absent_sweep_starts_clean_and_hurts_only_through_a_modality_the_method_reads():
    X, clips = fold(0)
    single = fitted("single_modality", X, clips, ["audio"])
    rows = sweep(single, X, clips, ["audio"]).set_index(["perturbation", "modality", "level"])
    test = clips["split"] == "test"
    clean = np.mean(single.predict({"audio": X["audio"][test.to_numpy()]}) == clips.loc[test, "style"])
    assert rows.loc[(ABSENT, "audio", 0.0), "accuracy"] == pytest.approx(clean)
    # half the clips without audio: no prediction for them (coverage 0.5), all absent: nothing right
    assert rows.loc[(ABSENT, "audio", 0.5), "coverage"] == 0.5
    assert rows.loc[(ABSENT, "audio", 1.0), "accuracy"] == 0.0
    assert rows.loc[(ABSENT, "audio", 0.5), "accuracy"] < clean
    # modalities the baseline does not read leave it as it is
    for modality in ("video", "text"):
        assert rows.loc[(ABSENT, modality, 1.0), "accuracy"] == pytest.approx(clean)


def test_absent_sweep_removes_nested_clips():
    X, clips = fold(1)
    model = fitted("single_modality", X, clips, ["audio"])
    rows = sweep(model, X, clips, ["audio"]).set_index(["perturbation", "modality", "level"])
    n = rows.loc[(ABSENT, "audio", 0.0), "n_test"]
    order = absence_order(1, 0, "audio", n)
    assert rows.loc[(ABSENT, "audio", 0.5), "coverage"] == pytest.approx(1 - round(0.5 * n) / n)
    assert set(order[: round(0.5 * n)]) <= set(order[: round(1.0 * n)])


def test_noise_rows_score_the_degraded_matrix_and_start_from_the_clean_level():
    X, clips = fold(2)
    model = fitted("late_fusion", X, clips, weight_step=0.25)
    rng = np.random.default_rng(0)
    noisy = {("white_noise", "audio", 20.0): X["audio"] + 0.1 * rng.normal(size=X["audio"].shape),
             ("white_noise", "audio", 0.0): rng.normal(size=X["audio"].shape) * 5}
    rows = sweep(model, X, clips, MODS, noisy).set_index(["perturbation", "modality", "level"])
    clean = rows.loc[(ABSENT, "audio", 0.0), "recall_macro"]
    assert rows.loc[("white_noise", "audio", np.inf), "recall_macro"] == clean
    assert rows.loc[("white_noise", "audio", 0.0), "recall_macro"] < clean - 0.1
    assert list(sweep(model, X, clips, MODS, noisy).columns) == [c for c in FOLD_COLUMNS if c != "method"]


def test_natural_absences_are_scored_on_the_clips_lacking_the_modality():
    X, clips = fold(3)
    test = np.flatnonzero((clips["split"] == "test").to_numpy())
    clips.loc[test[:12], "has_text"] = False
    X["text"][test[:12]] = np.nan
    for kind, reads in (("single_modality", ["text"]), ("early_fusion", MODS)):
        model = fitted(kind, X, clips, reads)
        rows = sweep(model, X, clips, reads)
        natural = rows[rows["perturbation"] == NATURAL_ABSENCE].set_index("modality")
        assert natural.loc["text", "n_test"] == 12 and "audio" not in natural.index
        assert natural.loc["text", "coverage"] == (0.0 if kind == "single_modality" else 1.0)


def test_summary_intervals_and_relative_robustness():
    X, clips = fold(4)
    model = fitted("early_fusion", X, clips)
    folds = [sweep(model, X, c, MODS, fold_index=i).assign(method="early_fusion")
             for i, c in enumerate([clips, clips.assign(repetition=0)])]
    per_fold = pd.concat(folds, ignore_index=True)[FOLD_COLUMNS]
    summary = summarize_robustness(per_fold, 0.95)
    assert (summary["n_folds"] == 2).all()
    assert (summary["recall_macro_ci_low"] <= summary["recall_macro"]).all()
    relative = relative_robustness(summary, "recall_macro", NOISE).set_index(["perturbation", "modality"])
    # unaffected curves keep their whole clean score; losing the informative audio loses most of it
    assert relative.loc[(ABSENT, "video"), "relative_robustness"] == pytest.approx(1.0, abs=0.05)
    assert relative.loc[(ABSENT, "audio"), "relative_robustness"] < 0.9
    curve = summary[(summary["perturbation"] == ABSENT) & (summary["modality"] == "audio")].sort_values("level")
    y = curve["recall_macro"].to_numpy()
    assert relative.loc[(ABSENT, "audio"), "area"] == pytest.approx((y[0] + 2 * y[1] + y[2]) / 4)


def test_severity_spaces_noise_levels_evenly_and_absent_fractions_as_they_are():
    assert severity([0.0, 0.25, 1.0], ABSENT).tolist() == [0.0, 0.25, 1.0]
    assert severity([np.inf, 30, 20, 10], "white_noise").tolist() == pytest.approx([0, 1 / 3, 2 / 3, 1])


def test_method_sweep_reports_the_curves_of_modalities_the_method_does_not_read():
    from musicfusion.evaluation.robustness import method_sweep

    X, clips = fold(5)
    model = fitted("single_modality", X, clips, ["audio"])
    perturbed = {"audio": {"clip_ids": clips["clip_id"].to_numpy(),
                           "content__white_noise__0": X["audio"] * 0.5, "content__white_noise__1": X["audio"] * 0}}
    noise = {**NOISE, "token_deletion": {"levels": [0.5]}}
    table = method_sweep("audio_only", {"type": "single_modality", "modalities": ["audio"]}, [{"style": model}],
                         [(X, clips)], ["style"], modalities=MODS, perturbed=perturbed, noise=noise,
                         absent_fractions=FRACTIONS, seed=1)
    text = table[table["perturbation"] == "token_deletion"]
    assert sorted(text["level"]) == [0.0, 0.5] and text["recall_macro"].nunique() == 1
    audio = table[table["perturbation"] == "white_noise"].set_index("level")
    assert audio.loc[np.inf, "recall_macro"] == text["recall_macro"].iloc[0]
    assert list(table.columns) == FOLD_COLUMNS


def test_a_sweep_gives_the_same_numbers_bit_for_bit_when_run_again():
    X, clips = fold(6)
    model = fitted("stacking", X, clips, cv_folds=3, modality_dropout=0.3)
    noisy = {("pixel_noise", "video", 16.0): X["video"] * 2}
    first = sweep(model, X, clips, MODS, noisy)
    again = sweep(fitted("stacking", X, clips, cv_folds=3, modality_dropout=0.3), X, clips, MODS, noisy)
    pd.testing.assert_frame_equal(first, again, check_exact=True)


@pytest.mark.parametrize("kind", ["late_fusion", "stacking"])
def test_remembered_probabilities_change_no_number_and_spare_the_repeats(kind, monkeypatch):
    """A fusion model's per-modality learners are asked once per distinct input in a sweep: the rows
    are the ones computing every probability again gives, bit for bit."""
    import musicfusion.evaluation.robustness as robustness

    X, clips = fold(7)
    model = fitted(kind, X, clips, **({"weight_step": 0.25} if kind == "late_fusion" else {"cv_folds": 3}))
    noisy = {("white_noise", "audio", 20.0): X["audio"] * 1.5, ("pixel_noise", "video", 16.0): X["video"] * 2}
    remembered = sweep(model, X, clips, MODS, noisy)
    monkeypatch.setattr(robustness, "remembering", lambda fitted_model: fitted_model)
    pd.testing.assert_frame_equal(remembered, sweep(model, X, clips, MODS, noisy), check_exact=True)

    calls = {}
    copy_ = remembering(model)
    for modality, learner in copy_.models_.items():
        original = learner.learner.predict_proba
        monkeypatch.setattr(learner.learner, "predict_proba",
                            lambda x, m=modality, f=original: calls.__setitem__(m, calls.get(m, 0) + 1) or f(x))
    first = copy_.predict_proba(X)
    second = copy_.predict_proba({m: x.copy() for m, x in X.items()})  # equal rows, other arrays
    np.testing.assert_array_equal(first, second)
    assert calls == {m: 1 for m in MODS}
    assert type(model.models_[MODS[0]]).__name__ != "_RememberedProba"  # the fitted model is untouched
