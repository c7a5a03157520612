"""Splits by group: repeated stratified group k-fold and a dataset's own split, on constructed clips.

The central property: clips of one group never straddle splits, every clip is tested exactly
once per repetition, and validation is carved out of each fold's training part.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from musicfusion.data.manifest import SPLITS
from musicfusion.data.splits import cv_split, dataset_split, fold_split, groups_of, straddling_groups, strata

TASKS = ["style", "instrument"]
FRACTIONS = {"train": 0.6, "validation": 0.2, "test": 0.2}
N_FOLDS = 5
REPETITIONS = 2
SEED = 11
# 40 groups of 1 to 6 clips, 120 clips in all.
GROUP_SIZES = [1, 2, 3, 4, 5, 6, 3, 3, 2, 1] * 4
STYLES = ("chorale", "mass", "madrigal", "reel")
INSTRUMENTS = ("piano", "organ", "flute")


def make_clips(group_sizes=GROUP_SIZES, seed: int = 0) -> pd.DataFrame:
    """A clip table: a work (group) has one style, each clip its own instrument; rows shuffled."""
    rng = np.random.default_rng(seed)
    rows = []
    for g, size in enumerate(group_sizes):
        for _ in range(size):
            rows.append({"clip_id": f"c{len(rows):03d}", "group": f"work{g:02d}", "style": STYLES[g % len(STYLES)],
                         "instrument": INSTRUMENTS[int(rng.integers(len(INSTRUMENTS)))]})
    frame = pd.DataFrame(rows)
    return frame.iloc[rng.permutation(len(frame))].reset_index(drop=True)


@pytest.fixture(scope="module")
def clips() -> pd.DataFrame:
    return make_clips()


@pytest.fixture(scope="module")
def folds(clips) -> dict[tuple[int, int], pd.DataFrame]:
    """Every (repetition, fold) of the repeated k-fold."""
    out = {}
    for index in range(REPETITIONS * N_FOLDS):
        table = cv_split(clips, TASKS, N_FOLDS, index, SEED)
        out[(int(table["repetition"].iloc[0]), int(table["fold"].iloc[0]))] = table
    return out


def test_the_synthetic_table_is_what_the_tests_assume(clips):
    assert len(clips) == 120
    assert clips["group"].nunique() == 40
    assert clips.groupby("group").size().between(1, 6).all()
    assert clips.groupby("group")["style"].nunique().eq(1).all()


def test_index_maps_to_repetition_and_fold(folds):
    assert sorted(folds) == [(r, f) for r in range(REPETITIONS) for f in range(N_FOLDS)]
    for (r, f), table in folds.items():
        assert set(table["repetition"]) == {r} and set(table["fold"]) == {f}


def test_cv_split_keeps_the_table_and_leaves_the_input_alone(clips):
    before = clips.copy()
    out = cv_split(clips, TASKS, N_FOLDS, 3, SEED)
    pd.testing.assert_frame_equal(clips, before)
    assert out is not clips
    pd.testing.assert_frame_equal(out[list(clips.columns)], clips)
    assert set(out["split"]) == set(SPLITS)


def test_no_group_straddles_splits_in_any_fold(folds):
    for key, table in folds.items():
        assert straddling_groups(table) == [], key
        # and directly: no group has clips both in training (or validation) and in test
        per_group = table.groupby("group")["split"].agg(set)
        assert (per_group.map(len) == 1).all(), (key, per_group[per_group.map(len) > 1].to_dict())
        train_groups = set(table.loc[table["split"] == "train", "group"])
        validation_groups = set(table.loc[table["split"] == "validation", "group"])
        test_groups = set(table.loc[table["split"] == "test", "group"])
        assert not train_groups & test_groups
        assert not validation_groups & test_groups
        assert not train_groups & validation_groups


def test_every_clip_is_tested_exactly_once_per_repetition(clips, folds):
    for r in range(REPETITIONS):
        times_tested = pd.Series(0, index=clips["clip_id"])
        for f in range(N_FOLDS):
            table = folds[(r, f)]
            times_tested[table.loc[table["split"] == "test", "clip_id"]] += 1
        assert (times_tested == 1).all(), r


def test_test_folds_are_about_a_fifth_and_keep_the_class_balance(clips, folds):
    overall = clips["style"].value_counts(normalize=True)
    for key, table in folds.items():
        test = table[table["split"] == "test"]
        assert 16 <= len(test) <= 32, (key, len(test))  # 120 / 5 = 24, groups of up to 6 clips
        share = test["style"].value_counts(normalize=True).reindex(overall.index, fill_value=0.0)
        assert (share - overall).abs().max() <= 0.12, (key, share.to_dict())


def test_validation_is_a_fold_of_the_training_part_of_test_fold_size(clips, folds):
    for key, table in folds.items():
        validation = table[table["split"] == "validation"]
        test = table[table["split"] == "test"]
        assert len(validation) > 0, key
        # drawn from what is not tested
        assert not set(validation["clip_id"]) & set(test["clip_id"])
        # about the size of a test fold (a (k-1)-fold of the remaining (k-1)/k of the clips)
        assert abs(len(validation) - len(test)) <= 8, (key, len(validation), len(test))
        # and every style is seen in validation, for the choices made on it
        assert set(validation["style"]) == set(STYLES), key
        assert (table["split"] == "train").sum() == len(table) - len(validation) - len(test)


def test_repetitions_partition_the_clips_differently(folds):
    def partition(r):
        return {frozenset(t.loc[t["split"] == "test", "clip_id"]) for (rr, _), t in folds.items() if rr == r}

    assert partition(0) != partition(1)


def test_repetition_r_uses_seed_plus_r(clips):
    for fold in range(N_FOLDS):
        second = cv_split(clips, TASKS, N_FOLDS, N_FOLDS + fold, SEED)
        shifted = cv_split(clips, TASKS, N_FOLDS, fold, SEED + 1)
        assert second["split"].tolist() == shifted["split"].tolist()


def test_same_seed_gives_identical_splits_and_another_seed_another(clips):
    a = cv_split(clips, TASKS, N_FOLDS, 2, SEED)
    b = cv_split(clips, TASKS, N_FOLDS, 2, SEED)
    pd.testing.assert_frame_equal(a, b)
    others = [cv_split(clips, TASKS, N_FOLDS, 2, seed)["split"].tolist() for seed in (SEED + 10, SEED + 20)]
    assert any(other != a["split"].tolist() for other in others)
    assert dataset_split(clips, TASKS, FRACTIONS, 5).tolist() == dataset_split(clips, TASKS, FRACTIONS, 5).tolist()


def test_cv_split_follows_the_rows_not_the_index(clips):
    shifted = clips.copy()
    shifted.index = np.arange(1000, 1000 + 2 * len(clips), 2)  # as after dropping rows
    a = cv_split(clips, TASKS, N_FOLDS, 1, SEED)
    b = cv_split(shifted, TASKS, N_FOLDS, 1, SEED)
    assert b.index.equals(shifted.index)
    assert a["split"].tolist() == b["split"].tolist()


def test_dataset_split_respects_fractions_and_groups(clips):
    split = dataset_split(clips, TASKS, FRACTIONS, SEED)
    assert len(split) == len(clips)
    assert set(split) == set(SPLITS)
    counts = pd.Series(split).value_counts()
    assert 60 <= counts["train"] <= 84  # 72
    assert 16 <= counts["validation"] <= 32  # 24
    assert 16 <= counts["test"] <= 32  # 24
    table = clips.assign(split=split)
    assert straddling_groups(table) == []
    # every style in every split
    assert (pd.crosstab(table["style"], table["split"]) > 0).all().all()
    # the manifest split is fold 0 of the k-fold the test fraction implies
    expected = fold_split(strata(clips, TASKS, N_FOLDS), groups_of(clips), N_FOLDS, 0, SEED)
    assert split.tolist() == expected.tolist()


def test_dataset_split_normalises_fractions(clips):
    a = dataset_split(clips, TASKS, FRACTIONS, SEED)
    b = dataset_split(clips, TASKS, {"train": 3, "validation": 1, "test": 1}, SEED)
    assert a.tolist() == b.tolist()
    # a test fraction of a quarter makes four folds: the test set grows
    quarter = pd.Series(dataset_split(clips, TASKS, {"train": 0.5, "validation": 0.25, "test": 0.25}, SEED))
    assert 22 <= (quarter == "test").sum() <= 38  # 30


def test_dataset_split_follows_a_validation_fraction_unlike_the_test_fraction(clips):
    split = pd.Series(dataset_split(clips, TASKS, {"train": 0.7, "validation": 0.1, "test": 0.2}, SEED))
    assert 6 <= (split == "validation").sum() <= 18  # about 12 asked for


def test_dataset_split_with_half_the_clips_for_testing(clips):
    split = pd.Series(dataset_split(clips, TASKS, {"train": 0.3, "validation": 0.2, "test": 0.5}, SEED))
    assert set(split) == set(SPLITS)
    with pytest.raises(ValueError, match="at most half"):
        dataset_split(clips, TASKS, {"train": 0.1, "validation": 0.2, "test": 0.7}, SEED)


def test_strata_join_every_task_when_strata_are_large_enough(clips):
    labels = strata(clips, TASKS, N_FOLDS)
    assert labels.tolist() == (clips["style"] + "|" + clips["instrument"]).tolist()


def test_strata_fall_back_to_the_first_task_then_to_a_constant():
    # 10 clips, 2 styles, every instrument different: no style|instrument stratum has 5 clips.
    small = pd.DataFrame({"clip_id": [f"c{i}" for i in range(10)],
                          "style": ["a"] * 6 + ["b"] * 4,
                          "instrument": [f"i{i}" for i in range(10)]})
    assert strata(small, TASKS, 5).tolist() == small["style"].tolist()
    # no style has 7 clips either: only grouping is left, one constant stratum
    constant = strata(small, TASKS, 7)
    assert len(constant) == len(small) and len(set(constant)) == 1
    # with one task, its labels as they are (as strings)
    numeric = small.assign(style=[1] * 5 + [2] * 5)
    assert strata(numeric, ["style"], 5).tolist() == ["1"] * 5 + ["2"] * 5


def test_small_table_with_fallback_strata_still_splits_by_group():
    small = make_clips([2, 1, 3, 1, 2, 1, 2, 3, 1, 2], seed=3)
    small["instrument"] = [f"i{i}" for i in range(len(small))]  # joint strata all of size 1
    for index in range(2 * N_FOLDS):
        table = cv_split(small, TASKS, N_FOLDS, index, SEED)
        assert straddling_groups(table) == []
        assert (table["split"] == "validation").any() and (table["split"] == "test").any()


def test_groups_of_uses_the_group_column_and_falls_back_to_clip_id():
    with_groups = pd.DataFrame({"clip_id": ["a", "b", "c", "d"], "group": ["g1", "", "g1", "g2"]})
    assert groups_of(with_groups).tolist() == ["g1", "b", "g1", "g2"]
    without = pd.DataFrame({"clip_id": ["a", "b", "c"]})
    assert groups_of(without).tolist() == ["a", "b", "c"]
    numeric = pd.DataFrame({"clip_id": [1, 2, 3]})
    assert groups_of(numeric).tolist() == ["1", "2", "3"]


def test_without_a_group_column_every_clip_is_its_own_group(clips):
    ungrouped = clips.drop(columns="group")
    table = cv_split(ungrouped, TASKS, N_FOLDS, 0, SEED)
    assert straddling_groups(table) == []
    # clips of one (hidden) work may now be split apart: grouping really comes from the column
    assert straddling_groups(table.assign(group=clips["group"])) != []


def test_straddling_groups_names_the_groups_that_straddle():
    table = pd.DataFrame({"clip_id": ["a", "b", "c", "d", "e"], "group": ["g1", "g1", "g2", "g2", ""],
                          "split": ["train", "test", "test", "test", "validation"]})
    assert straddling_groups(table) == ["g1"]


def test_fewer_groups_than_folds_is_a_clear_error():
    few = make_clips([5, 5, 5, 5])  # 4 groups, 20 clips
    with pytest.raises(ValueError, match=r"5 group folds of 4 group"):
        cv_split(few, TASKS, N_FOLDS, 0, SEED)
    # as many groups as folds is enough: one group tested, one for validation
    table = cv_split(make_clips([5, 5, 5, 5, 5]), TASKS, N_FOLDS, 0, SEED)
    assert table.groupby("split")["group"].nunique().to_dict() == {"test": 1, "train": 3, "validation": 1}


def test_a_fold_past_the_last_is_an_error(clips):
    labels, groups = strata(clips, TASKS, N_FOLDS), groups_of(clips)
    with pytest.raises(ValueError, match="fold 5 does not exist"):
        fold_split(labels, groups, N_FOLDS, N_FOLDS, SEED)
