"""The run loggers: MLflow runs for the workflow's results, one per method and task, one per
mapping, one per method and task of the robustness sweeps.

Each run says where it came from: the Snakemake rule and the project file as its source (with
the git commit), the dataset as an MLflow dataset input (name, digest, source: the UI's Dataset
column), and the provenance record (musicfusion.tracking.provenance) as tags.

A logger only describes its results (:class:`_ResultRun`: what names each one, what it holds,
what its run logs); :func:`_log_results` logs them all in one turn at the store
(musicfusion.tracking.store), each once (musicfusion.tracking.log_once). The loggers know no
other part of musicfusion: what only the evaluation or the tuning knows (score names, a task's
trials, search times) is handed to them. Result files are never touched here: a rerun logs what
is missing.
"""

from __future__ import annotations

import contextlib
import functools
import json
import numbers
import warnings
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from mlflow.utils.mlflow_tags import (
    MLFLOW_GIT_COMMIT,
    MLFLOW_PROJECT_ENTRY_POINT,
    MLFLOW_SOURCE_NAME,
    MLFLOW_SOURCE_TYPE,
)

from musicfusion.tracking import bulk, store
from musicfusion.tracking.log_once import log_once, sha256_of
from musicfusion.tracking.provenance import params_sha256

# The UI shows a PROJECT source as "<file without extension>:<entry point>", here "Snakefile:<rule>".
SOURCE_TYPE = "PROJECT"
PROJECT_FILE = "Snakefile"
DATASET_CONTEXT = "training"  # the context tag of the dataset input: every split comes from it
# MLflow caps a dataset digest at 36 characters; the full SHA-256 is the dataset_sha256 tag.
DATASET_DIGEST_CHARS = 16
MODEL_PACKAGES = ("scikit-learn", "numpy", "jax", "optax", "musicfusion")
# What the store says when two jobs create the same dataset at once: SQLite, PostgreSQL (through a server).
DATASET_CREATED_TWICE = ("UNIQUE constraint failed: datasets", 'unique constraint "dataset_pk"')
# Every run's tag ``kind`` says which result it holds, so one filter (the UI's search box,
# MlflowClient.search_runs) picks one kind out of the one experiment: ``tags.kind = 'fusion'``
# (a run per method and task, single-modality and control methods too: tag ``method_kind``),
# ``'trial'`` (the tuning trials, child runs of those), ``'transfer'``, ``'robustness'``, ``'paper'``
# (a reproduced paper's learners).
KIND_TAG = "kind"
RUN_KINDS = ("fusion", "trial", "transfer", "robustness", "paper", "style_transfer", "transcription", "assist")


def kind_filter(kind: str) -> str:
    """The MLflow search filter of one kind of run, e.g. ``tags.kind = 'fusion'``."""
    if kind not in RUN_KINDS:
        raise ValueError(f"unknown run kind {kind!r}; one of {RUN_KINDS}")
    return f"tags.{KIND_TAG} = '{kind}'"


@dataclass(frozen=True)
class RunOrigin:
    """Where a run came from: the rule and script that logged it, the code's commit, the data."""

    rule: str
    script: str  # the project file the rule ran, e.g. workflow/scripts/track.py
    git_commit: str
    dataset: str
    dataset_sha256: str
    manifest: str  # the dataset's manifest, its MLflow source

    @classmethod
    def of(cls, rule: str, script: str, record: dict, manifest: str) -> RunOrigin:
        """The origin of a rule's runs from its provenance record (musicfusion.tracking.provenance)."""
        return cls(rule, script, record["git_commit"], record["dataset"], record["dataset_sha256"], manifest)

    def tags(self) -> dict:
        return {MLFLOW_SOURCE_TYPE: SOURCE_TYPE, MLFLOW_SOURCE_NAME: PROJECT_FILE,
                MLFLOW_PROJECT_ENTRY_POINT: self.rule, MLFLOW_GIT_COMMIT: self.git_commit,
                "rule": self.rule, "script": self.script}

    def dataset_input(self):
        """The dataset as an MLflow dataset (metadata only: nothing is loaded or copied)."""
        from mlflow.data.dataset_source_registry import resolve_dataset_source
        from mlflow.data.meta_dataset import MetaDataset

        with warnings.catch_warnings():  # a local path matches two equivalent source types
            warnings.simplefilter("ignore", UserWarning)
            source = resolve_dataset_source(str(Path(self.manifest).resolve()))
        return MetaDataset(source, name=self.dataset, digest=self.dataset_sha256[:DATASET_DIGEST_CHARS])


