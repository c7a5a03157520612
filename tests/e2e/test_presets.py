"""The presets rendered from the real music21 corpus: the same seed builds the same dataset, byte
for byte, whatever the number of worker processes (a micro preset of two styles)."""

from __future__ import annotations

import copy

import pandas as pd
import pytest

from musicfusion.data.presets.collect import collect_dataset
from musicfusion.plumbing.config import collect_settings

pytestmark = pytest.mark.workflow


def test_same_seed_builds_identical_manifest_and_audio(params, tmp_path):
    micro = copy.deepcopy(params)
    micro["collect"]["presets"] = {"micro": {"clips_per_class": 3, "clip_seconds": 2.0}}
    # Two styles whose works are a file each (a collection of tunes in one file, such as O'Neill's,
    # is parsed whole for every clip): the determinism checked here does not depend on the style.
    micro["collect"]["styles"] = {k: micro["collect"]["styles"][k] for k in ("chorale", "trecento_madrigal")}
    collect = collect_settings(micro, "micro")
    a, duplicates_a = collect_dataset(collect, 7, tmp_path / "a", workers=2)
    b, duplicates_b = collect_dataset(collect, 7, tmp_path / "b", workers=1)
    assert (tmp_path / "a/manifest.csv").read_bytes() == (tmp_path / "b/manifest.csv").read_bytes()
    for rel in a["audio_path"]:
        assert (tmp_path / "a" / rel).read_bytes() == (tmp_path / "b" / rel).read_bytes()
    assert list(a["clip_id"]) == list(b["clip_id"])
    pd.testing.assert_frame_equal(duplicates_a, duplicates_b)
    assert list(duplicates_a.columns) == ["clip_id", "duplicate_of", "kind", "group"]
    low, high = collect["pulse_bpm"]
    assert a["pulse_bpm"].between(low, high).all()
    assert {"group", "work", "pulse_bpm"} <= set(a.columns)
