"""Preprocessing a library of one-shots (0.02 s and up): a clip is too short only below what its
modality's feature extractors describe (or an optional floor), and every one-shot kept gives
features."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from musicfusion.data.manifest import read_manifest
from musicfusion.data.preprocess import BadClipError, clip_limits, extractor_minimums, preprocess_shard
from musicfusion.features import audio, registry, video

SOURCE_RATE = 44100
ONE_SHOTS = [0.02, 0.05, 0.1, 0.3]


def one_shot(seconds: float, kind: str, rate: int = SOURCE_RATE, seed: int = 0) -> np.ndarray:
    n = max(1, int(round(seconds * rate)))
    t = np.arange(n) / rate
    source = np.sin(2 * np.pi * 660.0 * t) if kind == "sine" else np.random.default_rng(seed).standard_normal(n)
    return (0.3 * source * np.exp(-3 * t / seconds)).astype(np.float32)


def write_mp4(path: Path, n_frames: int, fps: float = 25.0) -> Path:
    import cv2

    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (64, 48))
    assert writer.isOpened(), "OpenCV cannot write mp4v here"
    for _ in range(n_frames):
        frame = np.full((48, 64, 3), 40, np.uint8)
        frame[10:30, 10:50] = 220
        writer.write(frame)
    writer.release()
    return path


def library(root: Path, files: dict[str, np.ndarray | tuple[np.ndarray, int]]) -> pd.DataFrame:
    """WAVs (samples, or samples and their rate) and their manifest: one audio-only clip each."""
    root.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        samples, rate = content if isinstance(content, tuple) else (content, SOURCE_RATE)
        sf.write(root / f"{name}.wav", samples, rate)
    rows = [{"clip_id": name, "audio_path": f"{name}.wav", "label": "hit"} for name in files]
    pd.DataFrame(rows).to_csv(root / "manifest.csv", index=False)
    return read_manifest(root / "manifest.csv", ["audio"], ["label"])


def preprocess(root: Path, manifest: pd.DataFrame, params: dict, modalities=("audio",), **overrides):
    """As the workflow's preprocess job: params.yaml's preprocessing and its extractors' minimums."""
    pre = dict(params["preprocess"], **overrides)
    shortest = extractor_minimums(params["features"], pre, modalities)
    return preprocess_shard(manifest, root, 0, 1, list(modalities), pre, shortest=shortest)


# ---------------------------------------------------------------- what preprocessing is told


def test_params_yaml_sets_no_floor_and_the_minimums_come_from_the_run_feature_sets(params, monkeypatch):
    pre, features = params["preprocess"], params["features"]
    assert pre.get("min_seconds", 0) == 0  # a one-shot library runs with no setting changed
    sr, fps = pre["audio"]["sample_rate"], pre["video"]["fps"]
    rates = {"sample_rate": sr, "fps": fps}
    sets = registry.run_feature_sets(features, ["audio", "video", "text"])
    minimums = extractor_minimums(features, pre, ["audio", "video", "text"])
    assert set(minimums) == {"audio", "video"}  # text and score have no duration
    assert minimums["audio"] == registry.shortest_clip_seconds("audio", features, rates, sets) >= 1 / sr
    assert minimums["video"] == 0.0
    assert minimums["audio"] < 0.02  # every one-shot of the report's library is long enough
    # Without further sets the audio minimum is the MFCCs' own: one sample.
    plain = dict(features, extra_sets=[])
    assert extractor_minimums(plain, pre, ["audio"]) == {"audio": 1 / sr}
    # A further set raises it when the dataset has its modality and the run extracts it.
    slow = registry.Extractor("audio", per_fold=False, extract=None, settings=("audio",),
                              shortest=lambda settings, rates: 0.25)
    monkeypatch.setitem(registry.EXTRACTORS, "audio.slow", slow)
    assert extractor_minimums(dict(features, extra_sets=["audio.slow"]), pre, ["audio"]) == {"audio": 0.25}
    assert extractor_minimums(dict(features, extra_sets=["audio.slow"]), pre, ["video"]) == {"video": 0.0}


def test_clip_limits_default_the_floor_to_zero(params):
    pre = {k: v for k, v in params["preprocess"].items() if k != "min_seconds"}
    limits = clip_limits(pre, {"audio": 0.01})
    assert limits == {"min_seconds": 0.0, "max_seconds": pre["max_seconds"], "long_clips": pre["long_clips"],
                      "shortest": {"audio": 0.01}}
    assert clip_limits(dict(pre, min_seconds=0.5))["min_seconds"] == 0.5