def _trusted_types(model) -> list[str]:
    """The model's types that skops does not trust by default, if they are ours or scikit-learn's."""
    import skops.io

    untrusted = skops.io.get_untrusted_types(data=skops.io.dumps(model))
    foreign = [t for t in untrusted if not t.startswith(("musicfusion.", "sklearn."))]
    if foreign:
        raise TypeError(f"model holds types neither musicfusion's nor scikit-learn's: {foreign}")
    return untrusted


def _model_requirements() -> list[str]:
    from importlib.metadata import version

    return [f"{name}=={version(name)}" for name in MODEL_PACKAGES]


def flatten(prefix: str, obj) -> dict:
    """Nested params as MLflow's flat key/value pairs: {'a': {'b': 1}} -> {'a.b': '1'}."""
    if isinstance(obj, dict):
        out = {}
        for key, value in obj.items():
            out.update(flatten(f"{prefix}.{key}" if prefix else str(key), value))
        return out
    return {prefix: json.dumps(obj) if isinstance(obj, (list, tuple)) else str(obj)}


def metric_key(name: str) -> str:
    """An MLflow-safe metric name: MLflow refuses '@', so recall@5 is logged as recall_at_5."""
    return name.replace("@", "_at_")


def numeric_metrics(row: dict) -> dict[str, float]:
    """The numbers of a result row as MLflow metrics (labels and flags left out)."""
    return {metric_key(k): float(v) for k, v in row.items()
            if isinstance(v, numbers.Real) and not isinstance(v, bool)}


@contextlib.contextmanager
def _start(experiment_id: str, run_name: str, origin: RunOrigin, tags: dict):
    """A run with its origin and dataset; MLflow marks it FAILED if the block raises."""
    import mlflow

    with mlflow.start_run(experiment_id=experiment_id, run_name=run_name) as run:
        mlflow.set_tags({**tags, **origin.tags()})
        _log_dataset(origin)
        yield run


def _log_dataset(origin: RunOrigin) -> None:
    """Link the run to its dataset. Two jobs logging a dataset the store has not seen yet can
    both try to create it: the loser finds it created and links to it on a second try."""
    import mlflow
    from mlflow.exceptions import MlflowException

    try:
        mlflow.log_input(origin.dataset_input(), context=DATASET_CONTEXT)
    except MlflowException as err:
        if not any(message in str(err) for message in DATASET_CREATED_TWICE):
            raise
        mlflow.log_input(origin.dataset_input(), context=DATASET_CONTEXT)


def log_trials(client, experiment_id: str, parent_id: str, run_name: str, trials, tags: dict) -> int:
    """One child run of ``parent_id`` per tuning trial (a row of the method's trials.csv): its
    settings as params, its validation score and time as metrics; returns how many.

    All the trials go to the store at once (musicfusion.tracking.bulk.log_runs): one transaction
    on a SQL store, three requests a trial on a tracking server."""
    from mlflow.entities import Metric
    from mlflow.utils.mlflow_tags import MLFLOW_PARENT_RUN_ID

    records = []
    for row in trials.to_dict("records"):
        settings = flatten("", json.loads(row["settings"]))
        params = {**settings, "fold": row["fold"], "repetition": row["repetition"], "trial": row["trial"]}
        flags = {"chosen": str(row["chosen"]).lower(), "untuned": str(row["untuned"]).lower(),
                 "repeat_of": str(row["repeat_of"])}
        records.append(bulk.RunRecord(
            name=f"{run_name}/fold-{row['fold']}/trial-{row['trial']}",
            tags={**tags, MLFLOW_PARENT_RUN_ID: parent_id, KIND_TAG: "trial", **flags},
            params={k: str(v) for k, v in params.items()},
            metrics=(Metric("validation_score", float(row["validation_score"]), 0, 0),
                     Metric("seconds", float(row["seconds"]), 0, 0))))
    bulk.log_runs(client, experiment_id, records)
    return len(trials)


