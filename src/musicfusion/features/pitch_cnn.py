"""Pitch-aware audio features from a pretrained transcription CNN: Spotify's basic-pitch (ICASSP 2022).

basic-pitch's wheel ships its network as ONNX (``basic_pitch/saved_models/icassp_2022/nmp.onnx``,
230 KB, Apache-2.0); onnxruntime runs it on the CPU, without TensorFlow. The network reads 2 s
windows of 22,050 Hz mono audio and gives, every 256 samples (86 frames a second), a posteriorgram
of the 88 piano keys (``note``), of their onsets (``onset``) and a 3-bins-per-semitone pitch contour.
Windows overlap by 30 frames and the middle of each is kept, as basic-pitch's own inference does.

The clip's posteriorgrams are pooled into summaries named in ``features.pitch_cnn.summaries``:

- ``key_profile``: the pitch-class profile (12, summed over octaves) rotated to start on its
  strongest class, and the magnitudes of its discrete Fourier transform (6): both the same in
  every key, which a style is not defined by;
- ``pitch_classes``: the pitch-class profile as it is (12; absolute key);
- ``polyphony``: keys sounding per frame (mean, deviation, share of frames with 0, >=2, >=3, >=4);
- ``register``: the sounding keys' mean, deviation, 5th and 95th percentile (MIDI numbers);
- ``onsets``: note onsets and onset frames per second;
- ``vertical_intervals``: the interval classes (0-6) between keys sounding together;
- ``melodic_intervals``: the top voice's steps (0-12 semitones, larger ones in the last bin) and
  its share of upward steps and steps per second;
- ``key_activations``: each key's mean note and onset activation (88 + 88: register and timbre,
  since a key's harmonics light up the keys above it).
"""

from __future__ import annotations

import functools
import importlib.util
from pathlib import Path

import numpy as np

# The network's fixed framing (basic_pitch.constants): 2 s windows less one hop, 256-sample hops.
MODEL_SAMPLE_RATE = 22050
FRAME_HOP = 256
WINDOW_SAMPLES = MODEL_SAMPLE_RATE * 2 - FRAME_HOP
OVERLAP_FRAMES = 30
FRAMES_PER_SECOND = MODEL_SAMPLE_RATE / FRAME_HOP
LOWEST_MIDI = 21  # A0, the first of the 88 keys
N_KEYS = 88
# The ONNX graph's input and its outputs in the order note, onset, contour (basic_pitch.inference).
INPUT_NAME = "serving_default_input_2:0"
OUTPUT_NAMES = {"note": "StatefulPartitionedCall:1", "onset": "StatefulPartitionedCall:2",
                "contour": "StatefulPartitionedCall:0"}
SUMMARIES = ("key_profile", "pitch_classes", "polyphony", "register", "onsets", "vertical_intervals",
             "melodic_intervals", "key_activations")
# Keeps the normalised profiles finite for a silent clip.
EPSILON = 1e-9
MAX_STEP = 12


def model_path() -> Path:
    """The ONNX file inside the installed basic-pitch package (found without importing it: its
    ``__init__`` probes for TensorFlow, CoreML and TFLite and warns about each)."""
    spec = importlib.util.find_spec("basic_pitch")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("basic-pitch is not installed: `pip install --no-deps basic-pitch==0.4.0` "
                          "(scripts/install.sh does)")
    path = Path(next(iter(spec.submodule_search_locations))) / "saved_models" / "icassp_2022" / "nmp.onnx"
    if not path.is_file():
        raise FileNotFoundError(f"{path}: basic-pitch's ONNX model is missing from the installed package")
    return path


@functools.lru_cache(maxsize=1)
def _session():
    import onnxruntime as ort

    options = ort.SessionOptions()
    # One thread: Snakemake runs jobs side by side on the cores, and one thread gives the same
    # numbers on every run.
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    return ort.InferenceSession(str(model_path()), options, providers=["CPUExecutionProvider"])


