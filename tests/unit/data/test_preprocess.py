"""Preprocess: validation of every file, the skip/fail policy, absent modalities, and the
ragged (real-length) form of the outputs."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from musicfusion import MODALITIES
from musicfusion.data.manifest import read_manifest
from musicfusion.data.preprocess import (
    ABSENT_COLUMNS,
    BAD_CLIP_COLUMNS,
    BadClipError,
    extractor_minimums,
    load_audio,
    load_video,
    merge_reports,
    preprocess_shard,
    undecoded_frames,
)
from musicfusion.features.shards import split_ragged
from musicfusion.plumbing.files import load_npz, save_npz

from support import sine

N_CLIPS = 4
TASKS = ("style", "instrument")
SOURCE_RATE = 44100  # the rate the presets render at; the tests' WAVs are resampled like theirs
# Limits for the tests' own media (a second or two long), whatever params.yaml says.
LIMITS = {"min_seconds": 1.0, "max_seconds": 30.0, "long_clips": "start"}


# --------------------------------------------------------------------------------------------
# helpers


def pre_params(params: dict, policy: str = "fail", **overrides) -> dict:
    """The ``preprocess`` section with a policy and any top-level overrides (never mutated)."""
    return dict(params["preprocess"], on_bad_input=policy, **overrides)


def limits_of(pre: dict) -> dict:
    return {k: pre[k] for k in ("min_seconds", "max_seconds", "long_clips")}


def run(root: Path, params: dict, policy: str = "fail", modalities=MODALITIES, tasks=TASKS, **overrides):
    pre = pre_params(params, policy, **overrides)
    manifest = read_manifest(root / "manifest.csv", modalities, tasks)
    # As the workflow runs it: a clip is too short below what the run's feature sets describe.
    shortest = extractor_minimums(params["features"], pre, modalities)
    outputs, bad, absent = preprocess_shard(manifest, root, 0, 1, list(modalities), pre, shortest=shortest)
    return stored(outputs), bad, absent


def stored(outputs: dict) -> dict:
    """Each modality's interim content as the workflow stores and reads it (save_npz, load_npz)."""
    with tempfile.TemporaryDirectory() as folder:
        for modality, content in outputs.items():
            save_npz(Path(folder) / f"{modality}.npz", **content)
        return {modality: load_npz(Path(folder) / f"{modality}.npz") for modality in outputs}


def tone(seconds: float, freq: float, sr: int = SOURCE_RATE, amplitude: float = 0.3) -> np.ndarray:
    return sine(seconds, sr, freq, amplitude)


def write_wav(path: Path, samples: np.ndarray, sr: int = SOURCE_RATE, stereo: bool = True,
              subtype: str = "PCM_16") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, np.stack([samples, samples], axis=1) if stereo else samples, sr, subtype=subtype)
    return path


def write_mp4(path: Path, levels, fps: float = 10.0, width: int = 64, height: int = 48) -> Path:
    """A colour MP4 ('mp4v') whose i-th frame is uniformly grey at ``levels[i]``."""
    import cv2

    path.parent.mkdir(parents=True, exist_ok=True)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (width, height))
    assert writer.isOpened(), "OpenCV cannot write mp4v here"
    for level in levels:
        writer.write(np.full((height, width, 3), int(level), dtype=np.uint8))
    writer.release()
    return path


def write_manifest(root: Path, rows: list[dict], columns: list[str]) -> Path:
    pd.DataFrame(rows, columns=columns).to_csv(root / "manifest.csv", index=False)
    return root / "manifest.csv"


def rms_dbfs(samples: np.ndarray) -> float:
    return float(20 * np.log10(np.sqrt(np.mean(samples.astype(np.float64) ** 2))))


def dominant_hz(samples: np.ndarray, sr: int) -> float:
    spectrum = np.abs(np.fft.rfft(samples.astype(np.float64) * np.hanning(len(samples))))
    return float(np.argmax(spectrum) * sr / len(samples))


@pytest.fixture()
def small_dataset(tiny_dataset, tmp_path) -> Path:
    """A private copy of four tiny clips that a test may break."""
    root = tmp_path / "ds"
    (root / "clips").mkdir(parents=True)
    manifest = pd.read_csv(tiny_dataset / "manifest.csv", dtype=str, keep_default_na=False).head(N_CLIPS)
    for row in manifest.itertuples():
        for modality in MODALITIES:
            rel = getattr(row, f"{modality}_path")
            shutil.copy(tiny_dataset / rel, root / rel)
    manifest.to_csv(root / "manifest.csv", index=False)
    return root


def edit_manifest(root: Path, row: int, **values) -> str:
    """Set columns of one manifest row; return its clip_id."""
    manifest = pd.read_csv(root / "manifest.csv", dtype=str, keep_default_na=False)
    for column, value in values.items():
        manifest.loc[row, column] = value
    manifest.to_csv(root / "manifest.csv", index=False)
    return manifest.loc[row, "clip_id"]


# --------------------------------------------------------------------------------------------
# the real clips of the tiny preset


