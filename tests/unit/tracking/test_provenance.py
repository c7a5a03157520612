"""Provenance: the commit, data and parameter hashes and package versions behind a result."""

from __future__ import annotations

import subprocess

import pandas as pd

from musicfusion.tracking.provenance import dataset_fingerprint, git_commit, params_sha256, provenance, provenance_tags


def write_dataset(root, text="hello"):
    (root / "clips").mkdir(parents=True, exist_ok=True)
    for name in ("a.wav", "a.mp4"):
        (root / "clips" / name).write_bytes(b"media " + name.encode())
    (root / "clips" / "a.txt").write_text(text, encoding="utf-8")
    pd.DataFrame([{"clip_id": "a", "split": "train", "style": "s", "instrument": "i", "audio_path": "clips/a.wav",
                   "video_path": "clips/a.mp4", "text_path": "clips/a.txt"}]).to_csv(root / "manifest.csv",
                                                                                    index=False)
    return root / "manifest.csv"


def test_fingerprint_covers_the_manifest_and_every_media_file(tmp_path):
    first = dataset_fingerprint(write_dataset(tmp_path / "one"))
    assert (first["n_clips"], first["n_files"]) == (1, 3) and len(first["sha256"]) == 64
    assert dataset_fingerprint(write_dataset(tmp_path / "two")) == first  # where it lies does not matter
    assert dataset_fingerprint(write_dataset(tmp_path / "three", text="other"))["sha256"] != first["sha256"]


def test_params_hash_ignores_key_order_and_sees_values():
    assert params_sha256({"a": 1, "b": [1, 2]}) == params_sha256({"b": [1, 2], "a": 1})
    assert params_sha256({"a": 1}) != params_sha256({"a": 2})


def test_git_commit_marks_uncommitted_changes(tmp_path):
    assert git_commit(tmp_path) == "unknown"  # not a repository
    run = {"cwd": tmp_path, "check": True, "capture_output": True}
    subprocess.run(["git", "init", "-q"], **run)
    (tmp_path / "f").write_text("1")
    subprocess.run(["git", "add", "f"], **run)
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "x"], **run)
    head = subprocess.run(["git", "rev-parse", "HEAD"], text=True, **run).stdout.strip()
    assert git_commit(tmp_path) == head
    (tmp_path / "f").write_text("2")
    assert git_commit(tmp_path) == head + "-dirty"


def test_provenance_record_and_its_tags():
    record = provenance({"dataset": "tiny", "seed": 1}, {"sha256": "d" * 64})
    assert record["dataset"] == "tiny" and record["dataset_sha256"] == "d" * 64
    assert record["params_sha256"] == params_sha256({"dataset": "tiny", "seed": 1})
    assert {"scikit-learn", "numpy", "mlflow", "fluidsynth"} <= set(record["packages"])
    tags = provenance_tags(record)
    assert tags["version.numpy"] == record["packages"]["numpy"] and "packages" not in tags
