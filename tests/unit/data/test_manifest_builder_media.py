"""`musicfusion manifest` reads the media files' headers (real media made here) and lists, while the
manifest is built, those the workflow would refuse: unreadable, or too short for the extractors."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from musicfusion.apps.cli import EXIT_ERROR, main
from musicfusion.data.manifest import read_manifest
from musicfusion.data.manifest_builder import build_manifest, refused_media
from musicfusion.data.preprocess import clip_limits, extractor_minimums, preprocess_shard
from musicfusion.plumbing.paths import PROJECT_ROOT

RATE = 44100


def hit(seconds: float, rate: int = RATE) -> np.ndarray:
    n = max(1, int(round(seconds * rate)))
    return (0.3 * np.random.default_rng(n).standard_normal(n) * np.exp(-3 * np.arange(n) / n)).astype(np.float32)


def write_mp4(path: Path, n_frames: int, fps: float = 25.0) -> Path:
    import cv2

    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (64, 48))
    for i in range(n_frames):
        writer.write(np.full((48, 64, 3), 60 + 3 * i, np.uint8))
    writer.release()
    return path


# Files the workflow keeps, and those it would refuse with the start of their problem.
KEPT = ["kick/k020.wav", "kick/k050.flac", "kick/k100.wav", "kick/flash.mp4", "pad/long.wav", "pad/long.mp4"]
REFUSED = {"kick/speck.wav": "too short: 1.04e-05 s; its audio feature extractors need at least",
           "kick/broken.wav": "unreadable audio: ",
           "kick/hollow.wav": "audio has no samples",
           "pad/broken.mp4": "unreadable video",
           "pad/hollow.mp4": "unreadable video"}


@pytest.fixture()
def hits(tmp_path) -> Path:
    """One-shots of 0.02 s and up, long clips, and files the workflow would refuse, in two classes."""
    root = tmp_path / "hits"
    (root / "kick").mkdir(parents=True)
    (root / "pad").mkdir()
    sf.write(root / "kick/k020.wav", hit(0.02), RATE)
    sf.write(root / "kick/k050.flac", hit(0.05), RATE)
    sf.write(root / "kick/k100.wav", hit(0.1), RATE)
    write_mp4(root / "kick/flash.mp4", 1)                               # one frame: 0.04 s
    sf.write(root / "pad/long.wav", hit(3.0), RATE)
    write_mp4(root / "pad/long.mp4", 50)
    sf.write(root / "kick/speck.wav", np.full(1, 0.3, np.float32), 96000)  # 1 sample at 96 kHz
    (root / "kick/broken.wav").write_bytes(b"RIFF\x00\x00\x00\x00WAVEnot a header at all")
    sf.write(root / "kick/hollow.wav", np.zeros(0, np.float32), RATE)    # a header, no samples
    (root / "pad/broken.mp4").write_bytes(b"\x00\x01garbage" * 100)
    write_mp4(root / "pad/hollow.mp4", 0)                               # a writer closed at once
    return root


def limits_of(params: dict, modalities=("audio", "video"), **overrides) -> dict:
    pre = dict(params["preprocess"], **overrides)
    return clip_limits(pre, extractor_minimums(params["features"], pre, modalities))


def test_refused_media_lists_exactly_the_unreadable_and_too_short_files(hits, params):
    build = build_manifest(hits, None, "flat")
    refused = refused_media(hits, build.manifest, limits_of(params))
    assert list(refused.columns) == ["path", "problem"]
    assert refused["path"].tolist() == sorted(REFUSED)
    for path, problem in refused.itertuples(index=False):
        assert problem.startswith(REFUSED[path]), (path, problem)
    need = extractor_minimums(params["features"], params["preprocess"], ["audio"])["audio"]
    assert refused.set_index("path").loc["kick/speck.wav", "problem"].endswith(f"at least {need:.3g} s")


def test_the_optional_floor_is_reported_too(hits, params):
    build = build_manifest(hits, None, "flat")
    refused = refused_media(hits, build.manifest, limits_of(params, min_seconds=0.045))
    floor = refused[refused["problem"].str.contains("preprocess.min_seconds is 0.045 s")]
    assert floor["path"].tolist() == ["kick/flash.mp4", "kick/k020.wav"]  # 0.04 s and 0.02 s
    assert set(refused["path"]) == set(REFUSED) | {"kick/flash.mp4", "kick/k020.wav"}


def test_what_the_headers_say_is_what_preprocessing_refuses(hits, params):
    # Each file as its own clip, preprocessed as the workflow does under `skip`.
    modalities = ["audio", "video"]
    for modality in modalities:
        files = sorted(p.relative_to(hits).as_posix() for p in hits.rglob("*")
                       if p.is_file() and p.suffix in ((".wav", ".flac") if modality == "audio" else (".mp4",)))
        rows = [{"clip_id": f"c{i}", f"{modality}_path": rel, "label": "x"} for i, rel in enumerate(files)]
        pd.DataFrame(rows).to_csv(hits / "manifest.csv", index=False)
        manifest = read_manifest(hits / "manifest.csv", [modality], ["label"])
        pre = dict(params["preprocess"], on_bad_input="skip")
        _, bad, _ = preprocess_shard(manifest, hits, 0, 1, [modality], pre,
                                     shortest=extractor_minimums(params["features"], pre, [modality]))
        from_headers = refused_media(hits, manifest, limits_of(params, [modality]))
        assert sorted(Path(p).relative_to(hits.resolve()).as_posix() if Path(p).is_absolute() else p
                      for p in bad["path"]) == from_headers["path"].tolist()
        assert from_headers["path"].tolist() == sorted(r for r in REFUSED if r in files)


def test_cli_reports_refused_files_and_still_writes_the_whole_manifest(hits, capsys):
    code = main(["manifest", str(hits), "--name", "hits", "--params", str(PROJECT_ROOT / "params.yaml")])
    out, err = capsys.readouterr()
    assert code == 0 and out.startswith(f"Wrote {hits / 'manifest.csv'}")
    written = pd.read_csv(hits / "manifest.csv", dtype=str, keep_default_na=False)
    listed = set(written["audio_path"]) | set(written["video_path"])
    assert set(KEPT) | set(REFUSED) <= listed  # the manifest is not filtered
    lines = err.splitlines()
    unpaired = [line for line in lines if line.endswith("with this stem") or "skipped or unpaired" in line]
    report = [line for line in lines if line not in unpaired]
    assert [line.split(": ", 1)[0] for line in report[:-1]] == sorted(REFUSED)
    for line in report[:-1]:
        path, problem = line.split(": ", 1)
        assert problem.startswith(REFUSED[path])
    assert report[-1].startswith(f"{len(REFUSED)} file(s) in the manifest that the workflow would refuse")


def test_cli_without_a_params_file_says_so_and_writes_nothing(hits, tmp_path, capsys):
    code = main(["manifest", str(hits), "--name", "hits", "--params", str(tmp_path / "nope.yaml")])
    err = capsys.readouterr().err
    assert code == EXIT_ERROR and "nope.yaml" in err and "--params" in err
    assert not (hits / "manifest.csv").exists()


def test_only_headers_are_read_and_150_files_take_well_under_a_second(hits, tmp_path, params, monkeypatch):
    import cv2

    class HeaderOnlyCapture:
        """OpenCV's capture with decoding forbidden: the container's properties only."""

        def __init__(self, path):
            self.capture = real_capture(path)

        def isOpened(self):  # noqa: N802 - OpenCV's name
            return self.capture.isOpened()

        def get(self, prop):
            return self.capture.get(prop)

        def release(self):
            self.capture.release()

        def __getattr__(self, name):
            raise AssertionError(f"VideoCapture.{name} decodes: only the header may be read")

    def no_decoding(*args, **kwargs):
        raise AssertionError("samples read: only the header may be read")

    real_capture = cv2.VideoCapture
    monkeypatch.setattr(cv2, "VideoCapture", HeaderOnlyCapture)
    monkeypatch.setattr(sf, "read", no_decoding)
    monkeypatch.setattr(sf.SoundFile, "read", no_decoding)
    build = build_manifest(hits, None, "flat")
    assert refused_media(hits, build.manifest, limits_of(params))["path"].tolist() == sorted(REFUSED)

    root = tmp_path / "many"
    (root / "hit").mkdir(parents=True)
    for i in range(150):
        sf.write(root / f"hit/{i:03d}.wav", hit(0.05 + 0.001 * i), RATE)
    build = build_manifest(root, None, "flat")
    start = time.perf_counter()
    refused = refused_media(root, build.manifest, limits_of(params, ["audio"]))
    elapsed = time.perf_counter() - start
    assert refused.empty and len(build.manifest) == 150
    assert elapsed < 1.5, f"{elapsed:.2f} s for 150 headers"