@dataclass(frozen=True)
class _ResultRun:
    """One result as a logger describes it: what names it, what it holds, and what its run logs.

    ``key`` and ``content`` are what :func:`log_once` compares (the key fields and the content
    hashed into ``results_sha256``); the rest is logged only when the run is logged afresh.
    """

    label: str  # the result's entry in the {label: run_id} a logger returns
    key: dict
    content: object
    run_name: str
    tags: dict  # the run's tags, besides its origin's and log_once's
    params: dict[str, str]
    metrics: dict[str, float]
    artifacts: Sequence[str | Path] = ()
    # What else the run holds (child runs, a model): called inside the run, after the rest,
    # with (client, experiment_id, run_id).
    log_rest: Callable[[object, str, str], None] | None = None


def _log_results(uri: str, experiment: str, origin: RunOrigin, results: Iterable[_ResultRun]) -> dict[str, str]:
    """Log each result's run once (:func:`log_once`), all in one turn at the store; returns {label: run_id}.

    ``results`` is consumed within the turn, once the experiment is found: the loggers pass a
    generator, so that a store that is down or was never created is what a job reports, before
    any result is read.
    """
    import mlflow

    with store.store_access(uri):
        experiment_id = store.experiment_id(uri, experiment)
        client = mlflow.MlflowClient(tracking_uri=uri)
        return {result.label: log_once(client, experiment_id, result.key, sha256_of(result.content),
                                       functools.partial(_log_run, client, experiment_id, origin, result))
                for result in results}


def _log_run(client, experiment_id: str, origin: RunOrigin, result: _ResultRun, result_tags: dict) -> str:
    """Log ``result``'s run afresh, tagged with ``result_tags`` (log_once's); returns its id."""
    import mlflow

    with _start(experiment_id, result.run_name, origin, {**result.tags, **result_tags}) as run:
        mlflow.log_params(result.params)
        mlflow.log_metrics(result.metrics)
        for artifact in result.artifacts:
            mlflow.log_artifact(str(artifact))
        if result.log_rest is not None:
            result.log_rest(client, experiment_id, run.info.run_id)
        return run.info.run_id


# The two models of a method's run: fold 0's (evaluation) and the final one (applications).
FOLD_MODEL_NAME = "model"
FINAL_MODEL_NAME = "final_model"
MODEL_TAGS = {"model": "fold 0's tuned model, fitted on that fold's training and validation clips",
              "final_model": "the configuration chosen on the dataset's own validation split, fitted on every "
                             "labelled clip (what applications use)"}


def _log_trials_and_model(client, experiment_id: str, run_id: str, *, run_name: str, trials, model,
                          trial_tags: dict, final_model=None) -> None:
    """A fusion run's child runs (its tuning trials, if any) and its fitted models."""
    import mlflow

    if trials is not None:
        log_trials(client, experiment_id, run_id, run_name, trials, trial_tags)
    # Explicit requirements: inferring them costs ~7 s per call.
    # skops (MLflow's safe default format) loads only types it is told to trust: ours.
    for name, fitted in ((FOLD_MODEL_NAME, model), (FINAL_MODEL_NAME, final_model)):
        if fitted is not None:
            mlflow.sklearn.log_model(fitted, name=name, pip_requirements=_model_requirements(),
                                     skops_trusted_types=_trusted_types(fitted))


