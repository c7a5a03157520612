"""Fusion methods on synthetic data: audio carries the class, video is noise, text is weak."""

from __future__ import annotations

import pickle
from math import comb
from pathlib import Path

import numpy as np
import pytest
import yaml
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

from musicfusion.fusion import REGISTRY, LateFusion, build_method, simplex_grid

CLASSES = np.array(["a", "b", "c"])
MODS = ["audio", "video", "text"]
SEED = 0


def make_split(n: int, rng: np.random.Generator):
    """Features of n clips: a 3-class 'style' and a 2-class 'loud' task (also in audio)."""
    style = rng.integers(0, 3, n)
    loud = rng.integers(0, 2, n)
    onehot = np.eye(3)[style]
    audio = np.hstack([2.0 * onehot, 2.0 * loud[:, None]]) + rng.normal(size=(n, 4))
    audio = np.hstack([audio, rng.normal(size=(n, 4))])  # some uninformative columns too
    video = rng.normal(size=(n, 6))
    text = 0.4 * onehot + rng.normal(size=(n, 3))
    X = {"audio": audio, "video": video, "text": text}
    X = {m: x.astype(np.float32) for m, x in X.items()}
    return X, CLASSES[style], np.array(["quiet", "loud"])[loud]


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(SEED)
    return {name: make_split(n, rng) for name, n in [("train", 150), ("val", 150), ("test", 300)]}


def fit_predict(method, data, multitask=False):
    Xtr, ytr, ztr = data["train"]
    Xva, yva, zva = data["val"]
    if multitask:
        method.fit(Xtr, np.column_stack([ytr, ztr]), Xva, np.column_stack([yva, zva]))
    else:
        method.fit(Xtr, ytr, Xva, yva)
    return method


def accuracy(method, data) -> float:
    X, y, _ = data["test"]
    return float(np.mean(method.predict(X) == y))


def test_single_modality_informative_vs_noise(data):
    audio = fit_predict(build_method({"type": "single_modality", "modalities": ["audio"]}, SEED),
                        data)
    video = fit_predict(build_method({"type": "single_modality", "modalities": ["video"]}, SEED),
                        data)
    assert accuracy(audio, data) > 0.75  # chance is 1/3
    assert accuracy(video, data) < 0.45
    assert list(audio.classes_) == list(CLASSES)
    assert audio.predict_proba(data["test"][0]).shape == (300, 3)


def test_single_modality_needs_exactly_one_modality(data):
    with pytest.raises(ValueError, match="exactly one"):
        fit_predict(build_method({"type": "single_modality", "modalities": ["audio", "text"]},
                                 SEED), data)


def test_missing_modality_is_named(data):
    method = build_method({"type": "early_fusion", "modalities": ["audio", "lyrics"]}, SEED)
    with pytest.raises(ValueError, match="lyrics"):
        fit_predict(method, data)


@pytest.mark.parametrize("kind", ["early_fusion", "late_fusion", "stacking"])
def test_fusion_beats_chance(kind, data):
    method = fit_predict(build_method({"type": kind, "modalities": MODS}, SEED), data)
    assert accuracy(method, data) > 0.7
    proba = method.predict_proba(data["test"][0])
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)


def test_late_fusion_weights_on_grid_favour_informative_modality(data):
    step = 0.1
    method = fit_predict(LateFusion(modalities=MODS, weight_step=step, random_state=SEED), data)
    w = method.weights_
    assert list(w) == MODS
    assert sum(w.values()) == pytest.approx(1.0)
    counts = np.array(list(w.values())) / step
    np.testing.assert_allclose(counts, np.round(counts), atol=1e-9)
    assert max(w, key=w.get) == "audio"
    assert 0.0 <= method.val_score_ <= 1.0


