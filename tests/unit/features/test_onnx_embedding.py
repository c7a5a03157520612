"""Behaviour of the ONNX embedding extractor, on tiny ONNX models built here (onnx.helper)."""

from __future__ import annotations

import copy

import cv2
import numpy as np
import onnx
import onnxruntime
import pytest
from onnx import TensorProto, helper, numpy_helper

from musicfusion.features import onnx_embedding as oe

OPSET = 17
IR_VERSION = 8  # the IR of opset 17, which onnxruntime 1.32 reads
WINDOW = 8
N_DIMS = 4
WEIGHTS = np.random.default_rng(0).standard_normal((WINDOW, N_DIMS)).astype(np.float32)
HEIGHT, WIDTH = 8, 6  # the video model's image (unequal, so a swapped width and height shows)

AUDIO_SETTINGS = {"modality": "audio", "model": "audio.onnx",
                  "input": {"name": None, "sample_rate": 16000, "window": WINDOW, "hop": 4,
                            "layout": ["batch", "samples"]},
                  "output": None, "pooling": ["mean", "std"], "batch_size": 32}
VIDEO_SETTINGS = {"modality": "video", "model": "video.onnx",
                  "input": {"name": None, "width": WIDTH, "height": HEIGHT, "channels": 3, "layout": "nchw",
                            "frame_step": 1, "scale": 255.0},
                  "output": None, "pooling": ["mean"], "batch_size": 16}
RATES = {"sample_rate": 16000, "fps": 10.0}


def changed(settings: dict, **changes) -> dict:
    """A deep copy of ``settings``; ``input`` changes are merged into its ``input``."""
    out = copy.deepcopy(settings)
    out["input"].update(changes.pop("input", {}))
    out.update(changes)
    return out


# ---------------------------------------------------------------- tiny models

def save_model(path, nodes, inputs, outputs, initializers=()) -> str:
    graph = helper.make_graph(nodes, "tiny", inputs, outputs, initializer=list(initializers))
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    model.ir_version = IR_VERSION
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return str(path)


def audio_model(path, input_shape=("N", WINDOW), weights=WEIGHTS) -> str:
    """``embedding = flatten(audio) @ weights`` (N, 4), and ``squared = embedding ** 2``."""
    nodes = [helper.make_node("Flatten", ["audio"], ["flat"], axis=1),
             helper.make_node("MatMul", ["flat", "weights"], ["embedding"]),
             helper.make_node("Mul", ["embedding", "embedding"], ["squared"])]
    return save_model(path, nodes,
                      [helper.make_tensor_value_info("audio", TensorProto.FLOAT, list(input_shape))],
                      [helper.make_tensor_value_info("embedding", TensorProto.FLOAT, ["N", weights.shape[1]]),
                       helper.make_tensor_value_info("squared", TensorProto.FLOAT, ["N", weights.shape[1]])],
                      [numpy_helper.from_array(weights, "weights")])


def grid_model(path) -> str:
    """``grid = reshape(audio @ weights, (N, 2, 2))``: an output of 3 dims."""
    nodes = [helper.make_node("MatMul", ["audio", "weights"], ["embedding"]),
             helper.make_node("Reshape", ["embedding", "grid_shape"], ["grid"])]
    return save_model(path, nodes, [helper.make_tensor_value_info("audio", TensorProto.FLOAT, ["N", WINDOW])],
                      [helper.make_tensor_value_info("grid", TensorProto.FLOAT, ["N", 2, 2])],
                      [numpy_helper.from_array(WEIGHTS, "weights"),
                       numpy_helper.from_array(np.array([0, 2, 2], np.int64), "grid_shape")])


def video_model(path, layout="nchw") -> str:
    """Each channel's mean over the image: (N, 3)."""
    shape, axes = (["N", 3, HEIGHT, WIDTH], [2, 3]) if layout == "nchw" else (["N", HEIGHT, WIDTH, 3], [1, 2])
    nodes = [helper.make_node("ReduceMean", ["image"], ["channel_means"], axes=axes, keepdims=0)]
    return save_model(path, nodes, [helper.make_tensor_value_info("image", TensorProto.FLOAT, shape)],
                      [helper.make_tensor_value_info("channel_means", TensorProto.FLOAT, ["N", 3])])


@pytest.fixture
def audio_session(tmp_path):
    return oe.session(audio_model(tmp_path / "audio.onnx"))


