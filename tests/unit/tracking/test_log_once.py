"""Logging each result once: the generic reuse-or-replace of musicfusion.tracking.log_once, for any
kind of run (the loggers' own reruns are in test_store_faults.py)."""

from __future__ import annotations

from musicfusion.tracking.log_once import RESULT_KEY_TAG, RESULTS_DIGEST_TAG, log_once, runs_of, sha256_of


def test_log_once_serves_a_new_kind_of_run_and_collapses_duplicates(store):
    """The generic helper: any kind of run (here kind=robustness) gets reuse-or-replace; duplicate
    runs of one key (as older code logged them) are replaced by one."""
    uri, client, experiment = store
    exp_id = client.get_experiment_by_name(experiment).experiment_id
    key = {"kind": "robustness", "method": "late_fusion", "task": "style", "noise": "0.1", "dataset": "tiny",
           "params_sha256": "p" * 64, "dataset_sha256": "f" * 64}
    logged = []

    def log_run(tags: dict) -> str:
        run = client.create_run(exp_id, tags={**tags, "kind": "robustness"})
        client.log_metric(run.info.run_id, "accuracy", 0.5)
        client.set_terminated(run.info.run_id)
        logged.append(run.info.run_id)
        return run.info.run_id

    for _ in range(2):  # duplicates, as a rerun before this policy left them
        log_run({RESULT_KEY_TAG: sha256_of(key), RESULTS_DIGEST_TAG: sha256_of({"accuracy": 0.5})})
    first = log_once(client, exp_id, key, sha256_of({"accuracy": 0.5}), log_run)
    assert first == logged[-1] and [r.info.run_id for r in runs_of(client, exp_id, key)] == [first]
    assert log_once(client, exp_id, key, sha256_of({"accuracy": 0.5}), log_run) == first
    assert len(logged) == 3  # the reuse logged nothing
    other = dict(key, noise="0.2")
    assert log_once(client, exp_id, other, sha256_of({"accuracy": 0.5}), log_run) != first  # another key
    assert len(runs_of(client, exp_id, key)) == len(runs_of(client, exp_id, other)) == 1
