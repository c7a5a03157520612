"""Fixtures of the tracking tests: one SQLite store per module, an experiment per test, a fitted method."""

from __future__ import annotations

import numpy as np
import pytest

from musicfusion.models.methods import build_method
from musicfusion.tracking.store import init_store

from small_learners import LEARNERS
from tracking_cases import EXPERIMENT


@pytest.fixture(scope="module")
def database(tmp_path_factory):
    """One store for the module (creating its schema takes seconds); each test its own experiment."""
    root = tmp_path_factory.mktemp("mlflow")
    return f"sqlite:///{root / 'mlflow.db'}", root


@pytest.fixture()
def store(database, request):
    import mlflow

    uri, root = database
    experiment = f"{EXPERIMENT}-{request.node.name}"
    init_store(uri, experiment, root=root)
    yield uri, mlflow.MlflowClient(tracking_uri=uri), experiment


@pytest.fixture(scope="module")
def late_fusion():
    rng = np.random.default_rng(0)
    y = np.array(["a", "b"] * 20)
    X = {"audio": rng.normal(size=(40, 3)) + (y == "a")[:, None], "text": rng.normal(size=(40, 2))}
    method = {"type": "late_fusion", "modalities": ["audio", "text"], "learner": "logistic", "weight_step": 0.5}
    return build_method(method, 0, LEARNERS).fit(X, y, X, y)