def log_method_runs(*, uri: str, experiment: str, method: str, method_params: dict, rows: dict[str, dict],
                    artifacts: dict[str, list], models: dict, params: dict, tags: dict,
                    origin: RunOrigin, searches: dict[str, dict] | None = None, trials_by_task: dict | None = None,
                    search_seconds: dict[str, float] | None = None, final_models: dict | None = None) -> dict:
    """One run per task of one fusion method, each with a child run per tuning trial; returns
    {task: run_id}. Each run holds fold 0's model (``model``) and, given ``final_models`` (task ->
    estimator), the final one (``final_model``): :data:`MODEL_TAGS` says which is which.

    ``rows`` maps each task to its row of results/summary.csv (musicfusion.evaluation.evaluate.summary_row):
    every number of it, means and confidence bounds, is logged as a metric. ``models`` maps each
    task to its fitted estimator, whose ``learned_params()`` are logged as ``learned.*`` params.
    ``searches`` maps each task to its search record (musicfusion.evaluation.evaluate.search_record): the
    chosen configuration of every fold and the search time go to the parent. ``trials_by_task``
    maps each task to the rows of the method's trials.csv that searched for it (a multi-task
    search serves each of its tasks): they become its child runs. ``search_seconds`` maps each
    task to the seconds its search took, logged as the parent's ``search_seconds``. The caller
    computes both from trials.csv: tracking knows no tuning.

    Each task's run is logged once (:func:`log_once`), keyed by kind=fusion, the method, the task,
    the dataset and the params and data digests (the ``params_sha256`` tag, else the digest of the
    params logged); its content is the row, the search record, the trials without their times
    and what the model learned.
    """
    def results():
        params_digest = tags.get("params_sha256") or params_sha256({"method": method_params, **params})
        for task, row in sorted(rows.items()):
            search = (searches or {}).get(task)
            trials = None if trials_by_task is None else trials_by_task[task]
            learned = flatten("learned", models[task].learned_params())
            chosen, search_metrics = {}, {}
            if search:
                chosen = flatten("chosen", {f"fold-{fold}": settings
                                            for fold, settings in enumerate(search["chosen_by_fold"])})
                search_metrics = {"n_trials": search["n_trials"], "folds_kept_untuned": search["chosen_untuned_folds"]}
            if search_seconds is not None:
                # Time is logged here, not kept in metrics.json (which reruns reproduce bit for bit).
                search_metrics["search_seconds"] = search_seconds[task]
            yield _ResultRun(
                label=task,
                key={"kind": "fusion", "method": method, "task": task, "dataset": origin.dataset,
                     "params_sha256": params_digest, "dataset_sha256": origin.dataset_sha256},
                content={"row": row, "search": search, "learned": learned, "trials": None if trials is None
                         else trials.drop(columns=["seconds", "search_seconds"]).to_dict("records"),
                         **({"final_learned": flatten("final", final_models[task].learned_params())}
                            if final_models else {})},
                run_name=f"{method}/{task}", tags={**tags, KIND_TAG: "fusion", "method": method, "task": task,
                                                   **{f"models.{k}": v for k, v in MODEL_TAGS.items()
                                                      if final_models or k == FOLD_MODEL_NAME}},
                params={**flatten("", {"method": method_params, **params}), **chosen, **learned},
                metrics={**numeric_metrics(row), **search_metrics}, artifacts=artifacts.get(task, []),
                log_rest=functools.partial(_log_trials_and_model, run_name=f"{method}/{task}", trials=trials,
                                           model=models[task], trial_tags={"method": method, "task": task},
                                           final_model=(final_models or {}).get(task)))

    return _log_results(uri, experiment, origin, results())


def log_transfer_runs(*, uri: str, experiment: str, pair_metrics: dict, tags: dict, params: dict,
                      artifacts: list[str | Path], origin: RunOrigin) -> dict:
    """One run per mapping method of one transfer pair; returns {method: run_id}.

    ``pair_metrics`` is the pair's metrics.json (musicfusion.crossmodal.experiment.run_pair). Runs are
    named ``transfer/<source>_to_<target>/<method>`` and tagged ``kind=transfer`` besides ``tags``.
    Each is logged once (:func:`log_once`), keyed by kind=transfer, the source, the target, the
    mapping method, the dataset and the params and data digests; its content is the pair's
    metrics.json without the other methods' entries.
    """
    def results():
        source, target = pair_metrics["source"], pair_metrics["target"]
        sizes = {f"n_{split}": pair_metrics[f"n_{split}"] for split in ("train", "validation", "test")}
        shared = {k: v for k, v in pair_metrics.items() if k != "methods"}
        params_digest = tags.get("params_sha256") or params_sha256(params)
        for method in pair_metrics["method_order"]:
            entry = pair_metrics["methods"][method]
            best = method == pair_metrics["best_on_validation"]
            yield _ResultRun(
                label=method,
                key={"kind": "transfer", "source": source, "target": target, "method": method,
                     "dataset": origin.dataset, "params_sha256": params_digest,
                     "dataset_sha256": origin.dataset_sha256},
                content={**shared, "method": entry},
                run_name=f"transfer/{source}_to_{target}/{method}",
                tags={**tags, KIND_TAG: "transfer", "source": source, "target": target, "method": method,
                      "method_type": entry["type"], "best_on_validation": str(best).lower()},
                params=flatten("", {"method": entry["params"], "pca_components": pair_metrics["pca_components"],
                                    "seed": pair_metrics["seed"], "recall_at": pair_metrics["recall_at"], **params}),
                metrics=numeric_metrics({**entry["test"], "validation_mrr": entry["validation_mrr"], **sizes,
                                         "best_on_validation": float(best)}),
                artifacts=artifacts)

    return _log_results(uri, experiment, origin, results())