def test_outputs_have_the_configured_form(small_dataset, params):
    outputs, bad, absent = run(small_dataset, params)
    assert bad.empty and list(bad.columns) == BAD_CLIP_COLUMNS
    assert absent.empty and list(absent.columns) == ABSENT_COLUMNS
    assert set(outputs) == set(MODALITIES)
    manifest = pd.read_csv(small_dataset / "manifest.csv", dtype=str, keep_default_na=False)
    pre = params["preprocess"]

    audio = outputs["audio"]
    seconds = [min(sf.info(small_dataset / p).duration, pre["max_seconds"]) for p in manifest["audio_path"]]
    expected = [round(s * pre["audio"]["sample_rate"]) for s in seconds]
    assert audio["audio"].dtype == np.float32 and audio["audio"].ndim == 1
    assert audio["lengths"].dtype == np.int64
    np.testing.assert_allclose(audio["lengths"], expected, atol=1)
    assert len(audio["audio"]) == audio["lengths"].sum()
    clips = split_ragged(audio["audio"], audio["lengths"])
    assert len(clips) == N_CLIPS
    for clip in clips:
        assert rms_dbfs(clip) == pytest.approx(pre["audio"]["target_rms_dbfs"], abs=0.01)

    video = outputs["video"]
    v = pre["video"]
    clip_seconds = min(params["collect"]["presets"]["tiny"]["clip_seconds"], pre["max_seconds"])
    assert video["frames"].dtype == np.uint8
    assert video["frames"].shape == (video["lengths"].sum(), v["height"], v["width"])
    assert video["lengths"].tolist() == [round(clip_seconds * v["fps"])] * N_CLIPS
    assert video["frames"].std() > 0

    text = outputs["text"]["text"]
    assert len(text) == N_CLIPS
    assert all(t == " ".join(t.split()) and t == t.lower() for t in text)
    ids = [content["clip_ids"].tolist() for content in outputs.values()]
    assert ids[0] == ids[1] == ids[2] == manifest["clip_id"].tolist()


def _break(root: Path, kind: str, params: dict) -> tuple[str, str, str]:
    """Damage clip 1 in one way; return (clip_id, expected problem fragment, named file)."""
    long_enough = 1.0
    manifest = pd.read_csv(root / "manifest.csv", dtype=str, keep_default_na=False)
    row = manifest.iloc[1]
    if kind == "missing":
        (root / row.audio_path).unlink()
        return row.clip_id, "file not found", row.audio_path
    if kind == "empty":
        (root / row.video_path).write_bytes(b"")
        return row.clip_id, "empty file", row.video_path
    if kind == "unreadable":
        (root / row.audio_path).write_bytes(b"RIFF not really a wave file" * 10)
        return row.clip_id, "unreadable audio", row.audio_path
    if kind == "unreadable_video":
        (root / row.video_path).write_bytes(b"\x00\x01garbage" * 100)
        return row.clip_id, "unreadable video", row.video_path
    if kind == "too_short":  # one sample at 96 kHz: shorter than one at the preprocessed rate
        write_wav(root / row.audio_path, np.full(1, 0.3, np.float32), sr=96000)
        return row.clip_id, "feature extractors need at least", row.audio_path
    if kind == "too_short_video":  # 0.25 s: any frame is long enough for HOG, not for the floor
        write_mp4(root / row.video_path, [128] * 5, fps=20)  # set in KIND_LIMITS
        return row.clip_id, "preprocess.min_seconds", row.video_path
    if kind == "not_finite":
        samples = tone(long_enough, 440.0)
        samples[1000:1010] = np.nan
        write_wav(root / row.audio_path, samples, subtype="FLOAT")
        return row.clip_id, "not finite", row.audio_path
    if kind == "silent":
        write_wav(root / row.audio_path, np.zeros(int(long_enough * SOURCE_RATE), np.float32))
        return row.clip_id, "silent", row.audio_path
    if kind == "not_utf8":
        (root / row.text_path).write_bytes("Schöne Müllerin".encode("latin-1"))
        return row.clip_id, "not UTF-8", row.text_path
    if kind == "outside":
        edit_manifest(root, 1, text_path="../../etc/passwd")
        return row.clip_id, "outside the data root", "../../etc/passwd"
    if kind == "blank_text":
        (root / row.text_path).write_text("  \n\t ", encoding="utf-8")
        return row.clip_id, "text is empty", row.text_path
    raise AssertionError(kind)


KINDS = ["missing", "empty", "unreadable", "unreadable_video", "too_short", "too_short_video",
         "not_finite", "silent", "not_utf8", "outside", "blank_text"]
# Limits a kind of damage is run under (params.yaml's otherwise).
KIND_LIMITS = {"too_short_video": {"min_seconds": 0.5}}


@pytest.mark.parametrize("kind", KINDS)
def test_fail_policy_names_the_file_and_returns_nothing(small_dataset, params, kind):
    clip_id, fragment, file = _break(small_dataset, kind, params)
    with pytest.raises(BadClipError) as err:  # raised before anything is returned to be written
        run(small_dataset, params, policy="fail", **KIND_LIMITS.get(kind, {}))
    message = str(err.value)
    assert fragment in message and clip_id in message
    assert Path(file).name in message and Path(file).name in err.value.path
    assert err.value.clip_id == clip_id


@pytest.mark.parametrize("kind", ["missing", "unreadable_video", "too_short", "too_short_video",
                                  "not_finite", "not_utf8", "outside"])
def test_skip_policy_drops_the_clip_everywhere_and_reports_it(small_dataset, params, kind):
    clip_id, fragment, file = _break(small_dataset, kind, params)
    outputs, bad, absent = run(small_dataset, params, policy="skip", **KIND_LIMITS.get(kind, {}))
    assert bad["clip_id"].tolist() == [clip_id]
    assert fragment in bad["problem"].iloc[0]
    assert Path(file).name in bad["path"].iloc[0]
    assert absent.empty  # a bad file is not an absent modality
    for content in outputs.values():
        ids = content["clip_ids"].tolist()
        assert clip_id not in ids and len(ids) == N_CLIPS - 1
    for modality, key in (("audio", "audio"), ("video", "frames")):
        assert len(outputs[modality]["lengths"]) == N_CLIPS - 1
        assert len(outputs[modality][key]) == outputs[modality]["lengths"].sum()