def windows(signal: np.ndarray) -> np.ndarray:
    """(n_windows, WINDOW_SAMPLES, 1) overlapping windows of a 22,050 Hz signal, as basic-pitch
    frames it: half an overlap of silence in front, the last window padded with silence."""
    half = OVERLAP_FRAMES // 2 * FRAME_HOP
    padded = np.concatenate([np.zeros(half, np.float32), np.asarray(signal, np.float32)])
    hop = WINDOW_SAMPLES - OVERLAP_FRAMES * FRAME_HOP
    starts = range(0, len(padded), hop)
    out = np.zeros((len(starts), WINDOW_SAMPLES, 1), np.float32)
    for i, start in enumerate(starts):
        piece = padded[start:start + WINDOW_SAMPLES]
        out[i, :len(piece), 0] = piece
    return out


def activations(signal: np.ndarray, sample_rate: int) -> dict[str, np.ndarray]:
    """The network's posteriorgrams of one clip, frames in time order: ``note`` and ``onset``
    (n_frames, 88), ``contour`` (n_frames, 264); values in [0, 1]."""
    signal = np.asarray(signal, np.float32)
    if sample_rate != MODEL_SAMPLE_RATE:
        import librosa

        signal = librosa.resample(signal, orig_sr=sample_rate, target_sr=MODEL_SAMPLE_RATE, res_type="soxr_hq")
    names = list(OUTPUT_NAMES)
    outputs = _session().run([OUTPUT_NAMES[n] for n in names], {INPUT_NAME: windows(signal)})
    n_frames = int(np.floor(len(signal) * FRAMES_PER_SECOND / MODEL_SAMPLE_RATE))
    half = OVERLAP_FRAMES // 2
    return {name: out[:, half:-half].reshape(-1, out.shape[-1])[:n_frames] for name, out in zip(names, outputs)}


def _pitch_class_profile(note: np.ndarray, sounding: np.ndarray) -> np.ndarray:
    """The sounding keys' activation summed per pitch class, normalised. Keys below the threshold
    are left out: their small background would favour the three pitch classes that have 8 keys on
    a piano rather than 7, and the profile would change with the key."""
    profile = np.zeros(12)
    weights = (note * sounding).mean(axis=0) if len(note) else np.zeros(N_KEYS)
    np.add.at(profile, (np.arange(N_KEYS) + LOWEST_MIDI) % 12, weights)
    return profile / (profile.sum() + EPSILON)


def onset_peaks(onset: np.ndarray, threshold: float) -> np.ndarray:
    """(T, K) mask of frames where a key's onset activation is above ``threshold`` and a peak in
    time: higher than the frame before, at least as high as the frame after (a plateau counts once,
    at its first frame)."""
    before = np.vstack([np.full((1, onset.shape[1]), -np.inf), onset[:-1]])
    after = np.vstack([onset[1:], np.full((1, onset.shape[1]), -np.inf)])
    return (onset > threshold) & (onset > before) & (onset >= after)