def log_paper_runs(*, uri: str, experiment: str, paper: str, comparison: Sequence[dict], settings: dict,
                   params: dict, tags: dict, artifacts: list[str | Path], origin: RunOrigin) -> dict:
    """One run per learner of a reproduced paper; returns {learner: run_id}.

    ``comparison`` holds the rows of results/<paper>/paper_comparison.csv
    (musicfusion.evaluation.paper.comparison_table): every number of a row is logged as a metric,
    its verdict as a tag. ``settings`` maps each learner to its settings. Runs are named
    ``paper/<paper>/<learner>`` and tagged ``kind=paper``; each is logged once, keyed by the
    paper, the learner and the params and data digests, its content the row.
    """
    def results():
        params_digest = tags.get("params_sha256") or params_sha256(params)
        for row in comparison:
            learner = row["learner"]
            yield _ResultRun(
                label=learner,
                key={"kind": "paper", "paper": paper, "learner": learner, "dataset": origin.dataset,
                     "params_sha256": params_digest, "dataset_sha256": origin.dataset_sha256},
                content=row, run_name=f"paper/{paper}/{learner}",
                tags={**tags, KIND_TAG: "paper", "paper": paper, "learner": learner, "verdict": row["verdict"]},
                params=flatten("", {"learner": settings[learner], **params}),
                metrics=numeric_metrics(row), artifacts=artifacts)

    return _log_results(uri, experiment, origin, results())


def style_transfer_metrics(rows: Sequence[dict]) -> dict[str, float]:
    """One operator set's pooled rows of style_transfer.csv as MLflow metrics:
    ``<judge>.<task>.<column>`` for every number of a row."""
    metrics = {}
    for row in rows:
        for name, value in numeric_metrics(row).items():
            if value == value:  # a NaN (no interval from one clip, no success rate for a control) is left out
                metrics[metric_key(f"{row['judge']}.{row['task']}.{name}")] = value
    return metrics


def log_style_transfer_runs(*, uri: str, experiment: str, table: Sequence[dict], operator_sets: dict, params: dict,
                            tags: dict, artifacts: list[str | Path], origin: RunOrigin) -> dict:
    """One run per operator set of style transfer (and per control), named
    ``style_transfer/<operator set>`` and tagged ``kind=style_transfer``; returns {set: run_id}.
    ``table`` holds the pooled rows of results/<dataset>/style_transfer.csv
    (musicfusion.evaluation.style_transfer.summarize); ``operator_sets`` maps each set to its operators."""
    def results():
        params_digest = tags.get("params_sha256") or params_sha256(params)
        by_set: dict[str, list[dict]] = {}
        for row in table:
            by_set.setdefault(row["operator_set"], []).append(row)
        for name, rows in by_set.items():
            yield _ResultRun(
                label=name,
                key={"kind": "style_transfer", "operator_set": name, "dataset": origin.dataset,
                     "params_sha256": params_digest, "dataset_sha256": origin.dataset_sha256},
                content=rows, run_name=f"style_transfer/{name}",
                tags={**tags, KIND_TAG: "style_transfer", "operator_set": name, "transfer_kind": rows[0]["kind"]},
                params=flatten("", {"operators": operator_sets.get(name, [name]), **params}),
                metrics=style_transfer_metrics(rows), artifacts=artifacts)

    return _log_results(uri, experiment, origin, results())


def _log_table_run(kind: str, *, uri: str, experiment: str, table: Sequence[dict], metrics: dict[str, float],
                   params: dict, tags: dict, artifacts: list[str | Path], origin: RunOrigin) -> dict:
    """One run of a step that writes one table, named and tagged ``kind``, keyed by the dataset and
    the params; returns {kind: run_id}."""
    def results():
        params_digest = tags.get("params_sha256") or params_sha256(params)
        yield _ResultRun(
            label=kind,
            key={"kind": kind, "dataset": origin.dataset, "params_sha256": params_digest,
                 "dataset_sha256": origin.dataset_sha256},
            content=list(table), run_name=kind, tags={**tags, KIND_TAG: kind},
            params=flatten("", params), metrics=metrics, artifacts=artifacts)

    return _log_results(uri, experiment, origin, results())


