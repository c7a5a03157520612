"""Preprocess: validation of every file, the skip/fail policy, and the shapes of the outputs."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from musicfusion.manifest import read_manifest
from musicfusion.preprocess import BAD_CLIP_COLUMNS, BadClipError, merge_bad_clip_reports, preprocess_shard

N_CLIPS = 4


@pytest.fixture()
def small_dataset(tiny_dataset, tmp_path) -> Path:
    """A private copy of four tiny clips that a test may break."""
    root = tmp_path / "ds"
    (root / "clips").mkdir(parents=True)
    manifest = pd.read_csv(tiny_dataset / "manifest.csv", dtype=str, keep_default_na=False).head(N_CLIPS)
    for row in manifest.itertuples():
        for rel in (row.audio_path, row.video_path, row.text_path):
            shutil.copy(tiny_dataset / rel, root / rel)
    manifest.to_csv(root / "manifest.csv", index=False)
    return root


def run(root: Path, params: dict, policy: str = "fail"):
    pre = dict(params["preprocess"], on_bad_input=policy)
    seconds = params["collect"]["presets"]["tiny"]["clip_seconds"]
    return preprocess_shard(read_manifest(root / "manifest.csv"), root, 0, 1, seconds, pre)


def test_outputs_have_the_configured_shapes(small_dataset, params):
    outputs, bad = run(small_dataset, params)
    assert bad.empty and list(bad.columns) == BAD_CLIP_COLUMNS
    pre = params["preprocess"]
    seconds = params["collect"]["presets"]["tiny"]["clip_seconds"]
    audio = outputs["audio"]
    assert audio["audio"].shape == (N_CLIPS, round(seconds * pre["audio"]["sample_rate"]))
    rms_dbfs = 20 * np.log10(np.sqrt(np.mean(audio["audio"].astype(np.float64) ** 2, axis=1)))
    np.testing.assert_allclose(rms_dbfs, pre["audio"]["target_rms_dbfs"], atol=0.01)
    video = outputs["video"]
    v = pre["video"]
    assert video["frames"].shape == (N_CLIPS, round(seconds * v["fps"]), v["height"], v["width"])
    assert video["frames"].dtype == np.uint8 and video["frames"].std() > 0
    text = outputs["text"]["text"]
    assert all(t == " ".join(t.split()) and t == t.lower() for t in text)
    ids = [content["clip_ids"].tolist() for content in outputs.values()]
    assert ids[0] == ids[1] == ids[2]


def _break(root: Path, kind: str) -> tuple[str, str]:
    """Damage clip 1 in one way; return (clip_id, expected message fragment)."""
    manifest = pd.read_csv(root / "manifest.csv", dtype=str, keep_default_na=False)
    row = manifest.iloc[1]
    if kind == "missing":
        (root / row.audio_path).unlink()
        return row.clip_id, "file not found"
    if kind == "empty":
        (root / row.video_path).write_bytes(b"")
        return row.clip_id, "empty file"
    if kind == "unreadable":
        (root / row.audio_path).write_bytes(b"RIFF not really a wave file" * 10)
        return row.clip_id, "unreadable audio"
    if kind == "unreadable_video":
        (root / row.video_path).write_bytes(b"\x00\x01garbage" * 100)
        return row.clip_id, "unreadable video"
    if kind == "duration":
        sf.write(root / row.audio_path, np.zeros((44100, 2), np.float32) + 0.1, 44100)
        return row.clip_id, "wrong duration"
    if kind == "not_utf8":
        (root / row.text_path).write_bytes("Schöne Müllerin".encode("latin-1"))
        return row.clip_id, "not UTF-8"
    if kind == "outside":
        manifest.loc[1, "text_path"] = "../../etc/passwd"
        manifest.to_csv(root / "manifest.csv", index=False)
        return row.clip_id, "outside the data root"
    if kind == "blank_text":
        (root / row.text_path).write_text("  \n\t ", encoding="utf-8")
        return row.clip_id, "text is empty"
    raise AssertionError(kind)


KINDS = ["missing", "empty", "unreadable", "unreadable_video", "duration", "not_utf8", "outside", "blank_text"]


@pytest.mark.parametrize("kind", KINDS)
def test_fail_policy_names_the_file_and_returns_nothing(small_dataset, params, kind):
    clip_id, fragment = _break(small_dataset, kind)
    with pytest.raises(BadClipError) as err:  # raised before anything is returned to be written
        run(small_dataset, params, policy="fail")
    message = str(err.value)
    assert fragment in message and clip_id in message
    assert err.value.clip_id == clip_id


@pytest.mark.parametrize("kind", ["missing", "duration", "not_utf8", "outside"])
def test_skip_policy_drops_the_clip_everywhere_and_reports_it(small_dataset, params, kind):
    clip_id, fragment = _break(small_dataset, kind)
    outputs, bad = run(small_dataset, params, policy="skip")
    assert bad["clip_id"].tolist() == [clip_id]
    assert fragment in bad["problem"].iloc[0]
    for content in outputs.values():
        ids = content["clip_ids"].tolist()
        assert clip_id not in ids and len(ids) == N_CLIPS - 1


def test_merged_report_lists_every_shard():
    a = pd.DataFrame([{"clip_id": "z", "modality": "audio", "path": "p", "problem": "x"}])
    b = pd.DataFrame([{"clip_id": "c", "modality": "text", "path": "q", "problem": "y"}])
    merged = merge_bad_clip_reports([a, b])
    assert merged["clip_id"].tolist() == ["c", "z"]
