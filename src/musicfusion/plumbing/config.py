"""Loading and resolving ``params.yaml``: the workflow's one source of truth."""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import yaml

from musicfusion import MODALITIES, modality_of
from musicfusion.plumbing.paths import PROJECT_ROOT, SCHEMA, Layout

SCHEMA_PATH = PROJECT_ROOT / SCHEMA


# A user dataset that does not list its modalities has these (a score is used when it is listed:
# datasets registered before scores were a modality keep meaning what they meant).
DEFAULT_USER_MODALITIES = ("audio", "video", "text")
# ``score_from: audio`` in a user dataset: its score modality is its audio transcribed
# (musicfusion.crossmodal.transcription.derived_scores), for a dataset without scores of its own.
TRANSCRIBED_FROM = "audio"
# The task of a paper dataset: the class of each tune (the ISMIR 2011 experiment's regions).
PAPER_TASK = "region"


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
    if params["preprocess"].get("min_seconds", 0.0) > params["preprocess"]["max_seconds"]:
        raise ConfigError("params.yaml: preprocess: min_seconds is above max_seconds")
    resolve_dataset(params)


@dataclass(frozen=True)
class DatasetSpec:
    """Where a dataset lives, what it holds, and whether the workflow builds it."""

    name: str
    preset: dict | None  # collect.presets entry when built from the corpus
    manifest: Path
    modalities: tuple[str, ...]  # the modalities the dataset has (a clip may still lack one)
    tasks: tuple[str, ...]  # its label columns, one classification task each
    paper: dict | None = None  # papers entry when the dataset reruns a published experiment
    methods: tuple[str, ...] | None = None  # the methods it runs, when it names them (None: all it can)
    derived: tuple[str, ...] = ()  # its modalities made by the workflow from another (a transcribed score)

    @property
    def read_modalities(self) -> tuple[str, ...]:
        """The modalities its manifest gives files of (the others are derived)."""
        return tuple(m for m in self.modalities if m not in self.derived)

    @property
    def is_preset(self) -> bool:
        return self.preset is not None

    @property
    def is_paper(self) -> bool:
        return self.paper is not None

    def has(self, modalities) -> bool:
        """Whether the dataset has every one of ``modalities`` (a method's, a transfer pair's; a
        feature set ``audio.pitch_cnn`` needs its modality)."""
        return {modality_of(m) for m in modalities} <= set(self.modalities)


def resolve_dataset(params: dict, name: str | None = None) -> DatasetSpec:
    """The selected (or named) dataset: a preset, a user dataset of ``datasets``, or a published
    experiment of ``papers``.

    A preset has every modality and its own ``tasks`` or the top-level ones; a user dataset
    declares its ``modalities`` and ``tasks`` (by default audio, video and text,
    :data:`DEFAULT_USER_MODALITIES`, and the top-level tasks); a paper has its tunes' scores and
    one task, :data:`PAPER_TASK`. A preset or user dataset may name the ``methods`` it runs, and a
    user dataset with audio and no scores may take its audio's transcription as its score
    (``score_from: audio``; the score is then ``derived``).
    """
    name = name or str(params["dataset"])
    presets = params["collect"]["presets"]
    external = params.get("datasets") or {}
    papers = params.get("papers") or {}
    for first, second, kinds in ((presets, external, "a preset and a user dataset"),
                                 (presets, papers, "a preset and a paper"),
                                 (external, papers, "a user dataset and a paper")):
        if name in first and name in second:
            raise ConfigError(f"dataset {name!r} is both {kinds}; rename one")
    if name in papers:
        # The paper's tunes, one region label each: its chain (workflow/rules/paper.smk) reads
        # scores from the corpus and has no clips of the other modalities.
        return DatasetSpec(name, None, Path(Layout(name).paper_tunes), (), (PAPER_TASK,), papers[name])
    if name in presets:
        entry = presets[name]
        return DatasetSpec(name, entry, Path(Layout(name).manifest), tuple(MODALITIES),
                           tuple(entry.get("tasks", params["tasks"])), methods=_named_methods(params, name, entry))
    if name in external:
        entry = external[name]
        listed = set(entry.get("modalities", DEFAULT_USER_MODALITIES))
        derived = ()
        if entry.get("score_from") == TRANSCRIBED_FROM:
            if "score" in listed or TRANSCRIBED_FROM not in listed:
                raise ConfigError(f"dataset {name!r}: score_from: {TRANSCRIBED_FROM} transcribes the score from the "
                                  f"audio, so its modalities must list {TRANSCRIBED_FROM} and not score")
            derived = ("score",)
        modalities = tuple(m for m in MODALITIES if m in listed or m in derived)
        return DatasetSpec(name, None, Path(entry["manifest"]), modalities, tuple(entry.get("tasks", params["tasks"])),
                           methods=_named_methods(params, name, entry), derived=derived)
    known = sorted(presets) + sorted(external) + sorted(papers)
    raise ConfigError(f"dataset {name!r} is neither a preset nor a user dataset; known: {known}")


