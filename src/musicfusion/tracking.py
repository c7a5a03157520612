"""Tracking: one MLflow run per method and task, with params, metrics, artifacts and provenance."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from pathlib import Path

from musicfusion.io import load_pickle, write_json

PROJECT_ROOT = Path.cwd()


def tracking_uri(configured: str | None, root: str | Path | None = None) -> str:
    """MLFLOW_TRACKING_URI wins, then params.yaml's tracking.uri, then a local SQLite store."""
    if os.environ.get("MLFLOW_TRACKING_URI"):
        return os.environ["MLFLOW_TRACKING_URI"]
    if configured:
        return configured
    return f"sqlite:///{(Path(root or Path.cwd()) / 'mlflow.db').resolve()}"


def artifact_root(root: str | Path | None = None) -> str:
    return (Path(root or Path.cwd()) / "mlruns").resolve().as_uri()


def init_store(uri: str, experiment: str, root: str | Path | None = None) -> str:
    """Create the store and the experiment once, before parallel jobs race to migrate the schema."""
    import mlflow

    client = mlflow.MlflowClient(tracking_uri=uri)
    found = client.get_experiment_by_name(experiment)
    if found is not None:
        return found.experiment_id
    location = artifact_root(root) if uri.startswith("sqlite:") else None
    return client.create_experiment(experiment, artifact_location=location)


def _experiment_id(uri: str, experiment: str) -> str:
    """Point MLflow at ``uri`` and find the experiment that init_store created before the jobs."""
    import mlflow

    mlflow.set_tracking_uri(uri)
    exp = mlflow.get_experiment_by_name(experiment)
    if exp is None:
        raise RuntimeError(f"MLflow experiment {experiment!r} not found at {uri}: the store is created "
                           "by the workflow's onstart hook (musicfusion.tracking.init_store)")
    return exp.experiment_id


