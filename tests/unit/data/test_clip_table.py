"""The clip table: the clips that survived preprocessing with their modalities, split, group,
labels and title, and the description of a dataset drawn from it."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from musicfusion.data.clip_table import clip_table, describe_dataset

from clip_cases import make_manifest

SEED = 0
TASKS = ["style", "instrument"]
FRACTIONS = {"train": 0.6, "validation": 0.2, "test": 0.2}




def test_clip_table_lists_surviving_clips_with_their_modalities_split_labels_and_title():
    manifest = make_manifest()
    audio = [np.array(["c05", "c02"]), np.array(["c01", "c03"])]  # c04 and c06 did not survive
    text = [np.array(["c02"]), np.array(["c01", "c03"])]  # c05 has no text
    table = clip_table({"audio": audio, "text": text}, manifest, TASKS, FRACTIONS, SEED)
    assert list(table.columns) == ["clip_id", "split", "has_audio", "has_text", "style", "instrument", "title"]
    assert table["clip_id"].tolist() == ["c01", "c02", "c03", "c05"]
    assert table["has_text"].tolist() == [True, True, True, False] and table["has_audio"].all()
    by_id = manifest.set_index("clip_id")
    for column in ("split", "style", "instrument", "title"):
        assert table[column].tolist() == by_id.loc[table["clip_id"], column].tolist()
    grouped = clip_table({"audio": audio}, manifest.assign(group=["w1", "w1", "w2", "w3", "w3", "w4"]), TASKS,
                         FRACTIONS, SEED)
    assert grouped["group"].tolist() == ["w3", "w1", "w3", "w1"]  # the group travels with its clips
    with pytest.raises(ValueError, match="no clip survived"):
        clip_table({"audio": [np.array([], dtype=str)]}, manifest, TASKS, FRACTIONS, SEED)


def test_clip_table_splits_a_manifest_without_a_split_column():
    manifest = pd.DataFrame({"clip_id": [f"c{i:02d}" for i in range(40)], "genre": ["a", "b"] * 20,
                             "group": [f"w{i // 2}" for i in range(40)]})
    ids = {"audio": [manifest["clip_id"].to_numpy()]}
    table = clip_table(ids, manifest, ["genre"], FRACTIONS, SEED)
    assert table["split"].value_counts().to_dict() == pytest.approx({"train": 24, "validation": 8, "test": 8}, abs=4)
    assert (table.groupby("group")["split"].nunique() == 1).all()  # grouped
    again = clip_table(ids, manifest, ["genre"], FRACTIONS, SEED)
    assert table["split"].tolist() == again["split"].tolist()  # seeded


def test_describe_dataset_counts_clips_per_label_and_split():
    clips = make_manifest()
    table = describe_dataset(clips, ["style", "instrument"])
    assert list(table.columns) == ["task", "label", "train", "validation", "test", "total"]
    rows = {(r.task, r.label): (r.train, r.validation, r.test, r.total) for r in table.itertuples()}
    assert rows == {("style", "chorale"): (2, 0, 1, 3), ("style", "folk"): (1, 1, 1, 3),
                    ("instrument", "organ"): (1, 1, 1, 3), ("instrument", "piano"): (2, 0, 1, 3)}
    # a split with no clips at all still gets its column of zeros
    only_train = describe_dataset(clips[clips["split"] == "train"], ["style"])
    assert only_train[["validation", "test"]].to_numpy().tolist() == [[0, 0], [0, 0]]
    assert only_train["total"].tolist() == [2, 1]


def test_describe_dataset_counts_the_clips_whose_score_was_derived():
    clips = make_manifest()
    clips["has_audio"] = True
    clips["has_score"] = [True, True, False, True, True, False]  # two recordings gave too few notes
    table = describe_dataset(clips, ["style"], {"score": "audio"})
    rows = {(r.task, r.label): (r.train, r.validation, r.test, r.total) for r in table.itertuples()}
    having = clips.loc[clips["has_score"], "split"].value_counts()
    expected = tuple(int(having.get(split, 0)) for split in ("train", "validation", "test"))
    assert rows[("(derived from audio)", "score")] == (*expected, 4) and rows[("(absent)", "score")][3] == 2
    assert ("(derived from audio)", "audio") not in rows and len(describe_dataset(clips, ["style"])) == len(table) - 1