def test_fail_policy_raises_even_when_the_bad_clip_is_the_last(small_dataset, params):
    manifest = pd.read_csv(small_dataset / "manifest.csv", dtype=str, keep_default_na=False)
    (small_dataset / manifest["audio_path"].iloc[-1]).unlink()
    with pytest.raises(BadClipError, match="file not found"):
        run(small_dataset, params, policy="fail")


def test_unknown_policy_is_refused(small_dataset, params):
    with pytest.raises(ValueError, match="on_bad_input"):
        run(small_dataset, params, policy="ignore")


# --------------------------------------------------------------------------------------------
# absent modalities


def test_empty_text_path_is_absent_not_bad_and_the_clip_keeps_its_other_modalities(small_dataset, params):
    clip_id = edit_manifest(small_dataset, 2, text_path="")
    outputs, bad, absent = run(small_dataset, params, policy="fail")  # does not raise
    assert bad.empty
    assert absent.values.tolist() == [[clip_id, "text"]]
    assert list(absent.columns) == ABSENT_COLUMNS
    assert clip_id in outputs["audio"]["clip_ids"] and clip_id in outputs["video"]["clip_ids"]
    assert len(outputs["audio"]["clip_ids"]) == len(outputs["video"]["clip_ids"]) == N_CLIPS
    assert clip_id not in outputs["text"]["clip_ids"]
    assert len(outputs["text"]["clip_ids"]) == len(outputs["text"]["text"]) == N_CLIPS - 1
    assert len(outputs["audio"]["lengths"]) == N_CLIPS


def test_absent_audio_and_video_leave_the_ragged_arrays_consistent(small_dataset, params):
    a = edit_manifest(small_dataset, 0, audio_path="   ")  # whitespace only counts as empty
    b = edit_manifest(small_dataset, 3, video_path="", text_path="")
    outputs, bad, absent = run(small_dataset, params, policy="fail")
    assert bad.empty
    assert sorted(map(tuple, absent.values.tolist())) == sorted([(a, "audio"), (b, "video"), (b, "text")])
    assert a not in outputs["audio"]["clip_ids"] and len(outputs["audio"]["lengths"]) == N_CLIPS - 1
    assert b not in outputs["video"]["clip_ids"] and len(outputs["video"]["lengths"]) == N_CLIPS - 1
    assert len(outputs["audio"]["audio"]) == outputs["audio"]["lengths"].sum()
    assert len(outputs["video"]["frames"]) == outputs["video"]["lengths"].sum()


@pytest.mark.parametrize("policy", ["fail", "skip"])
def test_a_clip_with_no_path_at_all_is_bad(small_dataset, params, policy):
    clip_id = edit_manifest(small_dataset, 1, **{f"{m}_path": "" for m in MODALITIES})
    if policy == "fail":
        with pytest.raises(BadClipError, match="no path given for any modality") as err:
            run(small_dataset, params, policy=policy)
        assert err.value.clip_id == clip_id
        return
    outputs, bad, absent = run(small_dataset, params, policy=policy)
    assert bad["clip_id"].tolist() == [clip_id]
    assert "no path given for any modality" in bad["problem"].iloc[0]
    assert absent.empty
    for content in outputs.values():
        assert clip_id not in content["clip_ids"] and len(content["clip_ids"]) == N_CLIPS - 1


def test_a_bad_clip_with_an_absent_modality_is_only_reported_bad(small_dataset, params):
    manifest = pd.read_csv(small_dataset / "manifest.csv", dtype=str, keep_default_na=False)
    clip_id = edit_manifest(small_dataset, 1, text_path="")
    (small_dataset / manifest["audio_path"].iloc[1]).unlink()
    outputs, bad, absent = run(small_dataset, params, policy="skip")
    assert bad["clip_id"].tolist() == [clip_id] and absent.empty
    assert all(clip_id not in content["clip_ids"] for content in outputs.values())


def test_every_clip_lacking_a_modality_leaves_it_empty(small_dataset, params):
    manifest = pd.read_csv(small_dataset / "manifest.csv", dtype=str, keep_default_na=False)
    manifest["video_path"] = ""
    manifest.to_csv(small_dataset / "manifest.csv", index=False)
    outputs, bad, absent = run(small_dataset, params, policy="fail")
    v = params["preprocess"]["video"]
    assert bad.empty and len(absent) == N_CLIPS and set(absent["modality"]) == {"video"}
    assert outputs["video"]["clip_ids"].shape == (0,) and outputs["video"]["lengths"].shape == (0,)
    assert outputs["video"]["frames"].shape == (0, v["height"], v["width"])
    assert outputs["video"]["frames"].dtype == np.uint8
    assert len(outputs["audio"]["clip_ids"]) == N_CLIPS


# --------------------------------------------------------------------------------------------
# datasets with fewer modalities


