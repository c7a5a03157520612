"""Feature matrices loaded from their files, rows aligned with a clip table."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from musicfusion.features.matrices import load_features
from musicfusion.plumbing.files import read_table, save_npz, write_csv

SEED = 0


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
    X, _ = load_features(tmp_path, ["text"], feature_kind="control")
    assert np.array_equal(X["text"], controls)
    with pytest.raises(ValueError, match="unknown kind of features"):
        load_features(tmp_path, ["text"], feature_kind="shortcut")


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
