"""Feature matrices: gathering shards, the clip table, text fitted on train, and loading aligned files."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from musicfusion.data.clip_table import clip_table, describe_dataset
from musicfusion.features.matrices import load_features
from musicfusion.features.shards import extract_control_shard, extract_shard, gather
from musicfusion.features.text import fit_on_split
from musicfusion.plumbing.files import read_table, save_npz, write_csv

SEED = 0
TASKS = ["style", "instrument"]
FRACTIONS = {"train": 0.6, "validation": 0.2, "test": 0.2}
# features.text of params.yaml, with min_df 1 so that a word seen once in training is kept
TEXT_PARAMS = {"analyzer": "char_wb", "ngram_range": [2, 4], "min_df": 1, "max_features": 5000,
               "sublinear_tf": True}


def shard(ids, X, names=("f0", "f1")) -> dict:
    return {"clip_ids": np.array(ids, dtype=str), "X": np.asarray(X, dtype=np.float32),
            "feature_names": np.array(names, dtype=str)}


def empty_shard() -> dict:
    return {"clip_ids": np.array([], dtype=str), "X": np.zeros((0, 0), np.float32),
            "feature_names": np.array([], dtype=str)}


def make_manifest() -> pd.DataFrame:
    """Six clips in no particular order, with paths the clip table must leave out."""
    return pd.DataFrame({
        "clip_id": ["c05", "c02", "c04", "c01", "c03", "c06"],
        "split": ["test", "train", "validation", "train", "train", "test"],
        "style": ["folk", "chorale", "folk", "chorale", "folk", "chorale"],
        "instrument": ["piano", "organ", "organ", "piano", "piano", "organ"],
        "title": ["Reel 5", "Chorale 2", "Ballad 4", "Chorale 1", "Song 3", "Chorale 6"],
        "audio_path": [f"audio/c0{i}.wav" for i in (5, 2, 4, 1, 3, 6)],
    })


def test_gather_sorts_rows_by_clip_id_across_shards_and_skips_empty_shards():
    parts = [shard(["c3", "c1"], [[3, 3], [1, 1]]), empty_shard(),
             shard(["c2", "c0"], [[2, 2], [0, 0]])]
    out = gather(parts)
    assert out["clip_ids"].tolist() == ["c0", "c1", "c2", "c3"]
    assert out["X"][:, 0].tolist() == [0, 1, 2, 3]  # rows moved with their ids
    assert out["feature_names"].tolist() == ["f0", "f1"]
    # an empty shard first (no feature names): the names come from a shard with clips
    assert gather([empty_shard(), *parts])["feature_names"].tolist() == ["f0", "f1"]


def test_gather_raises_naming_what_when_every_shard_is_empty():
    with pytest.raises(ValueError, match="video features: every shard is empty"):
        gather([empty_shard(), empty_shard()], what="video features")


def test_extract_shard_refuses_text():
    with pytest.raises(ValueError, match="'text'"):
        extract_shard("text", {"clip_ids": np.array(["c1"]), "text": np.array(["a b"])}, TEXT_PARAMS)


def test_extract_shard_of_an_empty_shard_is_skipped_by_gather():
    empty = extract_shard("audio", {"clip_ids": np.array([], dtype=str)}, {}, sample_rate=22050)
    assert empty["X"].shape == (0, 0) and empty["X"].dtype == np.float32
    out = gather([empty, shard(["c2", "c1"], [[2, 2], [1, 1]])], what="audio")
    assert out["clip_ids"].tolist() == ["c1", "c2"]


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


def test_load_features_keeps_the_clips_that_have_every_asked_modality(tmp_path):
    ids = ["c1", "c2", "c3", "c4"]
    write_features(tmp_path, ids, np.random.default_rng(SEED))
    clips = read_table(tmp_path / "clips.csv").assign(has_audio=True, has_text=[True, False, True, True])
    write_csv(tmp_path / "clips.csv", clips)
    text = np.arange(6, dtype=np.float32).reshape(3, 2)
    save_npz(tmp_path / "text.npz", clip_ids=np.array(["c1", "c3", "c4"]), X=text, feature_names=np.array(["a", "b"]))
    X, kept = load_features(tmp_path, ["audio", "text"])
    assert kept["clip_id"].tolist() == ["c1", "c3", "c4"] and np.array_equal(X["text"], text)
    X, kept = load_features(tmp_path, ["audio"])
    assert kept["clip_id"].tolist() == ids and len(X["audio"]) == 4


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


def write_features(feature_dir, ids: list[str], rng: np.random.Generator) -> dict:
    """audio, video and text npz files and clips.csv in feature_dir; returns the matrices."""
    matrices = {"audio": rng.normal(size=(len(ids), 3)), "video": rng.normal(size=(len(ids), 2)),
                "text": rng.random(size=(len(ids), 4))}
    for modality, X in matrices.items():
        save_npz(feature_dir / f"{modality}.npz", clip_ids=np.array(ids), X=X.astype(np.float32),
                 feature_names=np.array([f"{modality}{j}" for j in range(X.shape[1])]))
    clips = pd.DataFrame({"clip_id": ids, "split": ["train", "train", "validation", "test"],
                          "style": ["a", "b", "a", "b"], "instrument": ["p", "p", "o", "o"]})
    write_csv(feature_dir / "clips.csv", clips)
    return {m: x.astype(np.float32) for m, x in matrices.items()}


def test_load_features_reads_aligned_matrices_and_the_clip_table(tmp_path):
    ids = ["c1", "c2", "c3", "c4"]
    matrices = write_features(tmp_path, ids, np.random.default_rng(SEED))
    X, clips = load_features(tmp_path, ["audio", "text"])
    assert sorted(X) == ["audio", "text"]
    assert np.array_equal(X["audio"], matrices["audio"]) and np.array_equal(X["text"], matrices["text"])
    assert clips["clip_id"].tolist() == ids
    assert clips["split"].tolist() == ["train", "train", "validation", "test"]


def test_load_features_of_a_fold_takes_its_own_split_and_text(tmp_path):
    ids = ["c1", "c2", "c3", "c4"]
    rng = np.random.default_rng(SEED)
    base = write_features(tmp_path, ids, rng)
    own = tmp_path / "fold-1"
    refitted = rng.random(size=(4, 5)).astype(np.float32)  # another vocabulary, another width
    save_npz(own / "text.npz", clip_ids=np.array(ids), X=refitted, feature_names=np.array(list("vwxyz")))
    write_csv(own / "clips.csv", pd.DataFrame({"clip_id": ids, "split": ["test", "validation", "train", "train"],
                                               "style": ["a", "b", "a", "b"], "instrument": ["p", "p", "o", "o"]}))
    X, clips = load_features(tmp_path, ["audio", "video", "text"], fold=1)
    assert clips["split"].tolist() == ["test", "validation", "train", "train"]
    assert np.array_equal(X["text"], refitted)
    assert np.array_equal(X["audio"], base["audio"]) and np.array_equal(X["video"], base["video"])
    X0, clips0 = load_features(tmp_path, ["text"])  # the dataset's own split is untouched
    assert np.array_equal(X0["text"], base["text"])
    assert clips0["split"].tolist() == ["train", "train", "validation", "test"]


def test_load_features_of_the_control_set_reads_the_controls(tmp_path):
    ids = ["c1", "c2", "c3", "c4"]
    write_features(tmp_path, ids, np.random.default_rng(SEED))
    controls = np.arange(8, dtype=np.float32).reshape(4, 2)
    save_npz(tmp_path / "control" / "text.npz", clip_ids=np.array(ids), X=controls,
             feature_names=np.array(["n_chars", "n_words"]))
    X, _ = load_features(tmp_path, ["text"], feature_set="control")
    assert np.array_equal(X["text"], controls)
    with pytest.raises(ValueError, match="unknown feature set"):
        load_features(tmp_path, ["text"], feature_set="shortcut")


def test_extract_control_shard_gives_named_controls_per_clip():
    shard = {"clip_ids": np.array(["a", "b"]), "text": np.array(["nun ruhen alle waelder", "kunzi"])}
    out = extract_control_shard("text", shard, {"languages": ["de", "en"]}, 22050, 5)
    assert out["X"].shape[0] == 2 and "n_chars" in out["feature_names"].tolist()
    assert out["X"][:, list(out["feature_names"]).index("n_chars")].tolist() == [22.0, 5.0]
    empty = extract_control_shard("audio", {"clip_ids": np.array([], dtype=str)}, {}, 22050, 5)
    assert empty["X"].shape == (0, 0)
    with pytest.raises(ValueError, match="no feature extractor for modality .lyrics."):
        extract_control_shard("lyrics", shard, {}, 22050, 5)


def test_load_features_aligns_rows_by_clip_id_and_names_a_missing_clip(tmp_path):
    ids = ["c1", "c2", "c3", "c4"]
    base = write_features(tmp_path, ids, np.random.default_rng(SEED))
    reversed_video = base["video"][::-1]
    save_npz(tmp_path / "video.npz", clip_ids=np.array(ids[::-1]), X=reversed_video,
             feature_names=np.array([f"v{j}" for j in range(reversed_video.shape[1])]))
    X, _ = load_features(tmp_path, ["video"])
    assert np.array_equal(X["video"], base["video"])  # rows follow clips.csv, whatever the file's order
    save_npz(tmp_path / "video.npz", clip_ids=np.array(ids[:3]), X=base["video"][:3],
             feature_names=np.array([f"v{j}" for j in range(reversed_video.shape[1])]))
    load_features(tmp_path, ["audio"])  # the other modalities still load
    with pytest.raises(ValueError, match="video.npz: rows are not aligned with clips.csv .clip c4 missing"):
        load_features(tmp_path, ["audio", "video"])