def test_audio_only_dataset_reads_and_returns_only_audio(tmp_path, params):
    root = tmp_path / "songs"
    write_wav(root / "a.wav", tone(1.5, 330.0))
    write_wav(root / "sub" / "b.wav", tone(2.5, 550.0), stereo=False)
    write_manifest(root, [{"clip_id": "a", "audio_path": "a.wav", "genre": "x"},
                          {"clip_id": "b", "audio_path": "sub/b.wav", "genre": "y"}],
                   ["clip_id", "audio_path", "genre"])
    outputs, bad, absent = run(root, params, modalities=["audio"], tasks=["genre"], **LIMITS)
    assert bad.empty and absent.empty
    assert set(outputs) == {"audio"}
    sr = params["preprocess"]["audio"]["sample_rate"]
    assert outputs["audio"]["clip_ids"].tolist() == ["a", "b"]
    assert outputs["audio"]["lengths"].tolist() == [round(1.5 * sr), round(2.5 * sr)]


def test_only_the_datasets_modalities_are_read(tmp_path, params):
    root = tmp_path / "songs"
    write_wav(root / "a.wav", tone(1.5, 330.0))
    (root / "a.txt").write_text("Hello  World\n", encoding="utf-8")
    (root / "broken.mp4").write_bytes(b"not a video" * 10)
    write_manifest(root, [{"clip_id": "a", "audio_path": "a.wav", "video_path": "broken.mp4",
                           "text_path": "a.txt", "genre": "x"}],
                   ["clip_id", "audio_path", "video_path", "text_path", "genre"])
    outputs, bad, absent = run(root, params, modalities=["audio", "text"], tasks=["genre"], **LIMITS)
    assert bad.empty and absent.empty
    assert set(outputs) == {"audio", "text"}
    assert outputs["text"]["text"].tolist() == ["hello world"]


# --------------------------------------------------------------------------------------------
# real lengths: no padding, cut to max_seconds, too short below the floor min_seconds


def test_clips_keep_their_own_lengths_without_padding(tmp_path, params):
    root = tmp_path / "var"
    write_wav(root / "a.wav", tone(1.2, 440.0))
    write_wav(root / "b.wav", tone(2.6, 660.0, amplitude=0.05))
    write_mp4(root / "a.mp4", [60] * 12)   # 1.2 s at 10 fps
    write_mp4(root / "b.mp4", [180] * 20)  # 2.0 s
    (root / "a.txt").write_text("A", encoding="utf-8")
    (root / "b.txt").write_text("B", encoding="utf-8")
    columns = ["clip_id", "audio_path", "video_path", "text_path", "style", "instrument"]
    write_manifest(root, [dict(zip(columns, ["a", "a.wav", "a.mp4", "a.txt", "s", "i"])),
                          dict(zip(columns, ["b", "b.wav", "b.mp4", "b.txt", "s", "i"]))], columns)
    outputs, bad, absent = run(root, params, modalities=("audio", "video", "text"), **LIMITS)
    assert bad.empty and absent.empty
    pre = params["preprocess"]
    sr, v = pre["audio"]["sample_rate"], pre["video"]

    audio = outputs["audio"]
    assert audio["lengths"].tolist() == [round(1.2 * sr), round(2.6 * sr)]
    assert audio["audio"].shape == (audio["lengths"].sum(),)
    clips = split_ragged(audio["audio"], audio["lengths"])
    assert [len(c) for c in clips] == audio["lengths"].tolist()
    np.testing.assert_array_equal(np.concatenate(clips), audio["audio"])
    for clip, hz in zip(clips, (440.0, 660.0)):
        assert rms_dbfs(clip) == pytest.approx(pre["audio"]["target_rms_dbfs"], abs=0.01)
        assert dominant_hz(clip, sr) == pytest.approx(hz, abs=3)
        assert np.abs(clip[-100:]).max() > 0.01  # the tone runs to the end: nothing padded on

    video = outputs["video"]
    assert video["lengths"].tolist() == [round(1.2 * v["fps"]), round(2.0 * v["fps"])]
    assert video["frames"].shape == (video["lengths"].sum(), v["height"], v["width"])
    frames = split_ragged(video["frames"], video["lengths"])
    assert [f.shape[0] for f in frames] == video["lengths"].tolist()
    np.testing.assert_allclose([f.mean() for f in frames[0]], 60, atol=4)
    np.testing.assert_allclose([f.mean() for f in frames[1]], 180, atol=4)


def test_split_ragged_round_trip_and_empty():
    lengths = np.array([3, 1, 2], dtype=np.int64)
    flat = np.arange(6 * 2 * 2).reshape(6, 2, 2)
    parts = split_ragged(flat, lengths)
    assert [p.shape for p in parts] == [(3, 2, 2), (1, 2, 2), (2, 2, 2)]
    np.testing.assert_array_equal(np.concatenate(parts), flat)
    assert split_ragged(np.zeros(0, np.float32), np.zeros(0, np.int64)) == []


@pytest.mark.parametrize(("long_clips", "kept_hz"), [("start", 300.0), ("middle", 1000.0)])
def test_long_audio_is_cut_to_max_seconds_keeping_start_or_middle(tmp_path, params, long_clips, kept_hz):
    # three seconds: a 300 Hz second, a 1000 Hz second, a 3000 Hz second
    path = write_wav(tmp_path / "long.wav", np.concatenate([tone(1.0, hz) for hz in (300.0, 1000.0, 3000.0)]))
    pre = pre_params(params, min_seconds=0.5, max_seconds=1.0, long_clips=long_clips)
    samples = load_audio("long", path, limits_of(pre), pre["audio"])
    sr = pre["audio"]["sample_rate"]
    assert len(samples) == sr  # exactly max_seconds
    assert dominant_hz(samples, sr) == pytest.approx(kept_hz, abs=3)
    assert rms_dbfs(samples) == pytest.approx(pre["audio"]["target_rms_dbfs"], abs=0.01)