def summaries(acts: dict[str, np.ndarray], threshold: float) -> dict[str, tuple[np.ndarray, list[str]]]:
    """Every summary of one clip's posteriorgrams: name -> (values, column names)."""
    note, onset = acts["note"], acts["onset"]
    seconds = max(len(note), 1) / FRAMES_PER_SECOND
    sounding = note > threshold
    out = {}
    profile = _pitch_class_profile(note, sounding)
    rotated = np.roll(profile, -int(np.argmax(profile)))
    spectrum = np.abs(np.fft.rfft(profile))[1:]
    out["key_profile"] = (np.concatenate([rotated, spectrum]),
                          [f"rotated_pc{i:02d}" for i in range(12)] + [f"pc_dft{k}" for k in range(1, 7)])
    out["pitch_classes"] = (profile, [f"pc{i:02d}" for i in range(12)])
    voices = sounding.sum(axis=1)
    out["polyphony"] = (np.array([voices.mean(), voices.std(), (voices == 0).mean(), (voices >= 2).mean(),
                                  (voices >= 3).mean(), (voices >= 4).mean()]) if len(voices) else np.zeros(6),
                        ["voices_mean", "voices_std", "silent_share", "two_plus", "three_plus", "four_plus"])
    keys = np.nonzero(sounding)[1] + LOWEST_MIDI
    out["register"] = (np.array([keys.mean(), keys.std(), *np.percentile(keys, [5, 95])]) if len(keys)
                       else np.zeros(4), ["pitch_mean", "pitch_std", "pitch_p05", "pitch_p95"])
    peaks = onset_peaks(onset, threshold)
    out["onsets"] = (np.array([peaks.sum() / seconds, peaks.any(axis=1).sum() / seconds]),
                     ["onsets_per_second", "onset_frames_per_second"])
    classes = np.zeros(7)
    for frame in sounding:
        active = np.flatnonzero(frame)
        if len(active) > 1:
            steps = (active[None, :] - active[:, None])[np.triu_indices(len(active), 1)] % 12
            np.add.at(classes, np.minimum(steps, 12 - steps), 1)
    out["vertical_intervals"] = (classes / (classes.sum() + EPSILON), [f"vertical_ic{i}" for i in range(7)])
    heard = sounding.any(axis=1)
    top = (N_KEYS - 1 - np.argmax(sounding[:, ::-1], axis=1))[heard]
    moves = np.flatnonzero(np.diff(top)) if len(top) > 1 else np.array([], int)
    steps = (top[moves + 1] - top[moves]) if len(moves) else np.array([], int)
    hist = np.bincount(np.minimum(np.abs(steps), MAX_STEP), minlength=MAX_STEP + 1).astype(float)
    out["melodic_intervals"] = (np.concatenate([hist / (hist.sum() + EPSILON),
                                                [float(np.mean(steps > 0)) if len(steps) else 0.0,
                                                 len(steps) / seconds]]),
                                [f"melodic_step{i:02d}" for i in range(MAX_STEP + 1)] + ["upward_share",
                                                                                       "steps_per_second"])
    mean_note = note.mean(axis=0) if len(note) else np.zeros(N_KEYS)
    mean_onset = onset.mean(axis=0) if len(onset) else np.zeros(N_KEYS)
    out["key_activations"] = (np.concatenate([mean_note, mean_onset]),
                              [f"{kind}_key{k:02d}" for kind in ("note", "onset") for k in range(N_KEYS)])
    return out


def summary_columns() -> dict[str, list[str]]:
    """The column names of each summary, in order (they do not depend on the clip)."""
    silent = {"note": np.zeros((1, N_KEYS)), "onset": np.zeros((1, N_KEYS))}
    return {name: names for name, (_, names) in summaries(silent, 0.5).items()}


def check_settings(settings: dict) -> None:
    unknown = [s for s in settings["summaries"] if s not in SUMMARIES]
    if unknown or not settings["summaries"]:
        raise ValueError(f"features.pitch_cnn.summaries: unknown or none {unknown}; known: {list(SUMMARIES)}")


def clip_features(signal: np.ndarray, sample_rate: int, settings: dict) -> tuple[np.ndarray, list[str]]:
    """One clip's chosen summaries, concatenated in the order ``settings['summaries']`` names them."""
    found = summaries(activations(signal, sample_rate), float(settings["threshold"]))
    return (np.concatenate([found[s][0] for s in settings["summaries"]]),
            [name for s in settings["summaries"] for name in found[s][1]])


def extract(clips: list[np.ndarray], sample_rate: int, settings: dict) -> tuple[np.ndarray, list[str]]:
    """(n_clips, d) pooled pitch features of preprocessed audio clips, and the column names."""
    check_settings(settings)
    rows, names = [], []
    for clip in clips:
        values, names = clip_features(clip, sample_rate, settings)
        rows.append(values)
    return np.vstack(rows), names


def shortest_seconds(settings: dict, sample_rate: int) -> float:
    """The shortest audio the network describes: one frame (shorter clips are padded with
    silence to a whole window, but give no frame to pool)."""
    return FRAME_HOP / MODEL_SAMPLE_RATE