def test_each_method_reports_what_it_learned(data):
    late = fit_predict(LateFusion(modalities=MODS, weight_step=0.1, random_state=SEED), data)
    assert late.learned_params() == {"weights": pytest.approx(late.weights_), "val_score": late.val_score_}
    X, y, _ = data["train"]
    keep = np.r_[np.flatnonzero(y != "c"), np.flatnonzero(y == "c")[:3]]
    stacking = build_method({"type": "stacking", "modalities": MODS, "cv_folds": 5}, SEED)
    stacking.fit({m: x[keep] for m, x in X.items()}, y[keep])
    assert stacking.learned_params() == {"n_folds": 3}
    early = fit_predict(build_method({"type": "early_fusion", "modalities": MODS}, SEED), data)
    assert early.learned_params() == {}
    with pytest.raises(NotFittedError):
        LateFusion(modalities=MODS).learned_params()


def test_late_fusion_ties_prefer_uniform_weights(data):
    X, y, _ = data["train"]
    same = {m: X["audio"] for m in MODS}  # identical modalities: every weighting predicts alike
    method = LateFusion(modalities=MODS, weight_step=0.1, random_state=SEED)
    method.fit(same, y, same, y)
    # Most uniform grid points are permutations of (.3, .3, .4); the first in grid order wins.
    assert method.weights_ == pytest.approx({"audio": 0.3, "video": 0.3, "text": 0.4})


def test_late_fusion_requires_validation_data(data):
    X, y, _ = data["train"]
    with pytest.raises(ValueError, match="X_val"):
        LateFusion(modalities=MODS).fit(X, y)


def test_simplex_grid():
    grid = simplex_grid(3, 0.1)
    assert grid.shape == (comb(12, 2), 3)  # compositions of 10 into 3 parts
    np.testing.assert_allclose(grid.sum(axis=1), 1.0)
    assert len({tuple(row) for row in grid}) == len(grid)
    assert simplex_grid(1, 0.25).tolist() == [[1.0]]
    with pytest.raises(ValueError, match="weight_step"):
        simplex_grid(3, 0.3)


def test_stacking_falls_back_to_fewer_folds(data):
    X, y, _ = data["train"]
    keep = np.r_[np.flatnonzero(y != "c"), np.flatnonzero(y == "c")[:3]]
    method = build_method({"type": "stacking", "modalities": MODS, "cv_folds": 5}, SEED)
    method.fit({m: x[keep] for m, x in X.items()}, y[keep])
    assert method.n_folds_ == 3


def test_mlp_single_task(data):
    method = fit_predict(build_method({"type": "mlp", "modalities": MODS, "multitask": False,
                                       "hidden_layer_sizes": [16], "max_iter": 200}, SEED), data)
    assert method.multitask is False
    assert accuracy(method, data) > 0.6
    assert method.predict(data["test"][0]).shape == (300,)


def test_mlp_multitask_predicts_every_task(data):
    method = build_method({"type": "mlp", "modalities": MODS, "multitask": True,
                           "hidden_layer_sizes": [16], "max_iter": 200}, SEED)
    assert method.multitask is True
    fit_predict(method, data, multitask=True)
    X, y, z = data["test"]
    proba = method.predict_proba(X)
    assert [p.shape for p in proba] == [(300, 3), (300, 2)]
    for p in proba:
        np.testing.assert_allclose(p.sum(axis=1), 1.0)
    assert [list(c) for c in method.classes_] == [list(CLASSES), ["loud", "quiet"]]
    pred = method.predict(X)
    assert pred.shape == (300, 2)
    assert np.mean(pred[:, 0] == y) > 0.6 and np.mean(pred[:, 1] == z) > 0.6
    with pytest.raises(ValueError, match="n_tasks"):
        method.fit(X, y)


CONFIGS = {
    "single_modality": {"modalities": ["audio"]},
    "control": {"modalities": ["audio"]},
    "early_fusion": {"modalities": MODS},
    "late_fusion": {"modalities": MODS, "weight_step": 0.25},
    "stacking": {"modalities": MODS, "cv_folds": 3},
    "mlp": {"modalities": MODS, "hidden_layer_sizes": [8], "max_iter": 50, "multitask": False},
    "mlp_multitask": {"modalities": MODS, "hidden_layer_sizes": [8], "max_iter": 50,
                      "multitask": True},
}