@pytest.mark.parametrize(("long_clips", "first_second"), [("start", 0), ("middle", 1)])
def test_long_audio_keeps_exactly_the_expected_samples(tmp_path, params, long_clips, first_second):
    # at the target rate (no resampling) the kept samples are the file's, scaled
    sr = params["preprocess"]["audio"]["sample_rate"]
    first = first_second * sr
    noise = np.random.default_rng(0).uniform(-0.5, 0.5, 3 * sr).astype(np.float32)
    path = write_wav(tmp_path / "noise.wav", noise, sr=sr, stereo=False, subtype="FLOAT")
    pre = pre_params(params, min_seconds=0.5, max_seconds=1.0, long_clips=long_clips)
    samples = load_audio("noise", path, limits_of(pre), pre["audio"])
    window = noise[first:first + sr]
    assert len(samples) == len(window)
    np.testing.assert_allclose(samples / samples.std(), window / window.std(), atol=1e-4)


def test_loudness_is_normalised_on_the_kept_window(tmp_path, params):
    # a loud first second, then two quiet ones: the middle second kept is quiet, and it is that
    # window that must reach the target (not the whole file, nor the first second)
    sr = params["preprocess"]["audio"]["sample_rate"]
    samples = np.concatenate([tone(1.0, 440.0, amplitude=0.9), tone(2.0, 440.0, amplitude=0.01)])
    path = write_wav(tmp_path / "loud_then_quiet.wav", samples)
    target = params["preprocess"]["audio"]["target_rms_dbfs"]
    for long_clips in ("start", "middle"):
        pre = pre_params(params, min_seconds=0.5, max_seconds=1.0, long_clips=long_clips)
        kept = load_audio("lq", path, limits_of(pre), pre["audio"])
        assert len(kept) == sr
        assert rms_dbfs(kept) == pytest.approx(target, abs=0.01)
        # the middle window is all quiet tone: flat envelope, no loud burst scaled down
        if long_clips == "middle":
            first, last = kept[: sr // 4], kept[-sr // 4:]
            assert rms_dbfs(first) == pytest.approx(rms_dbfs(last), abs=0.2)


@pytest.mark.parametrize(("long_clips", "first_frame"), [("start", 0), ("middle", 10)])
def test_long_video_is_cut_to_max_seconds_keeping_start_or_middle(tmp_path, params, long_clips, first_frame):
    levels = [20 + 7 * i for i in range(30)]  # 3 s at 10 fps, each frame its own grey
    path = write_mp4(tmp_path / "long.mp4", levels)
    pre = pre_params(params, min_seconds=0.5, max_seconds=1.0, long_clips=long_clips)
    v = dict(pre["video"], fps=5)
    frames = load_video("long", path, limits_of(pre), v)
    assert frames.shape == (round(1.0 * v["fps"]), v["height"], v["width"]) and frames.dtype == np.uint8
    step = 10 // v["fps"]  # source frames per kept frame
    expected = [levels[first_frame + j * step] for j in range(len(frames))]
    np.testing.assert_allclose([f.mean() for f in frames], expected, atol=4)


def test_a_clip_cut_in_a_dataset_has_max_seconds(tmp_path, params):
    root = tmp_path / "long"
    write_wav(root / "long.wav", tone(3.0, 440.0))
    write_wav(root / "short.wav", tone(1.5, 440.0))
    write_manifest(root, [{"clip_id": "long", "audio_path": "long.wav", "genre": "x"},
                          {"clip_id": "short", "audio_path": "short.wav", "genre": "x"}],
                   ["clip_id", "audio_path", "genre"])
    outputs, bad, _ = run(root, params, modalities=["audio"], tasks=["genre"],
                           **dict(LIMITS, max_seconds=2.0))
    sr = params["preprocess"]["audio"]["sample_rate"]
    assert bad.empty
    assert outputs["audio"]["lengths"].tolist() == [2 * sr, round(1.5 * sr)]


def test_too_short_audio_is_bad_and_named(tmp_path, params):
    path = write_wav(tmp_path / "short.wav", tone(0.8, 440.0))
    pre = pre_params(params, min_seconds=1.0)
    with pytest.raises(BadClipError, match="too short") as err:
        load_audio("short", path, limits_of(pre), pre["audio"])
    assert "short.wav" in str(err.value) and err.value.modality == "audio"


def test_audio_of_exactly_min_seconds_is_kept(tmp_path, params):
    sr = params["preprocess"]["audio"]["sample_rate"]
    path = write_wav(tmp_path / "exact.wav", tone(1.0, 440.0, sr=sr), sr=sr)
    pre = pre_params(params, min_seconds=1.0)
    assert len(load_audio("exact", path, limits_of(pre), pre["audio"])) == sr


def test_too_short_video_is_bad_and_named(tmp_path, params):
    path = write_mp4(tmp_path / "short.mp4", [100] * 8)  # 0.8 s
    pre = pre_params(params, min_seconds=1.0)
    with pytest.raises(BadClipError, match="too short") as err:
        load_video("short", path, limits_of(pre), pre["video"])
    assert "short.mp4" in str(err.value) and err.value.modality == "video"


@pytest.mark.parametrize("value", [np.nan, np.inf])
def test_non_finite_float_wav_is_bad(tmp_path, params, value):
    samples = tone(2.0, 440.0)
    samples[5000] = value
    path = write_wav(tmp_path / "nan.wav", samples, subtype="FLOAT")
    pre = pre_params(params, **LIMITS)
    with pytest.raises(BadClipError, match="not finite") as err:
        load_audio("nan", path, limits_of(pre), pre["audio"])
    assert "nan.wav" in str(err.value) and "unreadable" not in err.value.problem


def _nan_wav(path: Path, seconds: float, at: float, sr: int = 8000, value: float = np.nan) -> Path:
    """A mono float WAV of a tone, one sample ``value`` at ``at`` seconds."""
    samples = tone(seconds, 440.0, sr=sr)
    samples[int(round(at * sr))] = value
    return write_wav(path, samples, sr=sr, stereo=False, subtype="FLOAT")


@pytest.mark.parametrize(("long_clips", "at"), [("start", 35.0), ("start", 39.99), ("middle", 1.5), ("middle", 38.0)])
def test_non_finite_samples_outside_the_kept_window_make_a_long_clip_bad(tmp_path, params, long_clips, at):
    # 40 s against the real max_seconds (30 s): the defect lies where the clip is cut away
    pre = pre_params(params, long_clips=long_clips)
    assert pre["max_seconds"] < 40.0
    path = _nan_wav(tmp_path / "long.wav", 40.0, at)
    with pytest.raises(BadClipError) as err:
        load_audio("long", path, limits_of(pre), pre["audio"])
    assert err.value.problem == f"audio samples are not finite (NaN or infinity) at {at:.2f} s"
    assert "long.wav" in str(err.value)


@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
def test_non_finite_samples_in_the_middle_of_a_short_clip_are_named_with_their_time(tmp_path, params, value):
    pre = pre_params(params, **LIMITS)
    path = _nan_wav(tmp_path / "short.wav", 2.0, 1.25, value=value)
    with pytest.raises(BadClipError) as err:
        load_audio("short", path, limits_of(pre), pre["audio"])
    assert err.value.problem == "audio samples are not finite (NaN or infinity) at 1.25 s"


def test_non_finite_samples_are_found_in_any_block_and_in_any_channel(tmp_path, params, monkeypatch):
    import musicfusion.data.preprocess as preprocess

    monkeypatch.setattr(preprocess, "AUDIO_BLOCK_FRAMES", 1000)  # many blocks, the defect in a late one
    sr = 8000
    stereo = np.stack([tone(3.0, 440.0, sr=sr), tone(3.0, 660.0, sr=sr)], axis=1)
    stereo[20_500, 1] = np.nan  # right channel only, 2.5625 s
    path = tmp_path / "stereo.wav"
    sf.write(path, stereo, sr, subtype="FLOAT")
    pre = pre_params(params, **LIMITS)
    with pytest.raises(BadClipError, match=r"not finite \(NaN or infinity\) at 2\.56 s"):
        load_audio("stereo", path, limits_of(pre), pre["audio"])


@pytest.mark.parametrize("block", [1000, 4096, 1 << 16])
@pytest.mark.parametrize("long_clips", ["start", "middle"])
def test_audio_read_in_blocks_keeps_exactly_the_window(tmp_path, params, monkeypatch, block, long_clips):
    import musicfusion.data.preprocess as preprocess

    monkeypatch.setattr(preprocess, "AUDIO_BLOCK_FRAMES", block)
    sr = params["preprocess"]["audio"]["sample_rate"]  # no resampling: the kept samples are the file's
    noise = np.random.default_rng(1).uniform(-0.5, 0.5, int(3.3 * sr)).astype(np.float32)
    path = write_wav(tmp_path / "noise.wav", noise, sr=sr, stereo=False, subtype="FLOAT")
    pre = pre_params(params, min_seconds=0.5, max_seconds=1.7, long_clips=long_clips)
    samples = load_audio("noise", path, limits_of(pre), pre["audio"])
    first = int((3.3 - 1.7) / 2 * sr) if long_clips == "middle" else 0
    window = noise[first:first + int(1.7 * sr)]
    assert len(samples) == len(window)
    np.testing.assert_allclose(samples / samples.std(), window / window.std(), atol=1e-4)


# --------------------------------------------------------------------------------------------
# video frames that cannot be decoded


def write_textured_mp4(path: Path, n_frames: int, fps: float = 10.0, width: int = 96, height: int = 72) -> Path:
    """An mp4v MP4 of noise frames (as the project's render writes, but every frame costly to
    encode, so each takes many bytes of the file)."""
    import cv2

    rng = np.random.default_rng(0)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (width, height))
    assert writer.isOpened()
    for _ in range(n_frames):
        writer.write(rng.integers(0, 256, (height, width, 3), dtype=np.uint8))
    writer.release()
    return path


