"""Throughput of the feature extractors on synthetic inputs, with the settings of params.yaml.

    python benchmarks/bench_features.py [--params params.yaml] [--clips 40] [--repeats 5]

Each extractor is called once to warm up (librosa compiles numba functions on its first MFCC),
then timed ``--repeats`` times; the median is reported as audio "x real time" (MFCC and the
pitch CNN, features.pitch_cnn), video "frames/s" and text "docs/s". Single process and one thread,
as the workflow runs one shard per job.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

import cv2
import numpy as np
import yaml

from musicfusion.features import audio, pitch_cnn, text, video

DEFAULT_PARAMS = Path(__file__).resolve().parents[1] / "params.yaml"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--params", type=Path, default=DEFAULT_PARAMS, help="params.yaml to take settings from")
    parser.add_argument("--clips", type=int, default=40, help="audio and video clips")
    parser.add_argument("--seconds", type=float, default=10.0, help="audio clip length")
    parser.add_argument("--frames", type=int, default=50, help="video frames per clip")
    parser.add_argument("--docs", type=int, default=2000, help="texts")
    parser.add_argument("--repeats", type=int, default=5, help="timed calls per extractor (median)")
    parser.add_argument("--seed", type=int, default=0)
    return parser.parse_args()


def median_seconds(call, repeats: int) -> float:
    call()  # warm-up: numba compilation, OpenCV and BLAS initialisation
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def synthetic_audio(rng, n_clips: int, n_samples: int, sample_rate: int) -> np.ndarray:
    """Half sines at random pitches, half white noise: MFCC cost does not depend on content."""
    t = np.arange(n_samples) / sample_rate
    pitches = rng.uniform(100, 2000, size=(n_clips, 1))
    clips = 0.1 * np.sin(2 * np.pi * pitches * t)
    clips[n_clips // 2:] = 0.1 * rng.standard_normal((n_clips - n_clips // 2, n_samples))
    return clips.astype(np.float32)


def synthetic_video(rng, n_clips: int, n_frames: int, height: int, width: int) -> np.ndarray:
    """A white square wandering over a noisy grey background (noise makes gradients everywhere)."""
    frames = rng.integers(0, 64, size=(n_clips, n_frames, height, width), dtype=np.uint8)
    side = min(height, width) // 4
    for clip in frames:
        x, y = rng.integers(0, width - side), rng.integers(0, height - side)
        for frame in clip:
            x = int(np.clip(x + rng.integers(-4, 5), 0, width - side))
            y = int(np.clip(y + rng.integers(-4, 5), 0, height - side))
            cv2.rectangle(frame, (x, y), (x + side, y + side), 255, -1)
    return frames


def synthetic_texts(rng, n_docs: int, vocabulary_size: int = 3000) -> list[str]:
    """Titles of 3-12 words drawn from a Zipf-like vocabulary, like the corpus titles and lyrics."""
    words = np.array([f"w{i}" for i in range(vocabulary_size)])
    weights = 1.0 / np.arange(1, vocabulary_size + 1)
    weights /= weights.sum()
    return [" ".join(rng.choice(words, size=rng.integers(3, 13), p=weights)) for _ in range(n_docs)]


def main() -> None:
    args = parse_args()
    params = yaml.safe_load(args.params.read_text(encoding="utf-8"))
    features, prep = params["features"], params["preprocess"]
    sample_rate = prep["audio"]["sample_rate"]
    height, width = prep["video"]["height"], prep["video"]["width"]
    rng = np.random.default_rng(args.seed)

    clips = synthetic_audio(rng, args.clips, int(args.seconds * sample_rate), sample_rate)
    frames = synthetic_video(rng, args.clips, args.frames, height, width)
    docs = synthetic_texts(rng, args.docs)

    def run_text():
        return text.transform(text.fit(docs, features["text"]), docs)

    a = median_seconds(lambda: audio.extract(clips, sample_rate, features["audio"]), args.repeats)
    # Content matters little to a CNN's cost; fewer clips keep the repeats short.
    cnn_clips = clips[: max(1, args.clips // 4)]
    p = median_seconds(lambda: pitch_cnn.extract(cnn_clips, sample_rate, features["pitch_cnn"]), args.repeats)
    v = median_seconds(lambda: video.extract(frames, features["video"]), args.repeats)
    t = median_seconds(run_text, args.repeats)

    dims = {"audio": audio.extract(clips[:1], sample_rate, features["audio"])[0].shape[1],
            "pitch_cnn": pitch_cnn.extract(clips[:1], sample_rate, features["pitch_cnn"])[0].shape[1],
            "video": video.extract(frames[:1], features["video"])[0].shape[1],
            "text": run_text()[0].shape[1]}
    # The box is shared: a busy machine (load above its cores) slows every number below.
    print(f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}, "
          f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}")
    print(f"audio: {args.clips} clips x {args.seconds:g} s at {sample_rate} Hz: {a:.3f} s, "
          f"{args.clips * args.seconds / a:,.0f}x real time, d={dims['audio']}")
    print(f"audio, pitch CNN: {len(cnn_clips)} clips x {args.seconds:g} s: {p:.3f} s, "
          f"{len(cnn_clips) * args.seconds / p:,.0f}x real time, d={dims['pitch_cnn']}")
    print(f"video: {args.clips} clips x {args.frames} frames {width}x{height}: {v:.3f} s, "
          f"{args.clips * args.frames / v:,.0f} frames/s, d={dims['video']}")
    print(f"text:  {args.docs} docs, fit + transform: {t:.3f} s, {args.docs / t:,.0f} docs/s, d={dims['text']}")


if __name__ == "__main__":
    main()
