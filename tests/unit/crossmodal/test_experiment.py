"""Transfer evaluation across pairs and methods (musicfusion.crossmodal.experiment), on constructed features."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from musicfusion.crossmodal.experiment import (
    BUNDLE_KEYS,
    CHANCE_TEST_COLUMNS,
    PairResult,
    adjust_against_chance,
    best_on_validation,
    evaluate_mapping,
    load_bundle,
    mrr_against_chance,
    run_pair,
    significance_table,
    summarize_transfer,
    transfer_columns,
)
from musicfusion.crossmodal.retrieval import rank_matrix, retrieval_metrics
from musicfusion.evaluation.stats import holm
from musicfusion.features.matrices import load_features
from musicfusion.plumbing.files import load_pickle, markdown_table, save_npz, save_pickle

SPLIT_SIZES = {"train": 72, "validation": 24, "test": 24}
D_SOURCE, D_TARGET = 16, 10
TRANSFER = {
    "pca_components": D_SOURCE,
    "recall_at": [1, 5, 10],
    "permutations": 199,  # gallery shuffles of the test against chance: smallest p = 1/200
    "methods": {
        # One canonical component cannot tell 24 clips apart: clearly worse than the linear map.
        "one_component_cca": {"type": "cca", "n_components": 1},
        "linear": {"type": "ridge", "alpha": 0.001},
    },
}
BOOTSTRAP_SAMPLES = 500
CONFIDENCE = 0.95
SEED = 7


def write_feature_store(folder: Path, seed: int = 0, related: bool = True) -> Path:
    """Features in the processed-features layout (musicfusion.plumbing.paths) where the target is a linear function of the source
    (``related``) or independent Gaussian noise (not related: retrieval can only be at chance)."""
    rng = np.random.default_rng(seed)
    n = sum(SPLIT_SIZES.values())
    ids = np.array([f"clip-{i:04d}" for i in range(n)])
    source = rng.normal(size=(n, D_SOURCE))
    if related:
        target = source @ rng.normal(size=(D_SOURCE, D_TARGET)) + 3.0 + 1e-3 * rng.normal(size=(n, D_TARGET))
    else:
        target = rng.normal(size=(n, D_TARGET))
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
    return run_pair(source, target, X, clips, transfer, SEED, label="style", dataset="synthetic")


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> Path:
    return write_feature_store(tmp_path_factory.mktemp("features"))


@pytest.fixture(scope="module")
def both_pairs(store) -> list[PairResult]:
    return [fit_pair(store, source, target) for source, target in (("video", "audio"), ("audio", "video"))]


@pytest.fixture(scope="module")
def unrelated_pairs(tmp_path_factory) -> list[PairResult]:
    """Both directions on a store whose modalities are independent noise (store seed 1)."""
    store = write_feature_store(tmp_path_factory.mktemp("unrelated"), seed=1, related=False)
    return [fit_pair(store, source, target) for source, target in (("video", "audio"), ("audio", "video"))]


def summarize(pairs: list[PairResult], seed: int = SEED):
    return summarize_transfer([r.metrics for r in pairs], [r.ranks for r in pairs], BOOTSTRAP_SAMPLES, seed,
                              CONFIDENCE)


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
    summary = summarize(both_pairs)
    written = summary.table
    assert list(written.columns) == transfer_columns(TRANSFER["recall_at"], "style")
    for column in ("chance_recall@1", "chance_recall@5", "chance_recall@10", "chance_median_rank", "chance_mrr"):
        assert column in written
    assert len(written) == 2 * len(TRANSFER["methods"])
    assert set(zip(written["source"], written["target"], written["method"])) == {
        (s, t, m) for s, t in (("video", "audio"), ("audio", "video")) for m in TRANSFER["methods"]}
    assert written["method"].tolist() == 2 * list(TRANSFER["methods"])  # params order, not sorted
    assert written.groupby(["source", "target"])["best_on_validation"].sum().tolist() == [1, 1]
    assert (written["chance_median_rank"] == (SPLIT_SIZES["test"] + 1) / 2).all()
    # The linear map retrieves far above chance: no gallery shuffle reaches its MRR, so its p is
    # the smallest a permutation test with 199 shuffles can give, 1 / 200.
    linear = written[written["method"] == "linear"]
    assert (linear["mrr"] > linear["chance_mrr"]).all()
    assert (linear["p_vs_chance"] == 1 / (TRANSFER["permutations"] + 1)).all()
    assert not {"mrr_ci_low", "mrr_ci_high"} & set(written.columns)  # the bootstrap interval is gone
    assert (written["p_vs_chance_holm"] >= written["p_vs_chance"]).all()
    assert written["p_vs_chance_holm"].tolist() == pytest.approx(holm(written["p_vs_chance"]).tolist(), abs=1e-4)
    assert markdown_table(written).count("\n") == len(written) + 1
    assert isinstance(summary.figure, Figure) and len(summary.figure.axes) >= 2
    # One comparison per pair (two methods), and the linear map is significantly better.
    sig = summary.significance
    assert len(sig) == 2
    assert (sig["method_a"] == "one_component_cca").all() and (sig["method_b"] == "linear").all()
    assert list(sig.columns) == ["source", "target", "method_a", "method_b", "n_test", "mrr_a", "mrr_b",
                                 "difference", "ci_low", "ci_high", "p_raw", "p_holm", "significant"]
    assert (sig["difference"] < 0).all() and (sig["p_raw"] < 0.01).all() and (sig["p_holm"] < 0.01).all()
    assert (sig["p_holm"] >= sig["p_raw"]).all() and sig["significant"].all()


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
    assert better["p_raw"] < 0.01 and better["p_holm"] < 0.05 and better["ci_low"] > 0 and better["significant"]
    same = table.loc[("good", "good_again")]
    assert same["difference"] == 0.0 and same["p_raw"] == 1.0 and same["p_holm"] == 1.0 and not same["significant"]
    # Holm across the whole table (3 comparisons), significant = p_holm < 1 - confidence.
    assert len(table) == 3
    assert (table["p_holm"] >= table["p_raw"]).all()
    assert table["p_holm"].tolist() == pytest.approx(holm(table["p_raw"]).tolist(), abs=1e-4)
    assert (table["significant"] == (table["p_holm"] < 1 - CONFIDENCE)).all()
    again = significance_table([pair], [ranks], BOOTSTRAP_SAMPLES, SEED, CONFIDENCE)
    assert again.equals(table.reset_index()[again.columns])  # seeded: same numbers every time


# --------------------------------------------------------------------------------------------
# Permutation test against chance (p_vs_chance) and its Holm adjustment
# --------------------------------------------------------------------------------------------


def test_run_pair_needs_the_number_of_permutations(store):
    without = {key: value for key, value in TRANSFER.items() if key != "permutations"}
    with pytest.raises(KeyError, match="permutations"):
        fit_pair(store, "video", "audio", without)


def test_unrelated_modalities_are_not_called_better_than_chance(unrelated_pairs):
    """Independent noise: nothing to retrieve, so for this fixed store and seed no method's MRR
    stands out from the gallery shuffles (p > 0.05), before and after Holm."""
    for result in unrelated_pairs:
        for method, entry in result.metrics["methods"].items():
            p = entry["test"]["p_vs_chance"]
            assert 0.05 < p <= 1.0, (result.metrics["source"], method, p)
            assert p * (TRANSFER["permutations"] + 1) == pytest.approx(round(p * (TRANSFER["permutations"] + 1)))
    table = summarize(unrelated_pairs).table
    assert (table["p_vs_chance_holm"] > 0.05).all()
    assert (table["p_vs_chance_holm"] >= table["p_vs_chance"]).all()


def test_holm_against_chance_spans_every_pair_and_method(both_pairs, unrelated_pairs):
    pairs = both_pairs + unrelated_pairs  # one table, one family of 8 tests
    table = summarize(pairs).table
    assert list(table.columns) == transfer_columns(TRANSFER["recall_at"], "style")
    assert table.columns.get_loc("p_vs_chance_holm") == table.columns.get_loc("p_vs_chance") + 1
    assert CHANCE_TEST_COLUMNS == ["p_vs_chance", "p_vs_chance_holm"]
    raw = table["p_vs_chance"].to_numpy()
    assert raw.tolist() == [e["test"]["p_vs_chance"] for r in pairs for e in
                            (r.metrics["methods"][m] for m in TRANSFER["methods"])]
    assert table["p_vs_chance_holm"].tolist() == pytest.approx(np.round(holm(raw), 4).tolist())
    assert (table["p_vs_chance_holm"] >= table["p_vs_chance"]).all()
    # 8 tests; the four related-store p-values are all 1/200 (minimal), so Holm makes them
    # max(8, 7, 6, 5) / 200 = 8/200 = 0.04: the linear maps stay below 0.05 after adjustment.
    linear_related = table[(table["method"] == "linear")].iloc[:2]
    assert (linear_related["p_vs_chance_holm"] <= 8 / 200 + 1e-12).all()
    # adjust_against_chance on its own: only the Holm column is added.
    bare = table.drop(columns="p_vs_chance_holm")
    adjusted = adjust_against_chance(bare)
    assert adjusted.equals(table) and list(bare.columns) == [c for c in table.columns if c != "p_vs_chance_holm"]


def test_summary_is_deterministic_for_a_seed(both_pairs):
    first, second = summarize(both_pairs), summarize(both_pairs)
    assert first.table.equals(second.table)
    assert first.significance.equals(second.significance)
    other = summarize(both_pairs, seed=SEED + 1)  # the bootstrap resamples change, the table does not
    assert other.table.equals(first.table)


def test_mrr_against_chance_by_construction():
    n, permutations = 12, 99
    perfect = np.where(np.eye(n, dtype=bool), 1, n)  # the true item first, every other one last
    assert mrr_against_chance(perfect, permutations, seed=0) == pytest.approx(1 / (permutations + 1))
    everything_ties = np.full((n, n), n)  # a constant embedding: every shuffle gives the same MRR
    assert mrr_against_chance(everything_ties, permutations, seed=0) == 1.0
    rng = np.random.default_rng(0)
    q = rng.normal(size=(n, 4))
    worst = rank_matrix(q, -q)  # the true item is the least similar: never better than a shuffle
    assert np.diag(worst).tolist() == [n] * n
    assert mrr_against_chance(worst, permutations, seed=0) == 1.0
    random_ranks = rank_matrix(rng.normal(size=(n, 4)), rng.normal(size=(n, 4)))
    assert mrr_against_chance(random_ranks, permutations, 3) == mrr_against_chance(random_ranks, permutations, 3)


class _IdentityMapping:
    """A 'fitted mapping' that embeds both sides as they are."""

    def embed_source(self, X):
        return np.asarray(X, dtype=np.float64)

    def embed_target(self, Y):
        return np.asarray(Y, dtype=np.float64)


def test_evaluate_mapping_adds_p_vs_chance_only_when_asked():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(30, 5))
    Y = X + 0.2 * rng.normal(size=(30, 5))
    styles = np.array(["x", "y", "z"] * 10)
    metrics, ranks = evaluate_mapping(_IdentityMapping(), X, Y, [1, 5], styles, label="style")
    assert "p_vs_chance" not in metrics
    assert metrics["mrr"] == pytest.approx(retrieval_metrics(ranks, [1, 5])["mrr"])
    np.testing.assert_array_equal(ranks, np.diag(rank_matrix(X, Y)))
    tested, tested_ranks = evaluate_mapping(_IdentityMapping(), X, Y, [1, 5], styles, n_permutations=99, seed=4, label="style")
    np.testing.assert_array_equal(tested_ranks, ranks)
    assert tested["p_vs_chance"] == pytest.approx(1 / 100)  # related: no shuffle comes close
    assert {k: v for k, v in tested.items() if k != "p_vs_chance"} == metrics
    assert tested["p_vs_chance"] == mrr_against_chance(rank_matrix(X, Y), 99, 4)
    unrelated, _ = evaluate_mapping(_IdentityMapping(), X, rng.normal(size=(30, 5)), [1], n_permutations=99, seed=4)
    assert unrelated["p_vs_chance"] > 0.05