def _named_methods(params: dict, name: str, entry: Mapping) -> tuple[str, ...] | None:
    if "methods" not in entry:
        return None
    unknown = [m for m in entry["methods"] if m not in params["methods"]]
    if unknown:
        raise ConfigError(f"dataset {name!r} names methods that params.yaml `methods` lacks: {unknown}")
    return tuple(entry["methods"])


def shard_count(n_clips: int, clips_per_shard: int) -> int:
    """Shards needed for ``n_clips`` at most ``clips_per_shard`` each (at least one)."""
    if clips_per_shard < 1:
        raise ConfigError(f"preprocess.clips_per_shard must be at least 1, not {clips_per_shard}")
    return max(1, -(-n_clips // clips_per_shard))


# Settings of the collect section that cannot change a preset's data.
NOT_SHAPING_COLLECT = ("presets", "max_workers")
# A preset's settings that are not how it is built (its styles are, in place of collect.styles).
NOT_SHAPING_PRESET = ("styles", "tasks", "methods")


def collect_settings(params: dict, preset: str) -> dict:
    """What building one preset reads: the ``collect`` section with that preset under ``preset``.

    A preset's own ``styles`` stand in for the section's. The other presets, the worker count and
    the preset's tasks and methods are left out, so changing them rebuilds nothing.
    """
    section = params["collect"]
    if preset not in section["presets"]:
        raise ConfigError(f"{preset!r} is not a preset; presets: {sorted(section['presets'])}")
    entry = section["presets"][preset]
    return {**{k: v for k, v in section.items() if k not in NOT_SHAPING_COLLECT},
            "styles": entry.get("styles", section["styles"]),
            "preset": {k: v for k, v in entry.items() if k not in NOT_SHAPING_PRESET}}


# ``modalities: dataset`` in a ``methods`` entry: fuse whatever modalities the dataset has.
DATASET_MODALITIES = "dataset"
# A method over the dataset's modalities fuses at least this many (one is a single-modality baseline).
MIN_FUSED = 2


def resolve_methods(methods: Mapping, dataset_modalities,
                    chosen=None) -> tuple[dict[str, dict], dict[str, str]]:
    """The ``methods`` entries a dataset can run, each with a concrete ``modalities`` list, and
    why each other one is left out: ({method: entry}, {method: reason}).

    ``chosen`` (a dataset's own ``methods``, musicfusion.plumbing.config.DatasetSpec) keeps only
    those; None keeps every method the dataset's modalities allow.

    An entry with a list runs when the dataset has every modality of it. An entry with
    ``modalities: dataset`` fuses the dataset's modalities (in the usual order) when it has at
    least :data:`MIN_FUSED`; a ``learner`` given per modality is kept for those modalities, and
    must name one for each. An entry that resolves to the same as an earlier one is left out.
    """
    present = [m for m in MODALITIES if m in set(dataset_modalities)]
    resolved, left_out = {}, {}
    for name, entry in methods.items():
        if chosen is not None and name not in chosen:
            left_out[name] = "not among the dataset's methods"
            continue
        wanted = entry["modalities"]
        if wanted == DATASET_MODALITIES:
            if len(present) < MIN_FUSED:
                left_out[name] = (f"fuses the dataset's modalities and needs at least {MIN_FUSED}; "
                                  f"the dataset has {'+'.join(present) or 'none'}")
                continue
            entry = {**entry, "modalities": list(present)}
            learner = entry.get("learner")
            if isinstance(learner, Mapping):
                missing = [m for m in present if m not in learner]
                if missing:
                    raise ValueError(f"method {name!r} fuses the dataset's modalities ({'+'.join(present)}) but "
                                     f"names no learner for {missing}")
                entry["learner"] = {m: learner[m] for m in present}
        elif not {modality_of(m) for m in wanted} <= set(present):
            left_out[name] = f"needs {'+'.join(wanted)}"
            continue
        # On a dataset without a score, early_fusion over the dataset and early_fusion_without_score
        # are one method: it runs once, under the first name.
        same = next((other for other, kept in resolved.items() if kept == dict(entry)), None)
        if same is not None:
            left_out[name] = f"the same as {same} on this dataset"
            continue
        resolved[name] = copy.deepcopy(dict(entry))
    return resolved, left_out


# --- papers ------------------------------------------------------------------------------------
# Read when the workflow starts (its corpus-file jobs), so kept here, beside the rest of params.yaml's
# resolution, and not with the tunes' parsing (musicfusion.data.presets.paper_tunes, which imports music21).

def corpus_file_slug(corpus_file: str) -> str:
    """A file-name-safe name of a corpus path: ``essenFolksong/han1.abc`` -> ``essenFolksong_han1``."""
    stem = re.sub(r"\.[A-Za-z0-9]+$", "", corpus_file)
    return re.sub(r"[^A-Za-z0-9]+", "_", stem).strip("_")


def paper_files(paper: Mapping) -> dict[str, tuple[str, str]]:
    """Every corpus file of a papers entry: {slug: (corpus path, class)}; a file in two classes is an error."""
    files: dict[str, tuple[str, str]] = {}
    for label, paths in paper["classes"].items():
        for path in paths:
            slug = corpus_file_slug(path)
            if slug in files:
                raise ConfigError(f"corpus file {path} is listed twice (class {files[slug][1]!r} and {label!r})")
            files[slug] = (path, label)
    return files