def test_a_control_is_the_single_modality_learner_on_control_features():
    from musicfusion.fusion import ShortcutControl, SingleModality, feature_set_of, is_control

    control = build_method({"type": "control", "modalities": ["audio"], "C": 0.5}, SEED)
    assert isinstance(control, ShortcutControl) and isinstance(control, SingleModality)
    assert feature_set_of({"type": "control", "modalities": ["audio"]}) == "control"
    assert feature_set_of({"type": "single_modality", "modalities": ["audio"]}) == "content"
    assert is_control({"type": "control"}) and not is_control({"type": "late_fusion"})


def test_every_registered_type_is_tested():
    assert set(REGISTRY) <= {name.split("_multitask")[0] for name in CONFIGS}


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_clone_pickle_and_determinism(name, data):
    kind = "mlp" if name == "mlp_multitask" else name
    multitask = name == "mlp_multitask"
    first = fit_predict(build_method({"type": kind, **CONFIGS[name]}, SEED), data, multitask)
    again = clone(first)
    assert not hasattr(again, "classes_")
    fit_predict(again, data, multitask)
    restored = pickle.loads(pickle.dumps(first))
    X = data["test"][0]
    expected = first.predict_proba(X)
    for other in (again, restored):  # same seed and data: bit-identical probabilities
        got = other.predict_proba(X)
        for e, g in zip(*(([expected], [got]) if not multitask else (expected, got))):
            assert np.array_equal(e, g)
        assert np.array_equal(first.predict(X), other.predict(X))


def test_build_method_rejects_unknown_type_and_key():
    with pytest.raises(ValueError, match="transformer_fusion"):
        build_method({"type": "transformer_fusion"}, SEED)
    with pytest.raises(ValueError, match=r"'late_fusion'.*weight_stp"):
        build_method({"type": "late_fusion", "weight_stp": 0.1}, SEED)
    with pytest.raises(ValueError, match="random_state"):
        build_method({"type": "early_fusion", "random_state": 1}, SEED)
    with pytest.raises(ValueError, match="None"):
        build_method({"modalities": MODS}, SEED)


def test_build_method_accepts_every_configured_method():
    params = yaml.safe_load((Path(__file__).parents[1] / "params.yaml").read_text())
    for name, settings in params["methods"].items():
        method = build_method(settings, params["seed"])
        assert method.random_state == params["seed"], name
        assert method.get_params()["modalities"] == settings["modalities"], name


def test_block_weights_give_every_modality_the_same_total_variance():
    from sklearn.preprocessing import StandardScaler

    from musicfusion.fusion import BlockWeights

    rng = np.random.default_rng(0)
    X = StandardScaler().fit_transform(rng.normal(size=(200, 10 + 990)))
    scaled = BlockWeights((10, 990)).fit_transform(X)
    narrow, wide = scaled[:, :10].var(axis=0).sum(), scaled[:, 10:].var(axis=0).sum()
    assert narrow == pytest.approx(wide)
    assert scaled.var(axis=0).mean() == pytest.approx(1.0)  # overall scale kept
    with pytest.raises(ValueError, match="do not add up"):
        BlockWeights((10, 10)).fit(X)


def test_block_scaling_keeps_a_narrow_informative_modality_from_drowning():
    rng = np.random.default_rng(3)
    n = 240
    y = rng.choice(["a", "b", "c"], n)
    signal = rng.normal(size=(n, 5)) + 1.5 * (y[:, None] == np.array(["a", "b", "c", "a", "b"]))
    noise = rng.normal(size=(n, 3000))
    X = {"audio": signal.astype(np.float32), "text": noise.astype(np.float32)}
    train, test = np.arange(n) < 160, np.arange(n) >= 160
    scores = {}
    for scaling in (False, True):
        model = build_method({"type": "early_fusion", "modalities": ["audio", "text"], "block_scaling": scaling}, 0)
        model.fit({m: x[train] for m, x in X.items()}, y[train])
        scores[scaling] = np.mean(model.predict({m: x[test] for m, x in X.items()}) == y[test])
    assert scores[True] > scores[False] + 0.1
