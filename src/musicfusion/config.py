"""Loading and resolving ``params.yaml``: the workflow's one source of truth."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path

import yaml

SCHEMA_PATH = Path(__file__).resolve().parents[2] / "workflow" / "schemas" / "params.schema.yaml"


class ConfigError(ValueError):
    """A setting in params.yaml is missing or inconsistent."""


def load_params(path: str | Path = "params.yaml", overrides: dict | None = None) -> dict:
    """Read params.yaml, apply top-level overrides, and validate against the schema."""
    with open(path, encoding="utf-8") as fh:
        params = yaml.safe_load(fh)
    params = copy.deepcopy(params)
    params.update(overrides or {})
    validate_params(params)
    return params


def validate_params(params: dict, schema_path: Path = SCHEMA_PATH) -> None:
    import jsonschema

    with open(schema_path, encoding="utf-8") as fh:
        schema = yaml.safe_load(fh)
    try:
        jsonschema.validate(params, schema)
    except jsonschema.ValidationError as err:
        where = "/".join(str(p) for p in err.absolute_path) or "(top level)"
        raise ConfigError(f"params.yaml: {where}: {err.message}") from None
    resolve_dataset(params)


@dataclass(frozen=True)
class DatasetSpec:
    """Where a dataset lives and whether the workflow builds it."""

    name: str
    preset: dict | None  # collect.presets entry when built from the corpus
    manifest: Path
    clip_seconds: float

    @property
    def is_preset(self) -> bool:
        return self.preset is not None


def resolve_dataset(params: dict, name: str | None = None) -> DatasetSpec:
    name = name or str(params["dataset"])
    presets = params["collect"]["presets"]
    external = params.get("datasets") or {}
    if name in presets and name in external:
        raise ConfigError(f"dataset {name!r} is both a preset and a user dataset; rename one")
    if name in presets:
        preset = presets[name]
        return DatasetSpec(name, preset, Path("data/raw") / name / "manifest.csv",
                           float(preset["clip_seconds"]))
    if name in external:
        entry = external[name]
        return DatasetSpec(name, None, Path(entry["manifest"]), float(entry["clip_seconds"]))
    known = sorted(presets) + sorted(external)
    raise ConfigError(f"dataset {name!r} is neither a preset nor a user dataset; known: {known}")


# Settings of the collect section that cannot change a preset's data.
NOT_SHAPING_COLLECT = ("presets", "max_workers")


def collect_settings(params: dict, preset: str) -> dict:
    """What building one preset reads: the ``collect`` section with that preset under ``preset``.

    The other presets and the worker count are left out, so changing them rebuilds nothing.
    """
    section = params["collect"]
    if preset not in section["presets"]:
        raise ConfigError(f"{preset!r} is not a preset; presets: {sorted(section['presets'])}")
    return {**{k: v for k, v in section.items() if k not in NOT_SHAPING_COLLECT},
            "preset": section["presets"][preset]}
