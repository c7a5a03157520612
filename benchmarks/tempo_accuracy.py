"""Accuracy of the tempo estimates (musicfusion.features.tempo) from each modality of a built preset.

    python benchmarks/tempo_accuracy.py [RAW] [--sample N] [--seed 0] [--split test] [--params params.yaml]

RAW is the preset's raw folder (manifest.csv and clips/; default /tmp/fresh23/data/raw/default). Each
clip's audio is decoded at 22,050 Hz mono (librosa), its video with OpenCV (grey, sampled and resized as
each row says, as musicfusion.data.preprocess.load_video does), its score with read_score; each estimate is
compared with the manifest's ``pulse_bpm``. Printed per row: clips, the share with no estimate (NaN), the
median absolute percentage error (a NaN counts as infinitely wrong), the shares within 4% and 8%, the share
off by a factor of 2 or 1/2 within 4% (octave errors) and the estimate's seconds per clip (decoding
excluded; printed apart). Then the share within 4% by style.

Settings: :data:`SETTINGS` (the block proposed for params.yaml ``assist.tempo``), or ``assist.tempo`` of
``--params`` where it has one. Video rows: the settings' method at their fps and the video's own size, and
for comparison the workflow's frames (preprocess.video: 5 fps, 128x96) and the generic motion method.
One process, one OpenCV thread: other jobs share the machine.
"""

from __future__ import annotations

import argparse
import copy
import time
from pathlib import Path

import cv2
import librosa
import numpy as np
import pandas as pd
import yaml

from musicfusion.data.scores import read_score
from musicfusion.features import tempo
from musicfusion.symbolic.render import SECONDS_PER_QUARTER

DEFAULT_RAW = Path("/tmp/fresh23/data/raw/default")
SAMPLE_RATE = 22050
TOLERANCES = (0.04, 0.08)
OCTAVE_TOLERANCE = 0.04
# The proposed params.yaml block assist.tempo: the presets' tempo range (collect.pulse_bpm), and per modality
# what benchmarks/tempo_accuracy.py chose.
SETTINGS = {
    "audio": {"hop_length": 256, "min_rms_dbfs": -60.0, "bpm_range": [72, 160], "prefer_fast": 1.5},
    "video": {"method": "scroll", "fps": 5, "min_change": 10, "window_seconds": 4.0, "playhead": 0.5,
              "skip": 0.02, "region": [0.0, 1.0, 0.0, 1.0], "bpm_range": [72, 160], "prefer_fast": 1.5},
    "score": {"frame_rate": 100, "smooth_seconds": 0.01, "bpm_range": [72, 160], "prefer_fast": 1.5},
}
# Video rows besides the settings' own: (label, changes to the video settings, frame size or None: the video's).
VIDEO_VARIANTS = [
    ("video scroll, workflow frames 128x96", {}, (128, 96)),
    ("video motion at playhead 25 fps", {"method": "motion", "fps": 25, "region": [0.5, 0.53, 0.0, 1.0]}, None),
    ("video motion at playhead 5 fps", {"method": "motion", "fps": 5, "region": [0.5, 0.53, 0.0, 1.0]}, None),
    ("video motion whole frame 25 fps", {"method": "motion", "fps": 25}, None),
]


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("raw", nargs="?", type=Path, default=DEFAULT_RAW, help="a built preset's raw folder")
    parser.add_argument("--sample", type=int, default=0, help="clips drawn at random (0: all)")
    parser.add_argument("--seed", type=int, default=0, help="seed of --sample")
    parser.add_argument("--split", default=None, help="only the clips of this split (train, validation, test)")
    parser.add_argument("--params", type=Path, default=None, help="a params.yaml whose assist.tempo to use")
    return parser.parse_args()


def load_settings(params: Path | None) -> dict:
    settings = copy.deepcopy(SETTINGS)
    if params is not None:
        found = (yaml.safe_load(params.read_text(encoding="utf-8")) or {}).get("assist", {}).get("tempo")
        for modality, section in (found or {}).items():
            settings.setdefault(modality, {}).update(section)
    return settings


def read_video(path: Path) -> tuple[np.ndarray, float]:
    """Every frame of a video, grey, at its own size, and its frame rate."""
    capture = cv2.VideoCapture(str(path))
    try:
        fps = capture.get(cv2.CAP_PROP_FPS)
        frames = []
        while True:
            ok, frame = capture.read()
            if not ok:
                break
            frames.append(cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY))
    finally:
        capture.release()
    return np.stack(frames), fps


