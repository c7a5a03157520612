"""Logging each result once: a rerun reuses the run that holds the same result, else replaces it.

The runs of one result carry a tag ``result_key``, the SHA-256 of its key fields (kind, what it
is, the dataset, the params and data digests of its provenance), and a tag ``results_sha256``,
the SHA-256 of the result content logged (its numbers, never timings). Before logging, the
experiment is searched for runs with the same key: if exactly one FINISHED run holds the same
content it is reused (nothing is logged, its id is returned); otherwise every run of that key (a
failed or half-logged one, an older result, duplicates) is deleted with its child runs and its
logged models, and the result is logged afresh (:func:`log_once`). Deleted runs leave the UI at
once; ``mlflow gc`` removes them for good.

Nothing here knows what a result is: the loggers (musicfusion.tracking.loggers) name it and log
it, within one job's turn at the store (musicfusion.tracking.store.store_access).
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable

RESULT_KEY_TAG, RESULTS_DIGEST_TAG = "result_key", "results_sha256"

log = logging.getLogger(__name__)


def sha256_of(obj) -> str:
    """SHA-256 of a JSON-able object, independent of key order."""
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()


def _search_all(client, experiment_id: str, filter_string: str) -> list:
    runs, token = [], None
    while True:
        page = client.search_runs([experiment_id], filter_string, page_token=token)
        runs.extend(page)
        token = page.token
        if not token:
            return runs


def runs_of(client, experiment_id: str, key_fields: dict) -> list:
    """The (not deleted) runs logged under the key of ``key_fields``."""
    return _search_all(client, experiment_id, f"tags.{RESULT_KEY_TAG} = '{sha256_of(key_fields)}'")


def logged_once(client, experiment_id: str, key_fields: dict, content_digest: str) -> str | None:
    """The id of the one FINISHED run of this key holding this content, else None."""
    runs = runs_of(client, experiment_id, key_fields)
    if len(runs) == 1 and runs[0].info.status == "FINISHED" \
            and runs[0].data.tags.get(RESULTS_DIGEST_TAG) == content_digest:
        return runs[0].info.run_id
    return None


def replace_runs(client, experiment_id: str, key_fields: dict) -> list[str]:
    """Delete every run of this key with its child runs and logged models; returns the ids deleted."""
    from mlflow.utils.mlflow_tags import MLFLOW_PARENT_RUN_ID

    deleted = []
    for run in runs_of(client, experiment_id, key_fields):
        children = _search_all(client, experiment_id, f"tags.`{MLFLOW_PARENT_RUN_ID}` = '{run.info.run_id}'")
        for doomed in [run, *children]:
            for model in client.search_logged_models([experiment_id],
                                                     filter_string=f"source_run_id = '{doomed.info.run_id}'"):
                client.delete_logged_model(model.model_id)
            client.delete_run(doomed.info.run_id)
            deleted.append(doomed.info.run_id)
    return deleted


def log_once(client, experiment_id: str, key_fields: dict, content_digest: str,
             log_run: Callable[[dict], str]) -> str:
    """The run of one result, logged once: reused if it holds this content, else replaced.

    ``key_fields`` name the result (a ``kind`` and what identifies it: kind=fusion, method, task,
    dataset, params and data digests); ``content_digest`` is :func:`sha256_of` the content logged.
    ``log_run(tags)`` logs the run with ``tags`` (the ``result_key`` and ``results_sha256`` tags) and
    returns its id. Callers on a SQLite store hold musicfusion.tracking.store.store_access, which
    makes this atomic.
    """
    reused = logged_once(client, experiment_id, key_fields, content_digest)
    if reused is not None:
        log.info("reused run %s for %s", reused, key_fields)
        return reused
    deleted = replace_runs(client, experiment_id, key_fields)
    if deleted:
        log.info("deleted runs %s of %s before logging it afresh", deleted, key_fields)
    return log_run({RESULT_KEY_TAG: sha256_of(key_fields), RESULTS_DIGEST_TAG: content_digest})
