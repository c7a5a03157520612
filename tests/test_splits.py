"""Stratified train/validation/test splits and re-splitting a clip table, on constructed labels."""

from __future__ import annotations

import numpy as np
import pandas as pd

from musicfusion.splits import resplit, stratified_splits

FRACTIONS = {"train": 0.6, "validation": 0.2, "test": 0.2}
SEED = 0


def make_labels(sizes: dict[str, int], seed: int = SEED) -> pd.Series:
    """Labels with ``sizes[label]`` clips each, in shuffled order."""
    labels = np.concatenate([[label] * n for label, n in sizes.items()])
    return pd.Series(np.random.default_rng(seed).permutation(labels))


def make_clips(sizes: dict[str, int]) -> pd.DataFrame:
    """A clip table with a style to stratify by, an instrument and the dataset's own split."""
    style = make_labels(sizes).to_numpy()
    rng = np.random.default_rng(SEED + 1)
    return pd.DataFrame({"clip_id": [f"c{i:03d}" for i in range(len(style))],
                         "split": rng.choice(["train", "validation", "test"], len(style)),
                         "style": style,
                         "instrument": rng.choice(["piano", "organ"], len(style))})


def test_stratified_splits_keeps_proportions_per_class():
    labels = make_labels({"a": 20, "b": 10, "c": 5})
    split = stratified_splits(labels, FRACTIONS, SEED)
    counts = pd.crosstab(labels, split)
    # round(n * 0.2) for test and validation (at least one each), the rest for training
    assert counts.loc["a"].to_dict() == {"train": 12, "validation": 4, "test": 4}
    assert counts.loc["b"].to_dict() == {"train": 6, "validation": 2, "test": 2}
    assert counts.loc["c"].to_dict() == {"train": 3, "validation": 1, "test": 1}
    assert split.index.equals(labels.index)


def test_stratified_splits_normalises_fractions_and_keeps_small_classes_in_every_split():
    labels = make_labels({"a": 30, "tiny": 3})
    split = stratified_splits(labels, {"train": 3, "validation": 1, "test": 1}, SEED)  # sums to 5
    counts = pd.crosstab(labels, split)
    assert counts.loc["a"].to_dict() == {"train": 18, "validation": 6, "test": 6}
    assert counts.loc["tiny"].to_dict() == {"train": 1, "validation": 1, "test": 1}


def test_stratified_splits_is_fixed_by_the_seed_and_changes_with_another():
    labels = make_labels({"a": 30, "b": 30})
    first = stratified_splits(labels, FRACTIONS, seed=7)
    again = stratified_splits(labels, FRACTIONS, seed=7)
    other = stratified_splits(labels, FRACTIONS, seed=8)
    pd.testing.assert_series_equal(first, again)
    assert not first.equals(other)
    # another seed moves clips, never the proportions
    pd.testing.assert_frame_equal(pd.crosstab(labels, first), pd.crosstab(labels, other))


def test_stratified_splits_follows_a_non_default_index():
    labels = make_labels({"a": 10, "b": 10})
    shifted = labels.copy()
    shifted.index = np.arange(100, 100 + 2 * len(labels), 2)  # as after dropping rows
    split = stratified_splits(shifted, FRACTIONS, SEED)
    assert split.index.equals(shifted.index)
    assert (split != "").all()
    # the same draw as with the default index, label for label
    assert split.to_numpy().tolist() == stratified_splits(labels, FRACTIONS, SEED).to_numpy().tolist()


def test_resplit_returns_a_new_stratified_table_and_leaves_the_input_alone():
    clips = make_clips({"chorale": 20, "folk": 10})
    before = clips.copy()
    out = resplit(clips, FRACTIONS, seed=3)
    pd.testing.assert_frame_equal(clips, before)  # input unchanged
    assert out is not clips
    pd.testing.assert_frame_equal(out.drop(columns="split"), clips.drop(columns="split"))
    assert not out["split"].equals(clips["split"])
    counts = pd.crosstab(out["style"], out["split"])
    assert counts.loc["chorale"].to_dict() == {"train": 12, "validation": 4, "test": 4}
    assert counts.loc["folk"].to_dict() == {"train": 6, "validation": 2, "test": 2}
    assert out["split"].tolist() == stratified_splits(clips["style"], FRACTIONS, 3).tolist()


def test_resplit_stratifies_by_the_given_column():
    clips = make_clips({"chorale": 17, "folk": 13})
    out = resplit(clips, FRACTIONS, seed=3, stratify_by="instrument")
    sizes = clips["instrument"].value_counts()
    counts = pd.crosstab(out["instrument"], out["split"])
    for instrument, n in sizes.items():
        held_out = max(1, int(round(n * 0.2)))
        assert counts.loc[instrument, "test"] == held_out
        assert counts.loc[instrument, "validation"] == held_out
        assert counts.loc[instrument, "train"] == n - 2 * held_out
    assert out["split"].tolist() == stratified_splits(clips["instrument"], FRACTIONS, 3).tolist()


def test_resplit_is_fixed_by_the_seed():
    clips = make_clips({"chorale": 20, "folk": 20})
    pd.testing.assert_frame_equal(resplit(clips, FRACTIONS, seed=5), resplit(clips, FRACTIONS, seed=5))
    assert not resplit(clips, FRACTIONS, seed=5)["split"].equals(resplit(clips, FRACTIONS, seed=6)["split"])