class CountingSession:
    """A session that records the batch size of every run."""

    def __init__(self, sess):
        self.sess, self.batch_sizes = sess, []

    def get_inputs(self):
        return self.sess.get_inputs()

    def get_outputs(self):
        return self.sess.get_outputs()

    def run(self, outputs, feed):
        self.batch_sizes.append(len(next(iter(feed.values()))))
        return self.sess.run(outputs, feed)


# ---------------------------------------------------------------- audio windows

def test_windows_overlap_by_the_hop_and_the_last_is_padded():
    signal = np.arange(1, 22, dtype=np.float32)  # 21 samples: windows start at 0, 4, 8, 12, 16
    windows = oe.audio_windows(signal, 16000, AUDIO_SETTINGS)
    expected = np.zeros((5, WINDOW), np.float32)
    for i, start in enumerate(range(0, 20, 4)):
        piece = signal[start:start + WINDOW]
        expected[i, :len(piece)] = piece
    np.testing.assert_array_equal(windows, expected)
    assert windows.dtype == np.float32
    assert windows[-1, -3:].tolist() == [0, 0, 0]


def test_a_clip_that_ends_on_a_window_gets_no_extra_window():
    windows = oe.audio_windows(np.ones(20, np.float32), 16000, AUDIO_SETTINGS)  # starts 0, 4, 8, 12
    assert windows.shape == (4, WINDOW)
    assert windows.min() == 1


def test_a_clip_shorter_than_a_window_gives_one_padded_window():
    windows = oe.audio_windows(np.array([3, 1, 2], np.float32), 16000, AUDIO_SETTINGS)
    np.testing.assert_array_equal(windows, [[3, 1, 2, 0, 0, 0, 0, 0]])


@pytest.mark.parametrize("hop, starts", [(8, [0, 8, 16]), (3, [0, 3, 6, 9, 12]), (10, [0, 10])])
def test_windows_start_every_hop(hop, starts):
    signal = np.arange(1, 19, dtype=np.float32)  # 18 samples
    windows = oe.audio_windows(signal, 16000, changed(AUDIO_SETTINGS, input={"hop": hop}))
    assert windows[:, 0].tolist() == [signal[s] for s in starts]


def test_a_clip_is_resampled_to_the_models_rate():
    settings = changed(AUDIO_SETTINGS, input={"sample_rate": 8000, "window": 800, "hop": 800})
    clip = np.sin(2 * np.pi * 440 * np.arange(1600) / 16000).astype(np.float32)
    windows = oe.audio_windows(clip, 16000, settings)
    assert windows.shape == (1, 800)  # 1600 samples at 16 kHz are 800 at 8 kHz
    import librosa

    np.testing.assert_allclose(windows[0], librosa.resample(clip, orig_sr=16000, target_sr=8000,
                                                            res_type="soxr_hq"), atol=1e-6)
    assert oe.audio_windows(clip, 8000, settings).shape == (2, 800)  # same rates: not resampled


@pytest.mark.parametrize("layout, shape", [(["batch", "samples"], (3, WINDOW)),
                                           (["batch", "samples", 1], (3, WINDOW, 1)),
                                           (["batch", 1, "samples"], (3, 1, WINDOW))])
def test_windows_are_laid_out_as_the_settings_say(layout, shape):
    signal = np.arange(16, dtype=np.float32)
    windows = oe.audio_windows(signal, 16000, changed(AUDIO_SETTINGS, input={"layout": layout}))
    assert windows.shape == shape
    np.testing.assert_array_equal(windows.reshape(3, WINDOW)[1], signal[4:12])


def test_an_empty_or_multichannel_clip_is_refused():
    with pytest.raises(ValueError, match="1-D mono"):
        oe.audio_windows(np.zeros(0, np.float32), 16000, AUDIO_SETTINGS)
    with pytest.raises(ValueError, match=r"1-D mono.*\(2, 10\)"):
        oe.audio_windows(np.zeros((2, 10), np.float32), 16000, AUDIO_SETTINGS)


# ---------------------------------------------------------------- embedding

def test_embeddings_are_the_models_weights_on_the_windows(audio_session):
    windows = oe.audio_windows(np.random.default_rng(1).standard_normal(30), 16000, AUDIO_SETTINGS)
    embeddings = oe.embed(audio_session, windows, AUDIO_SETTINGS)
    assert embeddings.dtype == np.float64 and embeddings.shape == (len(windows), N_DIMS)
    np.testing.assert_allclose(embeddings, windows.astype(np.float64) @ WEIGHTS, rtol=1e-5, atol=1e-6)


