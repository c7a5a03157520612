"""Every registry of the package names exactly what the params.yaml schema allows, and params.yaml
uses only registered names: adding a method, mapping, learner, extractor or perturbation in one
place without the other fails here."""

from __future__ import annotations

import pytest
import yaml

from musicfusion import MEDIA_KEYS, MODALITIES, modality_of
from musicfusion.crossmodal.mappings import REGISTRY as MAPPINGS
from musicfusion.data.preprocess import POLICIES
from musicfusion.evaluation.metrics import METRICS
from musicfusion.evaluation.perturb import CLEAN_LEVEL, PERTURBATIONS
from musicfusion.features import POOLING_FUNCTIONS
from musicfusion.features.pitch_cnn import SUMMARIES
from musicfusion.features.registry import EXTRACTORS, ONNX_MODELS
from musicfusion.models.learners import LEARNERS
from musicfusion.models.methods import REGISTRY as METHODS
from musicfusion.models.paper_learners import PAPER_LEARNERS
from musicfusion.plumbing.config import SCHEMA_PATH
from musicfusion.symbolic.operators import OPERATORS


@pytest.fixture(scope="module")
def schema() -> dict:
    return yaml.safe_load(SCHEMA_PATH.read_text(encoding="utf-8"))


def properties(schema: dict, *path: str) -> dict:
    node = schema
    for key in path:
        node = node["properties"][key]
    return node


def test_method_types_are_the_registered_estimators(schema):
    entry = properties(schema, "methods")["additionalProperties"]
    assert set(entry["properties"]["type"]["enum"]) == set(METHODS)


def test_transfer_types_are_the_registered_mappings(schema):
    entry = properties(schema, "transfer", "methods")["additionalProperties"]
    assert set(entry["properties"]["type"]["enum"]) == set(MAPPINGS)


def test_learner_names_are_the_registered_learners(schema):
    assert set(properties(schema, "learners")["propertyNames"]["enum"]) == set(LEARNERS)


def test_paper_learners_are_the_registered_ones(schema, params):
    entry = properties(schema, "papers")["additionalProperties"]
    assert set(entry["properties"]["learners"]["propertyNames"]["enum"]) == set(PAPER_LEARNERS)
    for paper in params["papers"].values():
        assert set(paper["learners"]) <= set(PAPER_LEARNERS)


def test_modalities_are_the_registered_extractors_and_media(schema):
    assert tuple(schema["$defs"]["modality"]["enum"]) == MODALITIES
    own = {key for key in EXTRACTORS if modality_of(key) == key}
    assert own == set(MODALITIES) == set(MEDIA_KEYS)
    further = set(EXTRACTORS) - own
    # Every further feature set describes a modality and has its settings section; the ONNX models' too.
    assert {modality_of(key) for key in further} <= set(MODALITIES)
    sections = {EXTRACTORS[key].settings[0] for key in further} | {ONNX_MODELS}
    assert set(properties(schema, "features")["required"]) == set(MODALITIES) | sections | {"extra_sets", "controls"}
    assert set(properties(schema, "features", "controls")["required"]) == set(MODALITIES)
    # Only a modality's own set has shortcut controls.
    assert all(EXTRACTORS[key].controls is None for key in further)


def test_pitch_cnn_summaries_are_the_schema_enum(schema, params):
    enum = properties(schema, "features", "pitch_cnn", "summaries")["items"]["enum"]
    assert tuple(enum) == SUMMARIES
    assert set(params["features"]["pitch_cnn"]["summaries"]) <= set(SUMMARIES)


def test_perturbations_are_registered_with_a_clean_level(schema):
    assert set(properties(schema, "robustness", "noise")["properties"]) == set(PERTURBATIONS) == set(CLEAN_LEVEL)
    assert {modality for modality, _ in PERTURBATIONS.values()} <= set(MODALITIES)


def test_metrics_pooling_and_policies_match_their_enums(schema):
    assert set(properties(schema, "evaluate", "selection_metric")["enum"]) == set(METRICS)
    assert set(schema["$defs"]["pooling"]["items"]["enum"]) == set(POOLING_FUNCTIONS)
    assert set(properties(schema, "preprocess", "on_bad_input")["enum"]) == set(POLICIES)


def test_style_operators_are_the_registered_ones_the_controls_apart(schema, params):
    """An operator set lists style operators; instrument and tempo are the controls, never a set's."""
    sets = properties(schema, "style_transfer", "operator_sets")
    controls = set(sets["propertyNames"]["not"]["enum"])
    assert set(sets["additionalProperties"]["items"]["enum"]) | controls == set(OPERATORS)
    for operators in params["style_transfer"]["operator_sets"].values():
        assert set(operators) <= set(OPERATORS) - controls
    assert set(params["style_transfer"]["judges"]) <= set(params["methods"])


def test_params_yaml_uses_only_registered_names(params):
    assert {m["type"] for m in params["methods"].values()} <= set(METHODS)
    assert {m["type"] for m in params["transfer"]["methods"].values()} <= set(MAPPINGS)
    assert set(params["learners"]) <= set(LEARNERS)
    assert set(params["robustness"]["noise"]) <= set(PERTURBATIONS)