def corrupt_media_data(path: Path, start: float, stop: float) -> None:
    """Overwrite with zeros the part [start, stop) (fractions) of the MP4's media data ('mdat'),
    leaving the container's index ('moov') intact."""
    import struct

    data = bytearray(path.read_bytes())
    offset = 0
    while offset < len(data):
        size, kind = struct.unpack(">I4s", data[offset:offset + 8])
        if kind == b"mdat":
            first, end = offset + 8, offset + size
            break
        offset += size
    else:
        raise AssertionError("no mdat box")
    a, b = first + int(start * (end - first)), first + int(stop * (end - first))
    data[a:b] = bytes(b - a)
    path.write_bytes(bytes(data))


UNDECODED = r"video frames (\d+)-(\d+) of (\d+) could not be decoded"


def test_video_with_undecodable_frames_in_the_middle_is_bad(tmp_path, params):
    import re

    path = write_textured_mp4(tmp_path / "broken.mp4", 50)  # 5 s, shorter than max_seconds
    pre = pre_params(params, **LIMITS)
    v = dict(pre["video"], width=32, height=24)
    assert load_video("intact", path, limits_of(pre), v).shape == (25, 24, 32)
    corrupt_media_data(path, 0.4, 0.6)
    with pytest.raises(BadClipError) as err:
        load_video("broken", path, limits_of(pre), v)
    found = re.fullmatch(UNDECODED, err.value.problem)
    assert found, err.value.problem
    first, last, listed = map(int, found.groups())
    assert listed == 50 and 1 < first <= last < 50  # in the middle: decoding went on after it
    assert err.value.modality == "video" and "broken.mp4" in str(err.value)


