"""Provenance: what produced a result (code, data, parameters, software), recorded beside it."""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path

from musicfusion import MODALITIES
from musicfusion.data.manifest import path_column
from musicfusion.plumbing.files import read_table

PROVENANCE_PACKAGES = ("musicfusion", "snakemake", "dvc", "mlflow", "librosa", "opencv-python-headless",
                       "scikit-learn", "numpy", "scipy", "pandas", "music21")


def git_commit(root: str | Path | None = None) -> str:
    """HEAD's commit, with ``-dirty`` when tracked files have uncommitted changes."""
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root or Path.cwd(), capture_output=True,
                             text=True, check=True)
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=root or Path.cwd(),
                               capture_output=True, text=True, check=True).stdout.strip()
        return out.stdout.strip() + ("-dirty" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def dataset_fingerprint(manifest_path: str | Path) -> dict:
    """SHA-256 over the manifest and every media file it names, in manifest order.

    Any manifest shape counts (the dataset's own checks are preprocessing's): every path column
    present is read, and an empty path (an absent modality) names no file.
    """
    manifest_path = Path(manifest_path)
    digest = hashlib.sha256(manifest_path.read_bytes())
    frame = read_table(manifest_path)
    columns = [path_column(m) for m in MODALITIES if path_column(m) in frame.columns]
    n_files = 0
    for row in frame[columns].itertuples(index=False):
        for relative in row:
            path = manifest_path.parent / relative
            if relative and path.is_file():
                with open(path, "rb") as fh:
                    digest.update(hashlib.file_digest(fh, "sha256").digest())
                n_files += 1
    return {"sha256": digest.hexdigest(), "n_clips": len(frame), "n_files": n_files}


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