# ---------------------------------------------------------------- one-shots are kept and described


def test_one_shots_are_kept_and_give_finite_features_of_the_normal_width(tmp_path, params):
    files = {f"{kind}_{int(s * 1000):03d}ms": one_shot(s, kind) for s in ONE_SHOTS for kind in ("sine", "noise")}
    files["long"] = one_shot(10.0, "noise", seed=1)
    manifest = library(tmp_path / "hits", files)
    assert params["preprocess"]["on_bad_input"] == "fail"  # the default: any refusal would raise
    arrays, bad, absent = preprocess(tmp_path / "hits", manifest, params)
    assert bad.empty and absent.empty
    sr = params["preprocess"]["audio"]["sample_rate"]
    kept = dict(zip(arrays["audio"]["clip_ids"], arrays["audio"]["audio"]))  # a list of clips (no spool)
    assert [len(c) for c in kept.values()] == arrays["audio"]["lengths"].tolist()
    assert sorted(kept) == sorted(files)
    for name, samples in files.items():
        assert abs(len(kept[name]) - len(samples) * sr / SOURCE_RATE) <= 1, name
    settings = params["features"]["audio"]
    X, names = audio.extract(list(kept.values()), sr, settings)
    width = settings["n_mfcc"] * (1 + len(settings["delta_orders"])) * len(settings["pooling"])
    assert X.shape == (len(files), width) == (len(files), len(names))
    assert np.isfinite(X).all()
    # The clips are told apart: no two one-shots share their features.
    assert len({row.tobytes() for row in X}) == len(files)


def test_a_one_frame_video_is_kept_and_described(tmp_path, params):
    root = tmp_path / "flash"
    root.mkdir()
    write_mp4(root / "flash.mp4", 1)  # 0.04 s
    pd.DataFrame([{"clip_id": "flash", "video_path": "flash.mp4", "label": "x"}]).to_csv(root / "manifest.csv",
                                                                                          index=False)
    manifest = read_manifest(root / "manifest.csv", ["video"], ["label"])
    arrays, bad, _ = preprocess(root, manifest, params, modalities=("video",))
    assert bad.empty and arrays["video"]["lengths"].tolist() == [1]
    X, _ = video.extract(arrays["video"]["frames"], params["features"]["video"])
    assert np.isfinite(X).all() and X.any()


# ---------------------------------------------------------------- too short: below the need, or the floor


def test_a_clip_below_the_extractors_need_is_bad_naming_the_file_and_the_need(tmp_path, params):
    # One sample at 96 kHz lasts less than one sample at the preprocessed rate (the MFCCs' need).
    manifest = library(tmp_path / "lib", {"speck": (np.full(1, 0.3, np.float32), 96000),
                                          "hit": one_shot(0.05, "noise")})
    need = extractor_minimums(params["features"], params["preprocess"], ["audio"])["audio"]
    with pytest.raises(BadClipError) as err:
        preprocess(tmp_path / "lib", manifest, params)
    message = str(err.value)
    assert "speck.wav" in message and err.value.clip_id == "speck" and err.value.modality == "audio"
    assert f"too short: {1 / 96000:.3g} s; its audio feature extractors need at least {need:.3g} s" in message
    arrays, bad, _ = preprocess(tmp_path / "lib", manifest, params, on_bad_input="skip")
    assert bad["clip_id"].tolist() == ["speck"] and "need at least" in bad["problem"].iloc[0]
    assert arrays["audio"]["clip_ids"].tolist() == ["hit"]


def test_the_optional_floor_still_refuses_shorter_clips(tmp_path, params):
    manifest = library(tmp_path / "lib", {f"hit_{int(s * 1000):03d}ms": one_shot(s, "sine") for s in ONE_SHOTS})
    arrays, bad, _ = preprocess(tmp_path / "lib", manifest, params, on_bad_input="skip", min_seconds=0.08)
    assert bad["clip_id"].tolist() == ["hit_020ms", "hit_050ms"]
    assert all(problem.endswith("(preprocess.min_seconds is 0.08 s)") for problem in bad["problem"])
    assert arrays["audio"]["clip_ids"].tolist() == ["hit_100ms", "hit_300ms"]