@pytest.mark.parametrize("long_clips", ["start", "middle"])
def test_undecodable_frames_outside_the_kept_window_make_a_long_video_bad(tmp_path, params, long_clips):
    import re

    path = write_textured_mp4(tmp_path / "long.mp4", 60)  # 6 s, 1 s kept
    # the defect in frames well after the first second, and after the middle one (2.5-3.5 s)
    corrupt_media_data(path, 0.75, 0.9)
    pre = pre_params(params, min_seconds=0.5, max_seconds=1.0, long_clips=long_clips)
    with pytest.raises(BadClipError) as err:
        load_video("long", path, limits_of(pre), dict(pre["video"], width=32, height=24))
    first, last, listed = map(int, re.fullmatch(UNDECODED, err.value.problem).groups())
    assert listed == 60 and first > 36 and last < 60


def test_video_whose_decoding_stops_well_before_its_frame_count_is_bad(tmp_path, params):
    import re

    path = write_textured_mp4(tmp_path / "tail.mp4", 50)
    corrupt_media_data(path, 0.6, 1.0)  # every frame from about the 30th on
    pre = pre_params(params, **LIMITS)
    with pytest.raises(BadClipError) as err:
        load_video("tail", path, limits_of(pre), dict(pre["video"], width=32, height=24))
    first, last, listed = map(int, re.fullmatch(UNDECODED, err.value.problem).groups())
    assert (last, listed) == (50, 50) and 1 < first < 48


class FakeCapture:
    """cv2.VideoCapture over grey frames: ``None`` is a frame that cannot be decoded (grab fails
    once, the next grab goes on), timestamps at ``fps``; ``listed`` frames in the container."""

    def __init__(self, frames, listed, fps=10.0, timestamps=True):
        self.frames, self.listed, self.fps, self.timestamps = list(frames), listed, fps, timestamps
        self.next, self.current = 0, None

    def isOpened(self):
        return True

    def get(self, prop):
        import cv2

        if prop == cv2.CAP_PROP_FPS:
            return self.fps
        if prop == cv2.CAP_PROP_FRAME_COUNT:
            return float(self.listed)
        if prop == cv2.CAP_PROP_POS_MSEC:
            return 1000.0 * self.current / self.fps if self.timestamps else 0.0
        raise AssertionError(prop)

    def grab(self):
        if self.next >= len(self.frames):
            return False
        self.current, self.next = self.next, self.next + 1
        return self.frames[self.current] is not None

    def retrieve(self):
        return True, np.full((24, 32, 3), self.frames[self.current], dtype=np.uint8)

    def read(self):
        return self.retrieve() if self.grab() else (False, None)

    def release(self):
        pass


def fake_video(monkeypatch, frames, listed, **kwargs):
    import cv2

    monkeypatch.setattr(cv2, "VideoCapture", lambda path: FakeCapture(frames, listed, **kwargs))


@pytest.mark.parametrize("overstated", [1, 2])
def test_a_frame_count_overstated_by_a_frame_or_two_at_the_end_is_tolerated(monkeypatch, params, overstated):
    import musicfusion.data.preprocess as preprocess

    assert overstated <= preprocess.VIDEO_END_SLACK_FRAMES
    levels = [10 * i for i in range(20)]
    fake_video(monkeypatch, levels, listed=20 + overstated)
    pre = pre_params(params, **LIMITS)
    frames = load_video("fake", Path("fake.mp4"), limits_of(pre), dict(pre["video"], fps=10, width=32, height=24))
    assert len(frames) == 20 + overstated  # the window the container promised
    means = [f.mean() for f in frames]
    assert means[:20] == levels and means[20:] == [levels[-1]] * overstated  # the last frame held


@pytest.mark.parametrize(("frames", "listed", "timestamps", "problem"), [
    # decoding ends more than VIDEO_END_SLACK_FRAMES before the count
    ([50] * 20, 23, True, "video frames 21-23 of 23 could not be decoded"),
    # one frame lost in the middle: not the container's slack at the end
    ([50] * 9 + [None] + [50] * 10, 20, True, "video frame 10 of 20 could not be decoded"),
    ([None, None] + [50] * 18, 20, True, "video frames 1-2 of 20 could not be decoded"),
    ([50] * 5 + [None] * 3 + [50] * 5 + [None] + [50] * 6, 20, True,
     "video frames 6-8, 14 of 20 could not be decoded"),
    # without timestamps only the shortfall can be told
    ([50] * 5 + [None] * 5 + [50] * 10, 20, False, "video frames 16-20 of 20 could not be decoded"),
])
def test_frames_missing_before_the_end_make_the_clip_bad(monkeypatch, params, frames, listed, timestamps, problem):
    fake_video(monkeypatch, frames, listed, timestamps=timestamps)
    pre = pre_params(params, **LIMITS)
    with pytest.raises(BadClipError) as err:
        load_video("fake", Path("fake.mp4"), limits_of(pre), dict(pre["video"], fps=10, width=32, height=24))
    assert err.value.problem == problem


