"""Collect: the embedded dataset from the music21 corpus."""

from __future__ import annotations

import copy
import re

import cv2
import numpy as np
import pandas as pd
import soundfile as sf

from musicfusion.collect import collect_dataset, excerpt_notes, mask_text
from musicfusion.config import collect_settings
from musicfusion.manifest import REQUIRED_COLUMNS, read_manifest


def test_tiny_has_every_style_and_enough_clips(params, tiny_dataset):
    manifest = read_manifest(tiny_dataset / "manifest.csv")
    assert list(manifest.columns[: len(REQUIRED_COLUMNS)]) == list(REQUIRED_COLUMNS)
    per_style = manifest.groupby("style").size()
    assert set(per_style.index) == set(params["collect"]["styles"])
    assert (per_style == params["collect"]["presets"]["tiny"]["clips_per_class"]).all()
    assert manifest["instrument"].nunique() >= 4
    assert set(manifest["instrument"]) <= set(params["collect"]["instruments"])
    # Stratified: every style appears in every split.
    assert (manifest.groupby(["style", "split"]).size().unstack().fillna(0) > 0).all().all()


def test_media_have_the_clip_length_and_are_readable(params, tiny_dataset):
    manifest = read_manifest(tiny_dataset / "manifest.csv")
    seconds = params["collect"]["presets"]["tiny"]["clip_seconds"]
    fps = params["collect"]["video"]["fps"]
    for row in manifest.head(6).itertuples():
        info = sf.info(tiny_dataset / row.audio_path)
        assert info.samplerate == params["collect"]["render_sample_rate"]
        assert info.frames == round(seconds * info.samplerate)
        audio, _ = sf.read(tiny_dataset / row.audio_path)
        assert np.sqrt(np.mean(audio ** 2)) > 1e-3, "rendered audio is silent"
        capture = cv2.VideoCapture(str(tiny_dataset / row.video_path))
        assert capture.isOpened()
        assert int(capture.get(cv2.CAP_PROP_FRAME_COUNT)) == round(seconds * fps)
        capture.release()
        text = (tiny_dataset / row.text_path).read_text(encoding="utf-8")
        assert re.search(r"\w", text)


def test_text_has_no_label_words(params, tiny_dataset):
    manifest = read_manifest(tiny_dataset / "manifest.csv")
    words = params["collect"]["mask_words"]
    for row in manifest.itertuples():
        text = (tiny_dataset / row.text_path).read_text(encoding="utf-8").lower()
        for word in words:
            assert not re.search(rf"\b{re.escape(word)}", text), (row.clip_id, word)


def test_mask_text_masks_whole_words_case_insensitively():
    assert mask_text("The Kesh JIG, a reel", ["jig", "reel"], "[...]") == "The Kesh [...], a [...]"
    assert mask_text("Jiggle", ["jig"], "#") == "#"  # word prefixes of a label word are masked too
    assert mask_text("a rigid mass", ["jig"], "#") == "a rigid mass"


def test_excerpt_repeats_short_tunes_and_stops_at_clip_length():
    from music21 import note, stream

    part = stream.Part()
    for pitch in ("C4", "E4", "G4", "C5"):
        part.append(note.Note(pitch, quarterLength=1.0))
    score = stream.Score([part])
    # 4 quarters at 120 bpm = 2 s per pass; a 5 s clip needs 3 passes, the last one cut.
    notes = excerpt_notes(score, clip_seconds=5.0, default_bpm=120, max_repeats=4)
    assert len(notes) == 10
    assert max(n.end for n in notes) <= 5.0
    assert notes[4].start == 2.0 and notes[4].pitch == notes[0].pitch


def test_same_seed_builds_identical_manifest_and_audio(params, tmp_path):
    micro = copy.deepcopy(params)
    micro["collect"]["presets"] = {"micro": {"clips_per_class": 3, "clip_seconds": 2.0}}
    micro["collect"]["styles"] = {k: micro["collect"]["styles"][k] for k in ("chorale", "fiddle_tune")}
    collect = collect_settings(micro, "micro")
    a = collect_dataset(collect, 7, tmp_path / "a", workers=2)
    b = collect_dataset(collect, 7, tmp_path / "b", workers=1)
    assert (tmp_path / "a/manifest.csv").read_bytes() == (tmp_path / "b/manifest.csv").read_bytes()
    for rel in a["audio_path"]:
        assert (tmp_path / "a" / rel).read_bytes() == (tmp_path / "b" / rel).read_bytes()
    assert list(a["clip_id"]) == list(b["clip_id"])