def _finite(metrics: Iterable[tuple[str, object]]) -> dict[str, float]:
    """{metric key: value} of the pairs whose value is a number (NaN: a one-clip group's interval,
    a row without a chance figure, is left out)."""
    return {metric_key(name): float(value) for name, value in metrics if float(value) == float(value)}


def log_transcription_run(*, table: Sequence[dict], scores: Sequence[str], **run) -> dict:
    """One run of the transcription step (results/<dataset>/transcription.csv), named
    ``transcription`` and tagged ``kind=transcription``: ``<group_by>.<group>.<score>`` for every
    row and score (and its interval); returns {"transcription": run_id}. ``run``: uri, experiment,
    params, tags, artifacts and origin, as :func:`_log_table_run` takes them."""
    metrics = _finite((f"{row['group_by']}.{row['group']}.{name}{suffix}", row[f"{name}{suffix}"])
                      for row in table for name in scores for suffix in ("", "_ci_low", "_ci_high"))
    return _log_table_run("transcription", table=table, metrics=metrics, **run)


def log_assist_run(*, table: Sequence[dict], **run) -> dict:
    """One run of the evaluation of ``musicfusion assist`` (results/<dataset>/assist.csv), named ``assist``
    and tagged ``kind=assist``: ``<part>.<task>.<query>.<metric>`` (value, interval and chance) for every
    row; returns {"assist": run_id}. ``run`` as for :func:`log_transcription_run`."""
    metrics = _finite((f"{row['part']}.{row['task']}.{row['query']}.{row['metric']}{suffix}", row[column])
                      for row in table for suffix, column in (("", "value"), ("_ci_low", "ci_low"),
                                                              ("_ci_high", "ci_high"), ("_chance", "chance")))
    return _log_table_run("assist", table=table, metrics=metrics, **run)


def robustness_metrics(summary, relative, scores: Sequence[str]) -> dict[str, float]:
    """One method and task's sweeps as MLflow metrics: ``<perturbation>.<modality>.<level>.<score>``
    (mean and interval of every score in ``scores``, the sweeps' score names) and
    ``relative.<perturbation>.<modality>``."""
    metrics = {}
    for row in summary.to_dict("records"):
        prefix = f"{row['perturbation']}.{row['modality']}.{row['level']:g}"
        for name in scores:
            for suffix in ("", "_ci_low", "_ci_high"):
                value = float(row[f"{name}{suffix}"])
                if value == value:  # NaN bounds (a single fold) are left out
                    metrics[metric_key(f"{prefix}.{name}{suffix}")] = value
    for row in relative.to_dict("records"):
        value = float(row["relative_robustness"])
        if value == value:
            metrics[f"relative.{row['perturbation']}.{row['modality']}"] = value
    return metrics


def log_robustness_runs(*, uri: str, experiment: str, summary, relative, scores: Sequence[str], tags: dict,
                        params: dict, artifacts: list[str | Path], origin: RunOrigin) -> dict:
    """One run per method and task of the robustness sweeps (results/<dataset>/robustness.csv),
    named ``robustness/<method>/<task>`` and tagged ``kind=robustness``; returns
    {"<method>/<task>": run_id}. ``scores`` names the scores of the sweeps' tables (see
    :func:`robustness_metrics`). Each is logged once (:func:`log_once`), keyed by kind, method,
    task, dataset and the params and data digests; its content is its rows of both tables."""
    def results():
        params_digest = tags.get("params_sha256") or params_sha256(params)
        for (method, task), rows in summary.groupby(["method", "task"], sort=False):
            curves = relative[(relative["method"] == method) & (relative["task"] == task)]
            metrics = robustness_metrics(rows, curves, scores)
            yield _ResultRun(
                label=f"{method}/{task}",
                key={"kind": "robustness", "method": method, "task": task, "dataset": origin.dataset,
                     "params_sha256": params_digest, "dataset_sha256": origin.dataset_sha256},
                content=metrics, run_name=f"robustness/{method}/{task}",
                tags={**tags, KIND_TAG: "robustness", "method": method, "task": task},
                params=flatten("", params), metrics=metrics, artifacts=artifacts)

    return _log_results(uri, experiment, origin, results())
