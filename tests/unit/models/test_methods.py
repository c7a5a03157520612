"""Methods parsed once from params.yaml: the registered estimator, the learner of each unit, the
search space and untuned values, and the estimator built for one configuration."""

from __future__ import annotations

import copy

import numpy as np
import pytest

from musicfusion import MODALITIES
from musicfusion.models.fusion import JOINT
from musicfusion.models.methods import (
    build_method,
    feature_kind_of,
    is_control,
    learner_names,
    learner_units,
    parse_method,
)
from musicfusion.plumbing.config import resolve_methods

from fusion_cases import MODS, SEED, build, fit_predict, make_split
from small_learners import LEARNERS

LATE = {"type": "late_fusion", "modalities": ["audio", "text"], "learner": {"audio": "svm", "text": "logistic"}}
SINGLE = {"type": "single_modality", "modalities": ["audio"], "learner": "logistic"}


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(SEED)
    return {name: make_split(n, rng) for name, n in [("train", 150), ("val", 150), ("test", 300)]}


def test_a_control_is_the_single_modality_learner_on_control_features():
    from musicfusion.models.fusion import ShortcutControl, SingleModality

    control = build("control", ["audio"], values={"audio.C": 0.5})
    assert isinstance(control, ShortcutControl) and isinstance(control, SingleModality)
    assert control.learners == {"audio": {"name": "logistic", "C": 0.5, "max_iter": 1000}}
    assert feature_kind_of({"type": "control", "modalities": ["audio"]}) == "control"
    assert feature_kind_of({"type": "single_modality", "modalities": ["audio"]}) == "content"
    assert is_control({"type": "control"}) and not is_control({"type": "late_fusion"})


def test_learner_units_are_the_modalities_or_joint():
    assert learner_units({"type": "single_modality", "modalities": ["audio"]}) == ["audio"]
    assert learner_units({"type": "stacking", "modalities": MODS}) == MODS
    assert learner_units({"type": "early_fusion", "modalities": MODS}) == [JOINT]
    assert learner_units({"type": "multitask", "modalities": MODS}) == [JOINT]
    assert learner_names({"type": "early_fusion", "modalities": MODS, "learner": "mlp"}) == {JOINT: "mlp"}


def test_learner_specs_put_tuned_values_over_the_untuned_settings(data):
    params = {"type": "late_fusion", "modalities": ["audio", "text"], "learner": "logistic"}
    before = copy.deepcopy(LEARNERS)
    specs = parse_method(params, LEARNERS).learner_specs({"audio.C": 0.01})
    assert specs == {"audio": {"name": "logistic", "C": 0.01, "max_iter": 1000},
                     "text": {"name": "logistic", "C": 1.0, "max_iter": 1000}}
    assert LEARNERS == before  # the configuration is not modified
    specs["text"]["C"] = 7.0
    assert LEARNERS == before  # nor shared with the specs
    method = build_method(dict(params, weight_step=0.5), SEED, LEARNERS, {"audio.C": 0.01})
    fit_predict(method, data)
    assert method.models_["audio"][-1].C == 0.01 and method.models_["text"][-1].C == 1.0
    with pytest.raises(ValueError, match="lyrics.C"):
        parse_method(params, LEARNERS).learner_specs({"lyrics.C": 1.0})
    with pytest.raises(ValueError, match="'audio'"):
        parse_method(params, LEARNERS).learner_specs({"audio": 1.0})  # no setting named


def test_build_method_rejects_unknown_type_and_key():
    with pytest.raises(ValueError, match="transformer_fusion"):
        build("transformer_fusion")
    with pytest.raises(ValueError, match=r"'late_fusion'.*weight_stp"):
        build("late_fusion", weight_stp=0.1)
    with pytest.raises(ValueError, match="random_state"):
        build("early_fusion", random_state=1)
    with pytest.raises(ValueError, match="None"):
        build_method({"modalities": MODS, "learner": "logistic"}, SEED, LEARNERS)
    # learner settings belong to the learner, no longer to the method
    with pytest.raises(ValueError, match=r"'single_modality'.*\['C'\]"):
        build("single_modality", ["audio"], C=1.0)