def test_the_named_output_is_used(audio_session):
    windows = oe.audio_windows(np.random.default_rng(2).standard_normal(12), 16000, AUDIO_SETTINGS)
    squared = oe.embed(audio_session, windows, changed(AUDIO_SETTINGS, output="squared"))
    np.testing.assert_allclose(squared, (windows.astype(np.float64) @ WEIGHTS) ** 2, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("layout", [["batch", "samples", 1], ["batch", 1, "samples"]])
def test_a_model_of_three_dim_input_reads_its_layout(tmp_path, layout):
    shape = ["N", WINDOW, 1] if layout[1] == "samples" else ["N", 1, WINDOW]
    sess = oe.session(audio_model(tmp_path / "audio3.onnx", input_shape=shape))
    settings = changed(AUDIO_SETTINGS, input={"layout": layout})
    signal = np.random.default_rng(3).standard_normal(20)
    embeddings = oe.embed(sess, oe.audio_windows(signal, 16000, settings), settings)
    flat = oe.audio_windows(signal, 16000, AUDIO_SETTINGS)
    np.testing.assert_allclose(embeddings, flat.astype(np.float64) @ WEIGHTS, rtol=1e-5, atol=1e-6)


def test_an_output_of_more_than_two_dims_is_flattened_per_window(tmp_path):
    sess = oe.session(grid_model(tmp_path / "grid.onnx"))
    windows = oe.audio_windows(np.random.default_rng(4).standard_normal(16), 16000, AUDIO_SETTINGS)
    embeddings = oe.embed(sess, windows, AUDIO_SETTINGS)
    np.testing.assert_allclose(embeddings, windows.astype(np.float64) @ WEIGHTS, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("batch_size, calls", [(1, [1] * 7), (3, [3, 3, 1]), (7, [7]), (100, [7])])
def test_chunks_of_batch_size_give_the_same_embeddings_as_one_call(audio_session, batch_size, calls):
    windows = oe.audio_windows(np.random.default_rng(5).standard_normal(32), 16000, AUDIO_SETTINGS)
    assert len(windows) == 7
    counting = CountingSession(audio_session)
    chunked = oe.embed(counting, windows, changed(AUDIO_SETTINGS, batch_size=batch_size))
    assert counting.batch_sizes == calls
    np.testing.assert_array_equal(chunked, oe.embed(audio_session, windows, changed(AUDIO_SETTINGS,
                                                                                    batch_size=1000)))


def test_batch_size_may_be_left_out(audio_session):
    windows = oe.audio_windows(np.random.default_rng(5).standard_normal(160), 16000, AUDIO_SETTINGS)  # 39 windows
    counting = CountingSession(audio_session)
    oe.embed(counting, windows, {k: v for k, v in AUDIO_SETTINGS.items() if k != "batch_size"})
    assert counting.batch_sizes == [oe.DEFAULT_BATCH_SIZE, len(windows) - oe.DEFAULT_BATCH_SIZE]


def test_a_model_of_fixed_batch_gets_chunks_of_that_size(tmp_path):
    sess = CountingSession(oe.session(audio_model(tmp_path / "fixed.onnx", input_shape=(2, WINDOW))))
    windows = oe.audio_windows(np.random.default_rng(6).standard_normal(20), 16000, AUDIO_SETTINGS)  # 4 + pad
    windows = windows[:3]
    embeddings = oe.embed(sess, windows, AUDIO_SETTINGS)
    assert sess.batch_sizes == [2, 2]  # the last chunk padded to the model's batch
    np.testing.assert_allclose(embeddings, windows.astype(np.float64) @ WEIGHTS, rtol=1e-5, atol=1e-6)


def test_a_window_the_model_does_not_take_is_refused_naming_both(tmp_path):
    sess = oe.session(audio_model(tmp_path / "w16.onnx", input_shape=("N", 16), weights=np.ones((16, 2), np.float32)))
    windows = oe.audio_windows(np.ones(30, np.float32), 16000, AUDIO_SETTINGS)
    with pytest.raises(ValueError, match=r"axis 1: the model wants 16, the settings give 8.*input\.window=8"):
        oe.embed(sess, windows, AUDIO_SETTINGS)


def test_a_layout_of_the_wrong_rank_is_refused(tmp_path):
    sess = oe.session(audio_model(tmp_path / "rank3.onnx", input_shape=("N", WINDOW, 1)))
    windows = oe.audio_windows(np.ones(30, np.float32), 16000, AUDIO_SETTINGS)
    with pytest.raises(ValueError, match=r"has 3 dims.*the settings give 2"):
        oe.embed(sess, windows, AUDIO_SETTINGS)


def test_an_unknown_output_is_refused_listing_the_outputs(audio_session):
    windows = oe.audio_windows(np.ones(8, np.float32), 16000, AUDIO_SETTINGS)
    with pytest.raises(ValueError, match=r"no output 'pooled'.*\['embedding', 'squared'\]"):
        oe.embed(audio_session, windows, changed(AUDIO_SETTINGS, output="pooled"))


def test_an_unknown_input_is_refused_listing_the_inputs(audio_session):
    windows = oe.audio_windows(np.ones(8, np.float32), 16000, AUDIO_SETTINGS)
    with pytest.raises(ValueError, match=r"no input 'waveform'.*\['audio'\]"):
        oe.embed(audio_session, windows, changed(AUDIO_SETTINGS, input={"name": "waveform"}))


# ---------------------------------------------------------------- video

def blocky_frames(n_frames: int) -> tuple[np.ndarray, np.ndarray]:
    """Random grey frames of twice the model's size, each 2x2 block one value (so INTER_AREA gives
    the blocks' values exactly), and those values: the frames as the model should see them."""
    small = np.random.default_rng(n_frames).integers(0, 256, (n_frames, HEIGHT, WIDTH)).astype(np.uint8)
    return np.stack([np.kron(s, np.ones((2, 2), np.uint8)) for s in small]), small


def test_frames_are_resized_scaled_and_repeated_to_the_channels():
    frames, small = blocky_frames(3)
    assert frames.shape == (3, 2 * HEIGHT, 2 * WIDTH)
    batch = oe.video_batch(frames, VIDEO_SETTINGS)
    assert batch.shape == (3, 3, HEIGHT, WIDTH) and batch.dtype == np.float32
    for channel in range(3):
        np.testing.assert_allclose(batch[:, channel], small / 255.0, rtol=1e-6)
    np.testing.assert_array_equal(batch[1, 0], cv2.resize(frames[1], (WIDTH, HEIGHT),
                                                          interpolation=cv2.INTER_AREA) / np.float32(255.0))


def test_nhwc_holds_the_same_images_channels_last():
    frames, _ = blocky_frames(2)
    nchw = oe.video_batch(frames, VIDEO_SETTINGS)
    nhwc = oe.video_batch(frames, changed(VIDEO_SETTINGS, input={"layout": "nhwc", "channels": 1}))
    assert nhwc.shape == (2, HEIGHT, WIDTH, 1)
    np.testing.assert_array_equal(nhwc[..., 0], nchw[:, 0])


def test_every_frame_step_th_frame_is_taken():
    frames = np.stack([np.full((HEIGHT, WIDTH), 10 * i, np.uint8) for i in range(7)])
    batch = oe.video_batch(frames, changed(VIDEO_SETTINGS, input={"frame_step": 3, "scale": 1.0}))
    assert batch[:, 0, 0, 0].tolist() == [0, 30, 60]


@pytest.mark.parametrize("layout", ["nchw", "nhwc"])
def test_the_video_model_embeds_each_taken_frame(tmp_path, layout):
    sess = oe.session(video_model(tmp_path / f"{layout}.onnx", layout))
    settings = changed(VIDEO_SETTINGS, input={"layout": layout, "frame_step": 2})
    frames, small = blocky_frames(5)
    embeddings = oe.embed(sess, oe.video_batch(frames, settings), settings)
    expected = small[::2].reshape(3, -1).mean(axis=1) / 255.0
    np.testing.assert_allclose(embeddings, np.repeat(expected[:, None], 3, axis=1), rtol=1e-5)


def test_a_batch_in_the_other_layout_is_refused(tmp_path):
    sess = oe.session(video_model(tmp_path / "nhwc.onnx", "nhwc"))
    frames, _ = blocky_frames(1)
    with pytest.raises(ValueError, match=r"input\.layout=nchw"):
        oe.embed(sess, oe.video_batch(frames, VIDEO_SETTINGS), VIDEO_SETTINGS)


# ---------------------------------------------------------------- pooling and names

def test_pooling_gives_each_statistic_over_the_windows():
    embeddings = np.array([[1.0, -2.0], [3.0, 2.0], [5.0, 0.0]])
    pooled = oe.pool(embeddings, ["mean", "std", "max"])
    np.testing.assert_allclose(pooled, [3.0, 0.0, np.sqrt(8 / 3), np.sqrt(8 / 3), 5.0, 2.0])
    assert oe.pool(embeddings, ["max"]).tolist() == [5.0, 2.0]
    with pytest.raises(ValueError, match="unknown pooling"):
        oe.pool(embeddings, ["median"])


def test_names_follow_the_pooled_values():
    assert oe.pooled_names(2, "embedding", ["mean", "max"]) == [
        "embedding_000_mean", "embedding_001_mean", "embedding_000_max", "embedding_001_max"]
    assert oe.pooled_names(1, "StatefulPartitionedCall:0", ["std"]) == ["StatefulPartitionedCall_0_000_std"]
    assert oe.pooled_names(1001, "e", ["mean"])[-1] == "e_1000_mean"


# ---------------------------------------------------------------- clips

def test_extract_pools_each_audio_clip(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    audio_model(tmp_path / "audio.onnx")
    rng = np.random.default_rng(8)
    clips = [rng.standard_normal(n).astype(np.float32) for n in (3, 21, 40)]
    X, names = oe.extract(clips, AUDIO_SETTINGS, RATES, "tiny")
    assert X.shape == (3, 2 * N_DIMS) and len(names) == 2 * N_DIMS
    assert names[0] == "embedding_000_mean" and names[-1] == "embedding_003_std"
    for row, clip in zip(X, clips):
        projected = oe.audio_windows(clip, 16000, AUDIO_SETTINGS).astype(np.float64) @ WEIGHTS
        np.testing.assert_allclose(row, np.concatenate([projected.mean(0), projected.std(0)]), rtol=1e-4, atol=1e-5)
    assert np.all(X[0, N_DIMS:] == 0)  # one window: no spread


def test_extract_pools_each_video_clip_and_names_no_clip(tmp_path):
    settings = changed(VIDEO_SETTINGS, model=video_model(tmp_path / "video.onnx"), pooling=["mean", "max"])
    clips = [blocky_frames(n)[0] for n in (1, 4)]
    X, names = oe.extract(clips, settings, RATES, "frames")
    assert X.shape == (2, 6) and names[:3] == ["channel_means_000_mean", "channel_means_001_mean",
                                               "channel_means_002_mean"]
    means = blocky_frames(4)[1].reshape(4, -1).mean(axis=1) / 255.0
    np.testing.assert_allclose(X[1], [means.mean()] * 3 + [means.max()] * 3, rtol=1e-5)
    empty, empty_names = oe.extract([], settings, RATES, "frames")
    assert empty.shape == (0, 6) and empty_names == names


def test_extract_errors_name_the_entry(tmp_path):
    settings = changed(AUDIO_SETTINGS, model=audio_model(tmp_path / "audio.onnx"), output="logits")
    with pytest.raises(ValueError, match=r"features\.onnx_models\.tiny.*no output 'logits'"):
        oe.extract([np.ones(8)], settings, RATES, "tiny")
    with pytest.raises(FileNotFoundError, match=r"features\.onnx_models\.tiny: .*gone\.onnx"):
        oe.extract([np.ones(8)], changed(AUDIO_SETTINGS, model=str(tmp_path / "gone.onnx")), RATES, "tiny")


def test_shortest_input_is_one_sample_or_any_video():
    assert oe.shortest_seconds(AUDIO_SETTINGS, RATES) == 1 / 16000
    assert oe.shortest_seconds(VIDEO_SETTINGS, RATES) == 0.0


def test_a_one_sample_clip_at_another_rate_gives_one_window(tmp_path):
    settings = changed(AUDIO_SETTINGS, model=audio_model(tmp_path / "audio.onnx"))
    X, _ = oe.extract([np.ones(1, np.float32)], settings, {"sample_rate": 22050, "fps": 10.0}, "tiny")
    assert X.shape == (1, 2 * N_DIMS) and np.isfinite(X).all()


# ---------------------------------------------------------------- the session

def test_a_missing_model_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"nowhere\.onnx: ONNX model not found"):
        oe.session(tmp_path / "nowhere.onnx")


def test_a_file_onnxruntime_cannot_load_is_named(tmp_path):
    (tmp_path / "broken.onnx").write_bytes(b"not a model")
    with pytest.raises(ValueError, match=r"broken\.onnx: onnxruntime cannot load this model: \S") as error:
        oe.session(tmp_path / "broken.onnx")
    assert "\n" not in str(error.value)


def test_the_session_is_loaded_once_per_resolved_path(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    audio_model(tmp_path / "once.onnx")
    assert oe.session("once.onnx") is oe.session(tmp_path / "once.onnx")


def test_the_cpu_runs_the_model_when_cuda_is_missing(tmp_path, monkeypatch):
    asked = []
    real_session = onnxruntime.InferenceSession

    def spy_session(path, options, providers):
        asked.append(providers)
        return real_session(path, options, providers=providers)

    monkeypatch.setattr(onnxruntime, "get_available_providers",
                        lambda: ["AzureExecutionProvider", "CPUExecutionProvider"])
    monkeypatch.setattr(onnxruntime, "InferenceSession", spy_session)
    sess = oe.session(audio_model(tmp_path / "cpu.onnx"))
    # onnxruntime would fall back from an unavailable CUDA on its own, with a warning: ask for it not at all.
    assert asked == [["CPUExecutionProvider"]]
    assert sess.get_providers() == ["CPUExecutionProvider"]
    options = sess.get_session_options()
    assert (options.intra_op_num_threads, options.inter_op_num_threads) == (1, 1)


def test_cuda_comes_first_when_onnxruntime_sees_a_gpu(tmp_path, monkeypatch):
    made = {}

    def fake_session(path, options, providers):
        made.update(path=path, providers=providers)
        return "session"

    monkeypatch.setattr(onnxruntime, "get_available_providers",
                        lambda: ["CUDAExecutionProvider", "CPUExecutionProvider"])
    monkeypatch.setattr(onnxruntime, "InferenceSession", fake_session)
    assert oe.session(audio_model(tmp_path / "gpu.onnx")) == "session"
    assert made["providers"] == ["CUDAExecutionProvider", "CPUExecutionProvider"]


# ---------------------------------------------------------------- settings

def test_good_entries_pass():
    oe.check_settings("tiny", AUDIO_SETTINGS)
    oe.check_settings("frames", VIDEO_SETTINGS)
    oe.check_settings("bare", {k: v for k, v in AUDIO_SETTINGS.items() if k not in ("output", "batch_size")})


@pytest.mark.parametrize("settings, problem", [
    (changed(AUDIO_SETTINGS, modality="text"), "unknown modality 'text'"),
    ({k: v for k, v in AUDIO_SETTINGS.items() if k != "model"}, "missing key 'model'"),
    (changed(AUDIO_SETTINGS, pooling=["mean", "median"]), "unknown pooling"),
    (changed(AUDIO_SETTINGS, pooling=[]), "pooling is empty"),
    (changed(AUDIO_SETTINGS, input={"window": 0}), "input.window must be a positive integer"),
    (changed(AUDIO_SETTINGS, input={"hop": -4}), "input.hop must be a positive integer"),
    (changed(AUDIO_SETTINGS, input={"window": 8.5}), "input.window must be a positive integer"),
    (changed(AUDIO_SETTINGS, input={"layout": ["samples", "batch"]}), "not an audio layout"),
    (changed(AUDIO_SETTINGS, input={"layout": "nchw"}), "not an audio layout"),
    (changed(AUDIO_SETTINGS, batch_size=0), "batch_size must be a positive integer"),
    (changed(AUDIO_SETTINGS, batch_size=True), "batch_size must be a positive integer"),
    (changed(AUDIO_SETTINGS, input={"frame_step": 2}), "unknown input keys ['frame_step']"),
    (changed(AUDIO_SETTINGS, poolng=["mean"]), "unknown keys ['poolng']"),
    (changed(AUDIO_SETTINGS, output=3), "output must be an output name or null"),
    ({**AUDIO_SETTINGS, "input": None}, "input must be a mapping"),
    ({**VIDEO_SETTINGS, "input": {k: v for k, v in VIDEO_SETTINGS["input"].items() if k != "scale"}},
     "missing key 'input.scale'"),
    (changed(VIDEO_SETTINGS, input={"layout": "hwc"}), "not a video layout"),
    (changed(VIDEO_SETTINGS, input={"scale": 0}), "input.scale must be a positive number"),
    (changed(VIDEO_SETTINGS, input={"channels": 0}), "input.channels must be a positive integer"),
    ("models/x.onnx", "must be a mapping"),
])
def test_bad_entries_are_refused_naming_the_entry_and_the_problem(settings, problem):
    with pytest.raises(ValueError) as error:
        oe.check_settings("mine", settings)
    assert str(error.value).startswith("features.onnx_models.mine: ")
    assert problem in str(error.value)


def test_check_settings_reads_no_file():
    oe.check_settings("elsewhere", changed(AUDIO_SETTINGS, model="/no/such/dir/model.onnx"))
