"""Learned features in the tiny run: the pitch CNN's feature set, and an ONNX model plugged in through params.yaml."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import yaml

from musicfusion.features.shards import split_ragged
from musicfusion.plumbing.files import load_npz

from support import copy_run, planned_jobs, snakemake

pytestmark = pytest.mark.workflow
onnx = pytest.importorskip("onnx")
WINDOW, HOP, WIDTH = 2205, 1103, 3  # 0.1 s windows at the tiny preset's 22,050 Hz


def tiny_audio_model(path, weights: np.ndarray) -> None:
    """An ONNX graph (batch, WINDOW) -> (batch, WIDTH): one matrix product, so its output is known."""
    from onnx import TensorProto, helper, numpy_helper

    graph = helper.make_graph(
        [helper.make_node("MatMul", ["samples", "weights"], ["embedding"])], "tiny_embedder",
        [helper.make_tensor_value_info("samples", TensorProto.FLOAT, ["batch", WINDOW])],
        [helper.make_tensor_value_info("embedding", TensorProto.FLOAT, ["batch", WIDTH])],
        [numpy_helper.from_array(weights.astype(np.float32), "weights")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, str(path))


def test_the_pitch_cnn_feature_set_is_extracted_and_read_by_its_methods(tiny_run, params):
    features = load_npz(tiny_run / "data/processed/tiny/features/audio.pitch_cnn.npz")
    clips = pd.read_csv(tiny_run / "data/processed/tiny/features/clips.csv")
    assert features["clip_ids"].tolist() == sorted(clips["clip_id"])
    assert np.isfinite(features["X"]).all() and features["X"].shape[1] == len(features["feature_names"])
    summary = pd.read_csv(tiny_run / "results/tiny/summary.csv").set_index("method")
    assert summary.loc["audio_pitch_cnn", "modalities"].tolist() == ["audio.pitch_cnn"] * len(params["tasks"])
    assert set(summary.loc["audio_mfcc_pitch_cnn", "modalities"]) == {"audio+audio.pitch_cnn"}


def test_an_onnx_model_named_in_params_is_a_feature_set_a_method_reads(tiny_run, tmp_path):
    project = copy_run(tiny_run, tmp_path / "work")
    weights = np.random.default_rng(0).normal(size=(WINDOW, WIDTH))
    (project / "models/onnx").mkdir(parents=True)
    tiny_audio_model(project / "models/onnx/tiny.onnx", weights)
    params = yaml.safe_load((project / "params.yaml").read_text())
    params["features"]["onnx_models"] = {"tiny": {
        "modality": "audio", "model": "models/onnx/tiny.onnx", "output": "embedding", "pooling": ["mean", "max"],
        "input": {"name": "samples", "sample_rate": 22050, "window": WINDOW, "hop": HOP,
                  "layout": ["batch", "samples"]}}}
    params["features"]["extra_sets"] = [*params["features"]["extra_sets"], "audio.tiny"]
    params["methods"]["audio_tiny_onnx"] = {"type": "single_modality", "modalities": ["audio.tiny"],
                                            "learner": "logistic"}
    (project / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    target = "results/tiny/methods/audio_tiny_onnx/metrics.json"
    # Only the new feature set and the new method's jobs: nothing already built is redone.
    assert planned_jobs(project, target) == {"extract_shard", "gather_features", "train", "evaluate"}
    snakemake(project, target)

    features = load_npz(project / "data/processed/tiny/features/audio.tiny.npz")
    assert features["feature_names"].tolist() == [f"embedding_{i:03d}_{stat}" for stat in ("mean", "max")
                                                  for i in range(WIDTH)]
    # The first clip, windowed and embedded by hand: the workflow ran exactly this model on it.
    shard = load_npz(project / "data/interim/tiny/audio/shard-000.npz")
    clip = split_ragged(shard["audio"], shard["lengths"])[0]
    starts = range(0, max(len(clip) - WINDOW, 0) + HOP, HOP) if len(clip) > WINDOW else [0]
    windows = np.stack([np.pad(clip[s:s + WINDOW], (0, max(0, WINDOW - len(clip[s:s + WINDOW])))) for s in starts])
    expected = windows.astype(np.float32) @ weights.astype(np.float32)
    row = features["X"][features["clip_ids"].tolist().index(shard["clip_ids"][0])]
    np.testing.assert_allclose(row, np.concatenate([expected.mean(axis=0), expected.max(axis=0)]), rtol=1e-4, atol=1e-5)
    metrics = yaml.safe_load((project / target).read_text())
    assert set(metrics) >= set(params["tasks"])


def test_transcription_scores_the_test_clips_and_is_tracked(tiny_run, params):
    table = pd.read_csv(tiny_run / "results/tiny/transcription.csv")
    per_clip = pd.read_csv(tiny_run / "results/tiny/transcription_clips.csv")
    clips = pd.read_csv(tiny_run / "data/processed/tiny/features/clips.csv")
    assert sorted(per_clip["clip_id"]) == sorted(clips.loc[clips["split"] == "test", "clip_id"])
    everything = table[table["group_by"] == "all"].iloc[0]
    assert everything["n_clips"] == len(per_clip)
    assert everything["f_measure"] == pytest.approx(per_clip["f_measure"].mean(), abs=1e-4)
    assert set(table["group_by"]) == {"all", *params["transcription"]["by"]}
    # Onset-only matching can only find more notes than matching offsets too.
    assert (per_clip["f_measure_no_offset"] >= per_clip["f_measure"]).all() and (per_clip["n_reference"] > 0).all()

    import mlflow

    client = mlflow.MlflowClient(tracking_uri=f"sqlite:///{tiny_run / 'mlflow.db'}")
    experiment = client.get_experiment_by_name(params["tracking"]["experiment"])
    runs = client.search_runs([experiment.experiment_id], filter_string="tags.kind = 'transcription'")
    assert len(runs) == 1 and runs[0].data.metrics["all.all.f_measure"] == pytest.approx(everything["f_measure"])