def test_build_method_needs_a_configured_learner_per_unit():
    with pytest.raises(ValueError, match="`learner`"):
        build_method({"type": "early_fusion", "modalities": MODS}, SEED, LEARNERS)  # none named
    with pytest.raises(ValueError, match="`learner`"):
        build("late_fusion", learner={"audio": "svm", "video": "logistic"})  # text has none
    with pytest.raises(ValueError, match="'svm' is not configured"):
        build_method({"type": "early_fusion", "modalities": MODS, "learner": "svm"}, SEED,
                     {"logistic": LEARNERS["logistic"]})
    with pytest.raises(ValueError, match="'boosting'"):
        build_method({"type": "early_fusion", "modalities": MODS, "learner": "boosting"}, SEED,
                     {**LEARNERS, "boosting": {"settings": {}}})


def test_build_method_accepts_every_configured_method(params):
    """Every method of the real params.yaml (loaded and validated by load_params) builds with
    its configured learners."""
    for name, settings in resolve_methods(params["methods"], MODALITIES)[0].items():
        method = build_method(settings, params["seed"], params["learners"])
        assert method.random_state == params["seed"], name
        assert method.get_params()["modalities"] == settings["modalities"], name
        names = learner_names(settings)
        assert {unit: spec["name"] for unit, spec in method.learners.items()} == names, name
        for unit, spec in method.learners.items():
            assert spec == {"name": names[unit], **params["learners"][names[unit]]["settings"]}, name


def test_search_space_keys_are_unit_and_setting():
    assert parse_method(LATE, LEARNERS).space == {
        "audio.kernel": ["linear", "rbf"], "audio.C": LEARNERS["svm"]["search"]["C"],
        "text.C": LEARNERS["logistic"]["search"]["C"]}
    early = {"type": "early_fusion", "modalities": ["audio", "text"], "learner": "mlp"}
    assert sorted(parse_method(early, LEARNERS).space) == ["joint.alpha", "joint.dropout"]
    unsearched = {**LEARNERS, "logistic": {"settings": {"C": 1.0}}}
    assert parse_method(SINGLE, unsearched).space == {}


def test_untuned_values_are_the_settings_checked_against_their_domain():
    assert parse_method(LATE, LEARNERS).untuned == {
        "audio.kernel": "rbf", "audio.C": 1.0, "text.C": 1.0}
    outside = {**LEARNERS, "logistic": {"settings": {"C": 1000.0}, "search": LEARNERS["logistic"]["search"]}}
    with pytest.raises(ValueError, match=r"'logistic'.*C=1000.0.*outside"):
        parse_method(SINGLE, outside).untuned
    not_a_choice = {**LEARNERS, "svm": {"settings": {"kernel": "poly", "C": 1.0}, "search": LEARNERS["svm"]["search"]}}
    with pytest.raises(ValueError, match=r"'svm'.*kernel='poly'.*outside"):
        parse_method(LATE, not_a_choice).untuned
    missing = {**LEARNERS, "logistic": {"settings": {"max_iter": 100}, "search": LEARNERS["logistic"]["search"]}}
    with pytest.raises(ValueError, match=r"'logistic'.*'C' has no untuned value"):
        parse_method(SINGLE, missing).untuned


def test_every_configured_method_has_valid_untuned_values(params):
    for name, method in resolve_methods(params["methods"], MODALITIES)[0].items():
        spec = parse_method(method, params["learners"])
        assert spec.space, name  # every configured learner has something to tune
        assert sorted(spec.untuned) == sorted(spec.space), name


def test_a_text_untuned_value_against_a_range_is_a_clear_error():
    learners = {"svm": {"settings": {"gamma": "scale"}, "search": {"gamma": {"low": 1e-3, "high": 1.0}}}}
    method = {"type": "single_modality", "modalities": ["audio"], "learner": "svm"}
    with pytest.raises(ValueError, match="outside its search domain"):
        parse_method(method, learners).untuned
