"""Features from any ONNX embedding model, chosen in params.yaml (``features.onnx_models.<name>``).

A user exports an audio- or image-embedding network to ONNX and names it in an entry; each clip
is cut into what the network reads (audio: fixed windows of samples at the model's rate; video:
every ``frame_step``-th grey frame, resized, scaled and repeated to the model's channels), the
network embeds each window or frame, and the embeddings are pooled over the clip.

An audio entry::

    modality: audio
    model: models/onnx/my_audio_embedder.onnx   # relative to the working directory, or absolute
    input: {name: null, sample_rate: 16000, window: 16000, hop: 8000, layout: [batch, samples]}
    output: null        # null: the graph's first output; more than 2 dims are flattened per window
    pooling: [mean, std]
    batch_size: 32      # windows per onnxruntime call (32 when left out)

A video entry has ``input: {name, width, height, channels, layout: nchw | nhwc, frame_step,
scale}``. ``input.name`` and ``output`` may be left out (null: the graph's first), and
``batch_size`` (:data:`DEFAULT_BATCH_SIZE`).
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

import cv2
import numpy as np

from musicfusion.features import POOLING_FUNCTIONS, check_pooling
from musicfusion.features import pooled_names as _stat_names

MODALITIES = ("audio", "video")
# The audio layouts a model may read, as written in params.yaml (YAML gives the 1 as an int).
AUDIO_LAYOUTS = (("batch", "samples"), ("batch", "samples", "1"), ("batch", "1", "samples"))
VIDEO_LAYOUTS = ("nchw", "nhwc")
# Keys of an entry: required, then optional (null when left out).
REQUIRED_KEYS = ("modality", "model", "input", "pooling")
OPTIONAL_KEYS = ("output", "batch_size")
# Windows or frames per onnxruntime call when an entry does not say.
DEFAULT_BATCH_SIZE = 32
REQUIRED_INPUT_KEYS = {"audio": ("sample_rate", "window", "hop", "layout"),
                       "video": ("width", "height", "channels", "layout", "frame_step", "scale")}
OPTIONAL_INPUT_KEYS = ("name",)
# The numpy type an input of each ONNX element type is given in.
INPUT_DTYPES = {"tensor(float)": np.float32, "tensor(double)": np.float64, "tensor(float16)": np.float16}
CUDA_PROVIDER = "CUDAExecutionProvider"
CPU_PROVIDER = "CPUExecutionProvider"
# onnxruntime's "error" level: its warnings (e.g. about unused initializers) stay out of job logs.
ORT_LOG_ERRORS_ONLY = 3


# ---------------------------------------------------------------- settings

def _is_positive_int(value) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool) and value > 0


def _is_positive_number(value) -> bool:
    return (isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)
            and np.isfinite(value) and value > 0)


def _audio_layout(layout) -> tuple[str, ...]:
    """The layout as a tuple of strings (``[batch, samples, 1]`` -> ``('batch', 'samples', '1')``)."""
    return tuple(str(axis) for axis in layout) if isinstance(layout, (list, tuple)) else (str(layout),)


def _problems(settings) -> list[str]:
    """What is wrong with one entry, one phrase a problem (empty: nothing)."""
    if not isinstance(settings, dict):
        return [f"must be a mapping, got {type(settings).__name__}"]
    problems = [f"missing key {key!r}" for key in REQUIRED_KEYS if key not in settings]
    unknown = sorted(set(settings) - set(REQUIRED_KEYS) - set(OPTIONAL_KEYS))
    if unknown:
        problems.append(f"unknown keys {unknown}; known: {sorted(REQUIRED_KEYS + OPTIONAL_KEYS)}")
    modality = settings.get("modality")
    if "modality" in settings and modality not in MODALITIES:
        problems.append(f"unknown modality {modality!r}; choose from {list(MODALITIES)}")
    model = settings.get("model")
    if "model" in settings and not (isinstance(model, (str, Path)) and str(model).strip()):
        problems.append(f"model must be a path to an .onnx file, got {model!r}")
    output = settings.get("output")
    if output is not None and not (isinstance(output, str) and output):
        problems.append(f"output must be an output name or null, got {output!r}")
    if "pooling" in settings:
        try:
            check_pooling(settings["pooling"])
        except (ValueError, TypeError) as error:
            problems.append(str(error))
    if "batch_size" in settings and not _is_positive_int(settings["batch_size"]):
        problems.append(f"batch_size must be a positive integer, got {settings['batch_size']!r}")
    if "input" in settings:
        problems += _input_problems(settings["input"], modality)
    return problems


def _input_problems(inp, modality) -> list[str]:
    if not isinstance(inp, dict):
        return [f"input must be a mapping, got {type(inp).__name__}"]
    if modality not in MODALITIES:
        return []  # the modality's own problem is reported; its input keys are unknown
    required = REQUIRED_INPUT_KEYS[modality]
    problems = [f"missing key 'input.{key}' (a {modality} model's input)" for key in required if key not in inp]
    unknown = sorted(set(inp) - set(required) - set(OPTIONAL_INPUT_KEYS))
    if unknown:
        problems.append(f"unknown input keys {unknown} for a {modality} model; "
                        f"known: {sorted(required + OPTIONAL_INPUT_KEYS)}")
    name = inp.get("name")
    if name is not None and not (isinstance(name, str) and name):
        problems.append(f"input.name must be an input name or null, got {name!r}")
    counts = ("sample_rate", "window", "hop") if modality == "audio" else ("width", "height", "channels",
                                                                           "frame_step")
    problems += [f"input.{key} must be a positive integer, got {inp[key]!r}"
                 for key in counts if key in inp and not _is_positive_int(inp[key])]
    if "scale" in inp and not _is_positive_number(inp["scale"]):
        problems.append(f"input.scale must be a positive number, got {inp['scale']!r}")
    if "layout" in inp:
        layout = inp["layout"]
        if modality == "audio" and _audio_layout(layout) not in AUDIO_LAYOUTS:
            choices = ", ".join("[" + ", ".join(choice) + "]" for choice in AUDIO_LAYOUTS)
            problems.append(f"input.layout {layout!r} is not an audio layout; choose from {choices}")
        if modality == "video" and layout not in VIDEO_LAYOUTS:
            problems.append(f"input.layout {layout!r} is not a video layout; choose from {list(VIDEO_LAYOUTS)}")
    return problems


def check_settings(name: str, settings: dict) -> None:
    """Raise ValueError naming ``features.onnx_models.<name>`` and every problem of its entry.

    Reads no file (the model is checked when it is loaded), so a workflow can check every entry
    before any job runs.
    """
    problems = _problems(settings)
    if problems:
        raise ValueError(f"features.onnx_models.{name}: " + "; ".join(problems))


# ---------------------------------------------------------------- the model

def _providers() -> list[str]:
    """CUDA first when onnxruntime-gpu sees a GPU, the CPU otherwise (and as CUDA's fallback)."""
    import onnxruntime as ort

    if CUDA_PROVIDER in ort.get_available_providers():
        return [CUDA_PROVIDER, CPU_PROVIDER]
    return [CPU_PROVIDER]


@functools.lru_cache(maxsize=8)
def _session_at(path: Path):
    import onnxruntime as ort

    if not path.is_file():
        raise FileNotFoundError(f"{path}: ONNX model not found" + (" (a directory)" if path.is_dir() else ""))
    options = ort.SessionOptions()
    # One thread: Snakemake runs one job per core, and one thread gives the same numbers on every run.
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.log_severity_level = ORT_LOG_ERRORS_ONLY
    try:
        return ort.InferenceSession(str(path), options, providers=_providers())
    except Exception as error:  # onnxruntime's own exception types (InvalidProtobuf, Fail, ...)
        detail = next((line.strip() for line in str(error).splitlines() if line.strip()), type(error).__name__)
        raise ValueError(f"{path}: onnxruntime cannot load this model: {detail}") from None


def session(model_path: str | Path):
    """The ``onnxruntime.InferenceSession`` of a model file, loaded once per process and path.

    A relative path is taken from the working directory (the project). Raises FileNotFoundError
    for a missing file and ValueError for one onnxruntime cannot load, each naming the path.
    """
    return _session_at(Path(model_path).expanduser().resolve())


session.cache_clear = _session_at.cache_clear


# ---------------------------------------------------------------- what the model reads

def audio_windows(signal: np.ndarray, sample_rate: int, settings: dict) -> np.ndarray:
    """The float32 windows of one mono clip that the model reads, laid out as ``input.layout`` says.

    The clip is resampled to ``input.sample_rate`` (soxr_hq) when ``sample_rate`` differs; windows
    of ``input.window`` samples start every ``input.hop`` samples until one reaches the clip's end,
    which is padded with silence (a clip shorter than a window gives one padded window).
    """
    inp = settings["input"]
    signal = np.asarray(signal, dtype=np.float32)
    if signal.ndim != 1 or len(signal) == 0:
        raise ValueError(f"a clip's audio must be 1-D mono samples, at least one, got shape {signal.shape}")
    if sample_rate != inp["sample_rate"]:
        import librosa

        signal = librosa.resample(signal, orig_sr=sample_rate, target_sr=inp["sample_rate"],
                                  res_type="soxr_hq").astype(np.float32)
    window, hop = inp["window"], inp["hop"]
    n_windows = 1 + max(0, -(-(len(signal) - window) // hop))  # ceil: the last window reaches the end
    padded = np.zeros(max(len(signal), (n_windows - 1) * hop + window), dtype=np.float32)
    padded[:len(signal)] = signal
    windows = np.lib.stride_tricks.sliding_window_view(padded, window)[::hop][:n_windows].copy()
    layout = _audio_layout(inp["layout"])
    if layout == ("batch", "samples", "1"):
        return windows[:, :, None]
    if layout == ("batch", "1", "samples"):
        return windows[:, None, :]
    return windows


def video_batch(frames: np.ndarray, settings: dict) -> np.ndarray:
    """The float32 image batch of one clip's grey frames ``(n_frames, height, width)``: every
    ``input.frame_step``-th frame, resized (INTER_AREA) to ``input.width`` x ``input.height``,
    divided by ``input.scale``, repeated to ``input.channels`` and laid out nchw or nhwc."""
    inp = settings["input"]
    frames = np.asarray(frames)
    if frames.ndim != 3 or len(frames) == 0:
        raise ValueError(f"a clip's frames must be grey (n_frames >= 1, height, width), got shape {frames.shape}")
    size = (inp["width"], inp["height"])
    images = np.stack([cv2.resize(frame, size, interpolation=cv2.INTER_AREA)
                       for frame in frames[::inp["frame_step"]]]).astype(np.float32) / np.float32(inp["scale"])
    channel_axis = 1 if inp["layout"] == "nchw" else 3
    return np.repeat(np.expand_dims(images, channel_axis), inp["channels"], axis=channel_axis)


# ---------------------------------------------------------------- embedding

def _layout_hint(settings: dict) -> str:
    inp = settings["input"]
    if settings["modality"] == "audio":
        return f"input.window={inp['window']}, input.layout={list(inp['layout'])}"
    return (f"input.width={inp['width']}, input.height={inp['height']}, input.channels={inp['channels']}, "
            f"input.layout={inp['layout']}")


def _model_input(sess, batch: np.ndarray, settings: dict):
    """The graph input the batch is given to, after checking its rank, fixed dims and type."""
    inputs = {node.name: node for node in sess.get_inputs()}
    wanted = settings["input"].get("name") or next(iter(inputs))
    if wanted not in inputs:
        raise ValueError(f"the model has no input {wanted!r}; its inputs: {list(inputs)}")
    node = inputs[wanted]
    shape = list(node.shape)
    if len(shape) != batch.ndim:
        raise ValueError(f"the model's input {wanted!r} has {len(shape)} dims {shape}, but the settings give "
                         f"{batch.ndim} {list(batch.shape)} ({_layout_hint(settings)})")
    mismatched = [(axis, want, have) for axis, (want, have) in enumerate(zip(shape, batch.shape))
                  if axis > 0 and isinstance(want, int) and want > 0 and want != have]
    if mismatched:
        axes = "; ".join(f"axis {axis}: the model wants {want}, the settings give {have}"
                         for axis, want, have in mismatched)
        raise ValueError(f"the model's input {wanted!r} has shape {shape}, the settings give "
                         f"{list(batch.shape)} ({axes}; {_layout_hint(settings)})")
    if node.type not in INPUT_DTYPES:
        raise ValueError(f"the model's input {wanted!r} is {node.type}; a float input is needed "
                         f"({sorted(INPUT_DTYPES)})")
    return node


def output_name(sess, settings: dict) -> str:
    """The graph output the features come from: ``output``, or the graph's first output."""
    outputs = [node.name for node in sess.get_outputs()]
    wanted = settings.get("output") or outputs[0]
    if wanted not in outputs:
        raise ValueError(f"the model has no output {wanted!r}; its outputs: {outputs}")
    return wanted


def embed(sess, batch: np.ndarray, settings: dict) -> np.ndarray:
    """The model's ``(n_windows, d)`` float64 embeddings of a batch, ``batch_size`` windows a call.

    An output of more than 2 dims is flattened per window. A model exported with a fixed batch
    dim is given chunks of exactly that many windows, the last padded with zeros (their rows are
    dropped). Raises ValueError when the batch does not fit the model's input or the output is
    not in the graph.
    """
    node = _model_input(sess, batch, settings)
    output = output_name(sess, settings)
    batch = batch.astype(INPUT_DTYPES[node.type], copy=False)
    fixed_batch = node.shape[0] if isinstance(node.shape[0], int) and node.shape[0] > 0 else None
    chunk = fixed_batch or settings.get("batch_size") or DEFAULT_BATCH_SIZE
    rows = []
    for start in range(0, len(batch), chunk):
        part = batch[start:start + chunk]
        n = len(part)
        if fixed_batch and n < fixed_batch:
            part = np.concatenate([part, np.zeros((fixed_batch - n, *part.shape[1:]), part.dtype)])
        values = np.asarray(sess.run([output], {node.name: part})[0])
        if values.ndim == 0 or values.shape[0] != len(part):
            raise ValueError(f"the model's output {output!r} has shape {list(values.shape)} for a batch of "
                             f"{len(part)}; its first axis must be the batch")
        rows.append(values[:n].reshape(n, -1).astype(np.float64))
    return np.concatenate(rows)


# ---------------------------------------------------------------- pooling and names

def pool(embeddings: np.ndarray, pooling: list[str]) -> np.ndarray:
    """One float64 vector of ``d * len(pooling)`` values from ``(n_windows, d)`` embeddings,
    grouped by statistic (all means, then all deviations...), as :func:`pooled_names` names them."""
    check_pooling(pooling)
    embeddings = np.asarray(embeddings, dtype=np.float64)
    if embeddings.ndim != 2 or len(embeddings) == 0:
        raise ValueError(f"embeddings must be (n_windows >= 1, d), got shape {embeddings.shape}")
    return np.concatenate([POOLING_FUNCTIONS[stat](embeddings, axis=0) for stat in pooling])


def pooled_names(d: int, output: str, pooling) -> list[str]:
    """Column names matching :func:`pool`: ``<output>_<index>_<statistic>``, e.g. 'embedding_007_mean'.

    The output name is reduced to letters, digits and underscores ('StatefulPartitionedCall:0'
    -> 'StatefulPartitionedCall_0'); indices have at least 3 digits, so names sort in column order.
    """
    prefix = re.sub(r"[^0-9A-Za-z]+", "_", output).strip("_") or "output"
    digits = max(3, len(str(d - 1)))
    return _stat_names([f"{prefix}_{i:0{digits}d}" for i in range(d)], list(pooling))


# ---------------------------------------------------------------- clips

def _batch(clip, settings: dict, rates: dict) -> np.ndarray:
    if settings["modality"] == "audio":
        return audio_windows(clip, rates["sample_rate"], settings)
    return video_batch(clip, settings)


def _blank_clip(settings: dict, rates: dict) -> np.ndarray:
    """A silent or black clip, to learn the embedding size when there is no clip."""
    if settings["modality"] == "audio":
        return np.zeros(1, dtype=np.float32)
    return np.zeros((1, settings["input"]["height"], settings["input"]["width"]), dtype=np.uint8)


def extract(clips: list[np.ndarray], settings: dict, rates: dict, name: str) -> tuple[np.ndarray, list[str]]:
    """The pooled embeddings of each clip, float32 ``(n_clips, d)``, and the ``d`` column names.

    ``clips``: preprocessed clips of the entry's modality (audio: 1-D samples at
    ``rates['sample_rate']``; video: uint8 ``(n_frames, height, width)`` grey frames).
    ``settings``: the ``features.onnx_models.<name>`` entry. ``rates``: ``{"sample_rate", "fps"}``
    of the preprocessed media. Errors name the entry.
    """
    check_settings(name, settings)
    entry = f"features.onnx_models.{name}"
    try:
        sess = session(settings["model"])
    except FileNotFoundError as error:
        raise FileNotFoundError(f"{entry}: {error}") from None
    except ValueError as error:
        raise ValueError(f"{entry}: {error}") from None
    try:
        output = output_name(sess, settings)
    except ValueError as error:
        raise ValueError(f"{entry} ({settings['model']}): {error}") from None
    rows = []
    for i, clip in enumerate(clips if len(clips) else [_blank_clip(settings, rates)]):
        try:
            rows.append(pool(embed(sess, _batch(clip, settings, rates), settings), settings["pooling"]))
        except ValueError as error:
            raise ValueError(f"{entry} ({settings['model']}), clip {i}: {error}") from None
    names = pooled_names(len(rows[0]) // len(settings["pooling"]), output, settings["pooling"])
    X = np.vstack(rows).astype(np.float32)
    return (X[:0] if not len(clips) else X), names


def shortest_seconds(settings: dict, rates: dict) -> float:
    """The shortest clip the extractor describes: one sample of audio (a shorter clip than a window
    is padded to one); any video, since preprocessing always keeps its first frame (as HOG's)."""
    if settings["modality"] == "audio":
        return 1.0 / rates["sample_rate"]
    return 0.0
