"""Fixtures of the tracking tests: one SQLite store per module, an experiment per test, a fitted method."""

from __future__ import annotations

import pytest

from musicfusion.tracking.store import init_store

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