def test_frames_missing_in_the_middle_without_a_shortfall_are_not_flagged(monkeypatch, params):
    # a variable frame rate can leave holes in the timestamps; every listed frame decoded is fine
    fake_video(monkeypatch, [50] * 20, listed=20)
    pre = pre_params(params, **LIMITS)
    v = dict(pre["video"], fps=10, width=32, height=24)
    assert load_video("fake", Path("fake.mp4"), limits_of(pre), v).shape == (20, 24, 32)
    assert undecoded_frames([0, 1, 5, 6], 4, 7) == [(2, 4)]
    assert undecoded_frames([0, 0, 0], 3, 5) == [(3, 4)]  # no usable timestamps: counted in order
    assert undecoded_frames([], 0, 3) == [(0, 2)]


# --------------------------------------------------------------------------------------------
# shard reports


def test_merged_reports_list_every_shard():
    a = pd.DataFrame([{"clip_id": "z", "modality": "audio", "path": "p", "problem": "x"}])
    b = pd.DataFrame([{"clip_id": "c", "modality": "text", "path": "q", "problem": "y"}])
    merged = merge_reports([a, b], BAD_CLIP_COLUMNS)
    assert merged["clip_id"].tolist() == ["c", "z"] and list(merged.columns) == BAD_CLIP_COLUMNS
    absent = merge_reports([pd.DataFrame([["b", "video"], ["a", "text"]], columns=ABSENT_COLUMNS),
                            pd.DataFrame([["a", "audio"]], columns=ABSENT_COLUMNS)], ABSENT_COLUMNS)
    assert absent.values.tolist() == [["a", "audio"], ["a", "text"], ["b", "video"]]
    empty = merge_reports([], ABSENT_COLUMNS)
    assert empty.empty and list(empty.columns) == ABSENT_COLUMNS


def test_shards_cover_every_clip_once(small_dataset, params):
    pre = pre_params(params)
    manifest = read_manifest(small_dataset / "manifest.csv", MODALITIES, TASKS)
    seen = []
    for shard in range(2):
        outputs, bad, absent = preprocess_shard(manifest, small_dataset, shard, 2, ["text"], pre)
        assert bad.empty and absent.empty
        seen += outputs["text"]["clip_ids"].tolist()
    assert sorted(seen) == sorted(manifest["clip_id"]) and len(seen) == N_CLIPS
    with pytest.raises(ValueError, match="out of range"):
        preprocess_shard(manifest, small_dataset, 2, 2, ["text"], pre)


def test_spooled_media_are_stored_as_the_in_memory_ones(small_dataset, params, tmp_path):
    """With spool_dir, decoded audio and frames wait on disk (bounded memory), same npz content."""
    pre = pre_params(params)
    manifest = read_manifest(small_dataset / "manifest.csv", MODALITIES, TASKS)
    in_memory = stored(preprocess_shard(manifest, small_dataset, 0, 1, list(MODALITIES), pre)[0])
    spooled, _, _ = preprocess_shard(manifest, small_dataset, 0, 1, list(MODALITIES), pre, spool_dir=tmp_path)
    assert not isinstance(spooled["audio"]["audio"], np.ndarray | list)  # on disk, not in memory
    from_spool = stored(spooled)
    for modality, content in in_memory.items():
        assert content.keys() == from_spool[modality].keys()
        for key, value in content.items():
            np.testing.assert_array_equal(from_spool[modality][key], value)
    assert from_spool["video"]["frames"].dtype == np.uint8 and len(from_spool["audio"]["lengths"]) == N_CLIPS


def test_scores_become_note_rows_and_a_broken_score_is_a_named_bad_clip(small_dataset, params):
    """The presets' MIDI files are read into one row per note; a score music21 cannot read, or
    one with too few notes, is a bad clip like any other modality's."""
    outputs, bad, _ = run(small_dataset, params)
    score = outputs["score"]
    assert score["notes"].shape == (score["lengths"].sum(), 3) and (score["lengths"] >= 2).all()
    first = split_ragged(score["notes"], score["lengths"])[0]
    assert np.all(np.diff(first[:, 1]) >= 0) and np.all((first[:, 0] >= 0) & (first[:, 0] <= 127))
    manifest = pd.read_csv(small_dataset / "manifest.csv", dtype=str, keep_default_na=False)
    (small_dataset / manifest.loc[2, "score_path"]).write_bytes(b"MThd not really a MIDI file")
    outputs, bad, _ = run(small_dataset, params, policy="skip")
    assert bad["clip_id"].tolist() == [manifest.loc[2, "clip_id"]] and bad["modality"].tolist() == ["score"]
    assert manifest.loc[2, "clip_id"] not in outputs["score"]["clip_ids"]
    with pytest.raises(BadClipError, match=r"\.mid: .*clip .*score"):
        run(small_dataset, params)
    _, bad, _ = run(small_dataset, params, policy="skip", score={"min_notes": 10_000})
    assert set(bad["modality"]) == {"score"} and len(bad) == N_CLIPS
    too_few = bad[bad["clip_id"] != manifest.loc[2, "clip_id"]]["problem"]
    assert too_few.str.fullmatch(r"has \d+ notes, fewer than the 10000 needed").all()
