"""Text features: TF-IDF fitted on the training clips of a split table only, applied to every clip."""

from __future__ import annotations

import numpy as np
import pytest

from musicfusion.features.text import fit_on_split

from clip_cases import TEXT_PARAMS, make_manifest


def text_shards() -> list[dict]:
    """Titles of make_manifest's clips in two shards; 'zwqxj' appears only in a test title."""
    return [{"clip_ids": np.array(["c05", "c02", "c04"]),
             "text": np.array(["zwqxj zwqxj", "chorale hymn", "ballad song"])},
            {"clip_ids": np.array(["c01", "c03", "c06"]),
             "text": np.array(["chorale hymn", "song dance", "hymn chorale zwqxj"])}]


def test_extract_text_fits_the_vocabulary_on_training_clips_only():
    data, vectorizer = fit_on_split(text_shards(), make_manifest(), TEXT_PARAMS)
    names = data["feature_names"].tolist()
    assert names == vectorizer.get_feature_names_out().tolist()
    assert "hym" in names and " so" in names  # from training titles
    # 'zwqxj' (test only) and 'ballad' (validation only) are not features
    assert not [n for n in names if set(n) & set("zwqxjb")]
    assert set(vectorizer.vocabulary_) == set(
        vectorizer.build_analyzer()("chorale hymn") + vectorizer.build_analyzer()("song dance"))
    assert data["clip_ids"].tolist() == ["c01", "c02", "c03", "c04", "c05", "c06"]  # sorted by clip id
    assert data["X"].dtype == np.float32 and data["X"].shape == (6, len(names))
    rows = dict(zip(data["clip_ids"], data["X"]))
    assert not rows["c05"].any()  # only unseen words: an empty row
    assert rows["c04"].any()  # 'song' shares n-grams with training text
    assert np.allclose(rows["c06"], vectorizer.transform(["hymn chorale zwqxj"]).toarray()[0])
    assert np.allclose(rows["c01"], rows["c02"])  # same title, same row


def test_extract_text_uses_the_given_split_table():
    manifest = make_manifest()
    resplit = manifest.assign(split=["train", "test", "train", "test", "validation", "validation"])
    data, _ = fit_on_split(text_shards(), resplit, TEXT_PARAMS)
    names = data["feature_names"].tolist()
    assert "zwq" in names and "bal" in names  # c05 and c04 train in this split
    assert "hym" not in names  # hymn is only in c01, c02, c06: none of them train here


def test_extract_text_without_training_clips_names_the_table():
    no_train = make_manifest().assign(split="test")
    with pytest.raises(ValueError, match="repeat-2/clips.csv: no training clip"):
        fit_on_split(text_shards(), no_train, TEXT_PARAMS, where="repeat-2/clips.csv")
