"""Transfer evaluation across pairs and methods (musicfusion.transfer_eval), on constructed features."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from matplotlib.figure import Figure

from musicfusion.featurestore import load_features
from musicfusion.io import load_pickle, markdown_table, save_npz, save_pickle
from musicfusion.transfer_eval import (BUNDLE_KEYS, PairResult, best_on_validation, load_bundle, run_pair,
                                       significance_table, summarize_transfer, summary_columns)

SPLIT_SIZES = {"train": 72, "validation": 24, "test": 24}
D_SOURCE, D_TARGET = 16, 10
TRANSFER = {
    "pca_components": D_SOURCE,
    "recall_at": [1, 5, 10],
    "methods": {
        # One canonical component cannot tell 24 clips apart: clearly worse than the linear map.
        "one_component_cca": {"type": "cca", "n_components": 1},
        "linear": {"type": "ridge", "alpha": 0.001},
    },
}
BOOTSTRAP_SAMPLES = 500
CONFIDENCE = 0.95
SEED = 7


def write_feature_store(folder: Path, seed: int = 0) -> Path:
    """Features in the featurestore layout where the target is a linear function of the source."""
    rng = np.random.default_rng(seed)
    n = sum(SPLIT_SIZES.values())
    ids = np.array([f"clip-{i:04d}" for i in range(n)])
    source = rng.normal(size=(n, D_SOURCE))
    target = source @ rng.normal(size=(D_SOURCE, D_TARGET)) + 3.0 + 1e-3 * rng.normal(size=(n, D_TARGET))
    splits = np.concatenate([[s] * k for s, k in SPLIT_SIZES.items()])
    rng.shuffle(splits)
    folder.mkdir(parents=True, exist_ok=True)
    for modality, X in (("video", source), ("audio", target)):
        save_npz(folder / f"{modality}.npz", clip_ids=ids, X=X.astype(np.float32),
                 feature_names=np.array([f"{modality}{j}" for j in range(X.shape[1])]))
    pd.DataFrame({"clip_id": ids, "split": splits, "style": "s", "instrument": "i",
                  "title": [f"Title {i}" for i in range(n)]}).to_csv(folder / "clips.csv", index=False)
    return folder


def fit_pair(folder: Path, source: str, target: str, transfer: dict = TRANSFER) -> PairResult:
    X, clips = load_features(folder, [source, target])
    return run_pair(source, target, X, clips, transfer, SEED, dataset="synthetic")


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> Path:
    return write_feature_store(tmp_path_factory.mktemp("features"))


@pytest.fixture(scope="module")
def both_pairs(store) -> list[PairResult]:
    return [fit_pair(store, source, target) for source, target in (("video", "audio"), ("audio", "video"))]


def test_ridge_retrieves_a_linear_target_and_is_picked_on_validation(both_pairs, tmp_path):
    result = both_pairs[0]
    metrics = result.metrics
    linear = metrics["methods"]["linear"]
    assert linear["test"]["recall@1"] >= 0.9
    assert linear["test"]["r2"] > 0.95
    assert metrics["methods"]["one_component_cca"]["test"]["mrr"] < linear["test"]["mrr"]
    assert metrics["best_on_validation"] == "linear"  # second in params order: picked on merit
    assert (metrics["n_train"], metrics["n_validation"], metrics["n_test"]) == tuple(SPLIT_SIZES.values())
    assert linear["test"]["chance_recall@1"] == pytest.approx(1 / SPLIT_SIZES["test"])

    assert list(result.ranks.columns) == ["clip_id", "method", "rank"]
    assert result.ranks.groupby("method").size().to_dict() == {m: SPLIT_SIZES["test"] for m in TRANSFER["methods"]}
    assert isinstance(result.figure, Figure)

    assert set(result.bundle) == set(BUNDLE_KEYS)
    save_pickle(tmp_path / "bundle.pkl", result.bundle)
    bundle = load_bundle(tmp_path / "bundle.pkl")
    assert bundle["best_on_validation"] == "linear" and bundle["dataset"] == "synthetic"
    assert set(bundle["mappings"]) == set(TRANSFER["methods"])
    assert bundle["n_features"] == {"video": D_SOURCE, "audio": D_TARGET}
    assert bundle["pca_components"] == TRANSFER["pca_components"]


def test_load_bundle_refuses_another_pickle(tmp_path):
    save_pickle(tmp_path / "other.pkl", {"source": "video"})
    with pytest.raises(ValueError, match="not a transfer model bundle"):
        load_bundle(tmp_path / "other.pkl")
    assert load_pickle(tmp_path / "other.pkl") == {"source": "video"}


def test_run_pair_is_deterministic(store, both_pairs):
    again = fit_pair(store, "video", "audio")
    assert again.metrics == both_pairs[0].metrics
    assert again.ranks.equals(both_pairs[0].ranks)


def test_same_source_and_target_or_a_tiny_split_is_refused(store, tmp_path):
    with pytest.raises(ValueError, match="must differ"):
        fit_pair(store, "audio", "audio")
    clips = pd.read_csv(store / "clips.csv")
    small = tmp_path / "small"
    small.mkdir()
    for name in ("audio.npz", "video.npz"):
        (small / name).write_bytes((store / name).read_bytes())
    clips["split"] = np.where(clips["split"] == "validation", "train", clips["split"])
    clips.loc[0, "split"] = "validation"
    clips.to_csv(small / "clips.csv", index=False)
    with pytest.raises(ValueError, match=r"\['validation'\] hold fewer than 2 clips"):
        fit_pair(small, "video", "audio")


def test_best_on_validation_breaks_ties_by_params_order():
    assert best_on_validation({"a": 0.5, "b": 0.7, "c": 0.7}) == "b"
    assert best_on_validation({"a": 0.2}) == "a"


def test_summary_has_one_row_per_pair_and_method_with_chance_levels(both_pairs):
    summary = summarize_transfer([r.metrics for r in both_pairs], [r.ranks for r in both_pairs],
                                 BOOTSTRAP_SAMPLES, SEED, CONFIDENCE)
    written = summary.table
    assert list(written.columns) == summary_columns(TRANSFER["recall_at"])
    for column in ("chance_recall@1", "chance_recall@5", "chance_recall@10", "chance_median_rank", "chance_mrr"):
        assert column in written
    assert len(written) == 2 * len(TRANSFER["methods"])
    assert set(zip(written["source"], written["target"], written["method"])) == {
        (s, t, m) for s, t in (("video", "audio"), ("audio", "video")) for m in TRANSFER["methods"]}
    assert written["method"].tolist() == 2 * list(TRANSFER["methods"])  # params order, not sorted
    assert written.groupby(["source", "target"])["best_on_validation"].sum().tolist() == [1, 1]
    assert (written["chance_median_rank"] == (SPLIT_SIZES["test"] + 1) / 2).all()
    # The linear map retrieves far above chance: its MRR interval excludes chance, p tiny.
    linear = written[written["method"] == "linear"]
    assert (linear["mrr_ci_low"] > linear["chance_mrr"]).all() and (linear["p_vs_chance"] < 0.01).all()
    assert ((written["mrr_ci_low"] <= written["mrr"]) & (written["mrr"] <= written["mrr_ci_high"])).all()
    assert markdown_table(written).count("\n") == len(written) + 1
    assert isinstance(summary.figure, Figure) and len(summary.figure.axes) >= 2
    # One comparison per pair (two methods), and the linear map is significantly better.
    sig = summary.significance
    assert len(sig) == 2
    assert (sig["method_a"] == "one_component_cca").all() and (sig["method_b"] == "linear").all()
    assert (sig["difference"] < 0).all() and (sig["p_value"] < 0.01).all() and sig["significant"].all()


def test_significance_small_for_a_clearly_better_method_and_one_for_identical_ones():
    n = 30
    rng = np.random.default_rng(0)
    clip_ids = [f"c{i:02d}" for i in range(n)]
    ranks = pd.concat([
        pd.DataFrame({"clip_id": clip_ids, "method": "good", "rank": 1}),
        pd.DataFrame({"clip_id": clip_ids, "method": "random", "rank": rng.integers(1, n + 1, size=n)}),
        pd.DataFrame({"clip_id": clip_ids, "method": "good_again", "rank": 1}),
    ])
    pair = {"source": "video", "target": "audio", "methods": {"good": {}, "random": {}, "good_again": {}}}
    table = significance_table([pair], [ranks], BOOTSTRAP_SAMPLES, SEED, CONFIDENCE).set_index(
        ["method_a", "method_b"])
    better = table.loc[("good", "random")]
    assert better["mrr_a"] == 1.0 and better["difference"] > 0
    assert better["p_value"] < 0.01 and better["ci_low"] > 0
    same = table.loc[("good", "good_again")]
    assert same["difference"] == 0.0 and same["p_value"] == 1.0 and not same["significant"]
    again = significance_table([pair], [ranks], BOOTSTRAP_SAMPLES, SEED, CONFIDENCE)
    assert again.equals(table.reset_index()[again.columns])  # seeded: same numbers every time
