"""The project's file layout, in one place: where a dataset's data, models and results live.

::

    data/raw/<dataset>/            manifest.csv, duplicates.csv, clips/ (collected or the user's own)
    data/interim/<dataset>/        <modality>/shard-<shard>.npz, bad_clips.csv, absent.csv
    data/processed/<dataset>/      features/ (per modality, control/, fold-<i>/), perturbed/, fingerprint.json;
                                   a paper's paper/ (tunes.csv, the features of each corpus file)
    models/<dataset>/              <method>/ (model.pkl, fold_models.pkl, predictions.csv, trials.csv), transfer/
    results/<dataset>/             the tables and figures; methods/<method>/, transfer/<pair>/
    reference/<dataset>/           the committed tables `snakemake reproduce` checks

Paths are strings relative to ``root`` (the project folder by default), as Snakemake names files.
A :class:`Layout` of a wildcard, ``Layout("{dataset}")``, gives the rules' patterns.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

# The project folder of a source checkout (the package is installed in editable mode).
PROJECT_ROOT = Path(__file__).resolve().parents[3]
SCHEMA = "workflow/schemas/params.schema.yaml"
# The kinds of features a method can read: its modalities' own (its feature sets, content), or
# their shortcut controls.
FEATURE_KINDS = ("content", "control")


@dataclass(frozen=True)
class Layout:
    """The files of one dataset (or, for a wildcard name such as ``{dataset}``, their patterns)."""

    dataset: str
    root: str = ""

    def _path(self, *parts: str) -> str:
        return "/".join([self.root.rstrip("/")] * bool(self.root) + list(parts))

    # --- raw data ---------------------------------------------------------------------------
    @property
    def raw(self) -> str:
        return self._path("data/raw", self.dataset)

    @property
    def manifest(self) -> str:
        return f"{self.raw}/manifest.csv"

    @property
    def raw_version(self) -> str:
        """DVC's pointer to the raw folder."""
        return self._path(f"data/raw/{self.dataset}.dvc")

    # --- interim: preprocessed shards ------------------------------------------------------
    @property
    def interim(self) -> str:
        return self._path("data/interim", self.dataset)

    def interim_shard(self, modality: str, shard: str) -> str:
        return f"{self.interim}/{modality}/shard-{shard}.npz"

    # --- processed: features ---------------------------------------------------------------
    @property
    def processed(self) -> str:
        return self._path("data/processed", self.dataset)

    @property
    def features(self) -> str:
        return f"{self.processed}/features"

    @property
    def perturbed(self) -> str:
        return f"{self.processed}/perturbed"

    @property
    def fingerprint(self) -> str:
        return f"{self.processed}/fingerprint.json"

    # --- a paper's tunes and features ------------------------------------------------------
    @property
    def paper(self) -> str:
        return f"{self.processed}/paper"

    @property
    def paper_tunes(self) -> str:
        """Every tune of a paper dataset with its label, group and features (musicfusion.evaluation.paper)."""
        return f"{self.paper}/tunes.csv"

    def paper_file_features(self, corpus_file: str) -> str:
        """The tunes of one corpus file of a paper, with their features (``corpus_file``: a slug)."""
        return f"{self.paper}/files/{corpus_file}.csv"

    # --- models and results ----------------------------------------------------------------
    @property
    def models(self) -> str:
        return self._path("models", self.dataset)

    @property
    def results(self) -> str:
        return self._path("results", self.dataset)

    def transfer_model(self, pair: str) -> str:
        return f"{self.models}/transfer/{pair}.pkl"

    def reference(self, reference_dir: str) -> str:
        """The dataset's committed reference tables, in params.yaml's ``reproduce.reference_dir``."""
        return self._path(reference_dir, self.dataset)


def fold_dir(feature_dir: str | Path, fold: int | None) -> Path:
    """Where fold ``fold``'s split and what is fitted on it live; ``None`` is the dataset's own split.

    Only the split and what is fitted on it (the text TF-IDF) differ between folds; features
    extracted per clip, and every control, are shared.
    """
    return Path(feature_dir) if fold is None else Path(feature_dir) / f"fold-{fold}"


def feature_file(feature_dir: str | Path, modality: str, fold: int | None = None, feature_kind: str = "content",
                 per_fold: bool = False) -> Path:
    """The npz of one modality's (or feature set's) features of a kind (content or control);
    ``per_fold`` features (fitted on each fold's training clips) live in the fold's folder."""
    if feature_kind not in FEATURE_KINDS:
        raise ValueError(f"unknown kind of features {feature_kind!r}; known: {list(FEATURE_KINDS)}")
    if feature_kind == "control":
        return Path(feature_dir) / "control" / f"{modality}.npz"
    return (fold_dir(feature_dir, fold) if per_fold else Path(feature_dir)) / f"{modality}.npz"