def resample_video(frames: np.ndarray, source_fps: float, fps: float, size: tuple[int, int] | None) -> np.ndarray:
    """The frame nearest each instant at ``fps`` (as preprocessing samples), resized (INTER_AREA) to
    ``size`` (width, height) if given."""
    n_out = max(1, int(round(len(frames) / source_fps * fps)))
    picked = frames[np.minimum(np.round(np.arange(n_out) / fps * source_fps).astype(int), len(frames) - 1)]
    if size is None:
        return picked
    return np.stack([cv2.resize(frame, size, interpolation=cv2.INTER_AREA) for frame in picked])


def timed(call):
    start = time.perf_counter()
    value = call()
    return value, time.perf_counter() - start


def summary(estimates: np.ndarray, truth: np.ndarray) -> dict:
    """The accuracy of estimates against the true tempi (a NaN estimate is wrong by any measure)."""
    error = np.abs(estimates / truth - 1.0)
    error = np.where(np.isfinite(error), error, np.inf)
    with np.errstate(divide="ignore", invalid="ignore"):
        octave = np.abs(np.abs(np.log2(estimates / truth)) - 1.0) <= np.log2(1 + OCTAVE_TOLERANCE)
    row = {"clips": len(truth), "NaN %": 100 * np.mean(~np.isfinite(estimates)),
           "median APE %": 100 * float(np.median(error))}
    for tol in TOLERANCES:
        row[f"within {tol:.0%}"] = 100 * np.mean(error <= tol)
    row["octave %"] = 100 * np.mean(octave)
    return row


def main() -> None:
    args = parse_args()
    cv2.setNumThreads(1)
    settings = load_settings(args.params)
    manifest = pd.read_csv(args.raw / "manifest.csv")
    if args.split:
        manifest = manifest[manifest["split"] == args.split]
    if args.sample:
        manifest = manifest.sample(n=min(args.sample, len(manifest)), random_state=args.seed)
    manifest = manifest.reset_index(drop=True)
    video_rows = [(f"video {settings['video']['method']}, {settings['video']['fps']:g} fps, own size", {}, None)]
    video_rows += VIDEO_VARIANTS
    labels = ["audio", *(label for label, _, _ in video_rows), "score (autocorrelation)", "score (median interval)"]
    estimates = {label: np.full(len(manifest), np.nan) for label in labels}
    seconds = dict.fromkeys(labels, 0.0)
    decode = {"audio": 0.0, "video": 0.0, "score": 0.0}
    for i, clip in manifest.iterrows():
        signal, spent = timed(lambda: librosa.load(args.raw / clip["audio_path"], sr=SAMPLE_RATE, mono=True)[0])
        decode["audio"] += spent
        estimates["audio"][i], spent = timed(lambda: tempo.tempo_from_audio(signal, SAMPLE_RATE, settings["audio"]))
        seconds["audio"] += spent

        (frames, source_fps), spent = timed(lambda: read_video(args.raw / clip["video_path"]))
        decode["video"] += spent
        for label, changes, size in video_rows:
            video_settings = {**settings["video"], **changes}
            sampled = resample_video(frames, source_fps, video_settings["fps"], size)
            estimates[label][i], spent = timed(
                lambda: tempo.tempo_from_video(sampled, video_settings["fps"], video_settings))
            seconds[label] += spent

        notes, spent = timed(lambda: read_score(args.raw / clip["score_path"], min_notes=2))
        decode["score"] += spent
        estimates["score (autocorrelation)"][i], spent = timed(
            lambda: tempo.tempo_from_score(notes, SECONDS_PER_QUARTER, settings["score"]))
        seconds["score (autocorrelation)"] += spent
        estimates["score (median interval)"][i], spent = timed(
            lambda: tempo.tempo_from_notes(notes, SECONDS_PER_QUARTER))
        seconds["score (median interval)"] += spent

    truth = manifest["pulse_bpm"].to_numpy(dtype=float)
    n = len(manifest)
    table = pd.DataFrame([{"estimate": label, **summary(estimates[label], truth), "s/clip": seconds[label] / n}
                          for label in labels]).set_index("estimate")
    chosen = f"{n} clips" + (f" of split {args.split}" if args.split else "")
    chosen += f", a sample (seed {args.seed})" if args.sample else ""
    print(f"{args.raw}: {chosen}; true tempo: manifest pulse_bpm")
    with pd.option_context("display.width", 160, "display.max_columns", 20):
        print(table.round({"NaN %": 1, "median APE %": 2, "within 4%": 1, "within 8%": 1, "octave %": 1,
                           "s/clip": 4}).to_string())
        print("decoding, s/clip: " + ", ".join(f"{m} {s / n:.3f}" for m, s in decode.items()))
        by_style = pd.DataFrame({label: np.abs(estimates[label] / truth - 1.0) <= TOLERANCES[0] for label in labels})
        by_style["style"] = manifest["style"]
        print("\nwithin 4% by style (%):")
        print((100 * by_style.groupby("style").mean()).round(0).T.to_string())


if __name__ == "__main__":
    main()