def git_commit(root: str | Path | None = None) -> str:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root or Path.cwd(), capture_output=True,
                             text=True, check=True)
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=root or Path.cwd(),
                               capture_output=True, text=True, check=True).stdout.strip()
        return out.stdout.strip() + ("-dirty" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def dataset_fingerprint(manifest_path: str | Path) -> dict:
    """SHA-256 over the manifest and every media file it names, in manifest order."""
    from musicfusion.manifest import MODALITIES, path_column, read_manifest

    manifest_path = Path(manifest_path)
    digest = hashlib.sha256(manifest_path.read_bytes())
    frame = read_manifest(manifest_path)
    n_files = 0
    for row in frame.itertuples(index=False):
        for modality in MODALITIES:
            path = manifest_path.parent / getattr(row, path_column(modality))
            if path.is_file():
                with open(path, "rb") as fh:
                    digest.update(hashlib.file_digest(fh, "sha256").digest())
                n_files += 1
    return {"sha256": digest.hexdigest(), "n_clips": len(frame), "n_files": n_files}


def learned_params(model) -> dict:
    """What a method chose during fitting that a reader wants beside its metrics."""
    learned = {}
    for attr in ("weights_", "val_score_", "n_folds_"):
        if hasattr(model, attr):
            value = getattr(model, attr)
            learned[attr.rstrip("_")] = {k: round(float(v), 6) for k, v in value.items()} \
                if isinstance(value, dict) else value
    return learned


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

    return [f"{name}=={version(name)}" for name in ("scikit-learn", "numpy", "musicfusion")]


def flatten(prefix: str, obj) -> dict:
    """Nested params as MLflow's flat key/value pairs: {'a': {'b': 1}} -> {'a.b': '1'}."""
    if isinstance(obj, dict):
        out = {}
        for key, value in obj.items():
            out.update(flatten(f"{prefix}.{key}" if prefix else str(key), value))
        return out
    return {prefix: json.dumps(obj) if isinstance(obj, (list, tuple)) else str(obj)}


def log_method_runs(*, uri: str, experiment: str, method: str, method_params: dict, metrics: dict,
                    artifacts: dict, model_path: str | Path, params: dict, tags: dict,
                    out_path: str | Path, extra_metrics: dict | None = None) -> dict:
    """One run per task; returns and writes {task: run_id}."""
    import mlflow

    experiment_id = _experiment_id(uri, experiment)
    models = load_pickle(model_path)
    run_ids = {}
    for task, task_metrics in sorted(metrics.items()):
        with mlflow.start_run(experiment_id=experiment_id, run_name=f"{method}/{task}") as run:
            mlflow.set_tags({**tags, "method": method, "task": task})
            mlflow.log_params(flatten("", {"method": method_params, **params}))
            mlflow.log_metrics({k: float(v) for k, v in task_metrics.items()})
            for key, value in (extra_metrics or {}).get(task, {}).items():
                mlflow.log_metric(key, float(value))
            for artifact in artifacts.get(task, []):
                mlflow.log_artifact(str(artifact))
            mlflow.log_params(flatten("learned", learned_params(models[task])))
            # Explicit requirements: inferring them costs ~7 s per call.
            # skops (MLflow's safe default format) loads only types it is told to trust: ours.
            mlflow.sklearn.log_model(models[task], name="model", pip_requirements=_model_requirements(),
                                     skops_trusted_types=_trusted_types(models[task]))
            run_ids[task] = run.info.run_id
    write_json(out_path, {"experiment": experiment, "tracking_uri": uri, "runs": run_ids})
    return run_ids


PROVENANCE_PACKAGES = ("musicfusion", "snakemake", "dvc", "mlflow", "librosa", "opencv-python-headless",
                       "scikit-learn", "numpy", "scipy", "pandas", "music21")


def params_sha256(config: dict) -> str:
    """Hash of the parameters as parsed (key order and YAML formatting do not matter)."""
    return hashlib.sha256(json.dumps(config, sort_keys=True, default=str).encode()).hexdigest()


def package_versions() -> dict:
    from importlib.metadata import PackageNotFoundError, version

    found = {}
    for name in PROVENANCE_PACKAGES:
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            found[name] = "not installed"
    try:
        out = subprocess.run(["fluidsynth", "--version"], capture_output=True, text=True, check=False).stdout
        found["fluidsynth"] = out.split("\n")[0].split()[-1] if out else "not installed"
    except OSError:
        found["fluidsynth"] = "not installed"
    return found


def provenance(config: dict, fingerprint: dict) -> dict:
    """What produced a result: code, data, parameters and software."""
    return {"git_commit": git_commit(), "dataset": config["dataset"], "dataset_sha256": fingerprint["sha256"],
            "params_sha256": params_sha256(config), "packages": package_versions()}


def provenance_tags(record: dict) -> dict:
    """The provenance as flat MLflow tags."""
    tags = {k: str(v) for k, v in record.items() if k != "packages"}
    tags.update({f"version.{name}": v for name, v in record["packages"].items()})
    return tags


def metric_key(name: str) -> str:
    """An MLflow-safe metric name: MLflow refuses '@', so recall@5 is logged as recall_at_5."""
    return name.replace("@", "_at_")


def log_transfer_runs(*, uri: str, experiment: str, pair_metrics: dict, tags: dict, params: dict,
                      artifacts: list[str | Path], out_path: str | Path) -> dict:
    """One run per mapping method of one transfer pair; returns and writes {method: run_id}.

    ``pair_metrics`` is the pair's metrics.json (musicfusion.transfer_eval.run_pair). Runs are
    named ``transfer/<source>_to_<target>/<method>`` and tagged ``kind=transfer`` besides ``tags``.
    """
    import mlflow

    experiment_id = _experiment_id(uri, experiment)
    source, target = pair_metrics["source"], pair_metrics["target"]
    sizes = {f"n_{split}": pair_metrics[f"n_{split}"] for split in ("train", "validation", "test")}
    run_ids = {}
    for method in pair_metrics.get("method_order") or pair_metrics["methods"]:
        entry = pair_metrics["methods"][method]
        best = method == pair_metrics["best_on_validation"]
        with mlflow.start_run(experiment_id=experiment_id,
                              run_name=f"transfer/{source}_to_{target}/{method}") as run:
            mlflow.set_tags({**tags, "kind": "transfer", "source": source, "target": target,
                             "method": method, "method_type": entry["type"],
                             "best_on_validation": str(best).lower()})
            mlflow.log_params(flatten("", {"method": entry["params"], "n_components": pair_metrics["n_components"],
                                           "seed": pair_metrics["seed"], "recall_at": pair_metrics["recall_at"],
                                           **params}))
            numbers = {**entry["test"], "validation_mrr": entry["validation_mrr"], **sizes,
                       "best_on_validation": float(best)}
            mlflow.log_metrics({metric_key(k): float(v) for k, v in numbers.items()})
            for artifact in artifacts:
                mlflow.log_artifact(str(artifact))
            run_ids[method] = run.info.run_id
    write_json(out_path, {"experiment": experiment, "tracking_uri": uri, "runs": run_ids})
    return run_ids
