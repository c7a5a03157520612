"""Recommend: the library clips whose target modality best matches a new video or text query.

The query goes through exactly the steps the workflow applies to a clip of that modality
(:mod:`musicfusion.data.preprocess`, then :mod:`musicfusion.features`), is mapped by the transfer
mapping that scored best on the validation split (``models/<dataset>/transfer/<query>_to_<target>.pkl``,
written by the workflow's ``transfer`` rule), and compared by cosine similarity with every
library clip's target features mapped the same way (:func:`musicfusion.crossmodal.mappings.rank_gallery`).

Every problem a user can cause (an unreadable query, a pair that is not configured, a workflow
that has not run yet) raises :class:`RecommendError` with a one-line message.
"""

from __future__ import annotations

import os
import pickle
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from musicfusion.crossmodal.experiment import load_bundle, pair_name
from musicfusion.crossmodal.retrieval import rank_gallery
from musicfusion.features.matrices import load_features
from musicfusion.plumbing.config import resolve_dataset
from musicfusion.plumbing.files import load_pickle
from musicfusion.plumbing.paths import Layout

QUERY_MODALITIES = ("video", "text")
QUERY_ID = "query"  # the clip id a query gets in preprocessing messages
# FFmpeg's AV_LOG_QUIET: OpenCV would otherwise print FFmpeg's own complaint about a broken file
# beside our one-line error.
FFMPEG_QUIET = "-8"
# Presentation of the text table (the JSON output keeps full titles and scores).
SCORE_DECIMALS = 3
TITLE_WIDTH = 60
RUN_WORKFLOW_HINT = ("run the workflow first, e.g. `snakemake --cores all --config dataset=<dataset>` "
                     "(or `snakemake results/<dataset>/transfer.csv`)")


class RecommendError(Exception):
    """A problem with the query or the project, explained in one line."""


@dataclass(frozen=True)
class Recommendations:
    """Top-K library clips for one query, and what produced them."""

    query_modality: str
    target: str
    dataset: str
    method: str
    table: pd.DataFrame  # rank, score, clip_id, the dataset's labels, title; best first

    def as_dict(self) -> dict:
        return {"query_modality": self.query_modality, "target": self.target, "dataset": self.dataset,
                "method": self.method, "results": self.table.to_dict(orient="records")}


def model_path(root: Path, query_modality: str, target: str, dataset: str) -> Path:
    return Path(Layout(dataset, str(root)).transfer_model(pair_name(query_modality, target)))


def feature_dir(root: Path, dataset: str) -> Path:
    return Path(Layout(dataset, str(root)).features)


def load_pair_model(params: dict, root: Path, query_modality: str, target: str, dataset: str) -> dict:
    """The fitted mappings of the configured pair, checked against the selected dataset."""
    pairs = [tuple(p) for p in params["transfer"]["pairs"]]
    if (query_modality, target) not in pairs:
        configured = ", ".join(f"{s}->{t}" for s, t in pairs)
        raise RecommendError(f"the pair {query_modality}->{target} is not in params.yaml transfer.pairs "
                             f"(configured: {configured}); add it and run the workflow")
    path = model_path(root, query_modality, target, dataset)
    if not path.is_file():
        raise RecommendError(f"{path}: transfer model not found; {RUN_WORKFLOW_HINT}")
    try:
        bundle = load_bundle(path)
    except (OSError, ValueError, pickle.UnpicklingError, EOFError, AttributeError) as err:
        raise RecommendError(f"{path}: cannot load the transfer model ({err}); {RUN_WORKFLOW_HINT}") from None
    if bundle["dataset"] is not None and bundle["dataset"] != dataset:
        raise RecommendError(f"{path} was fitted on dataset {bundle['dataset']!r} but {dataset!r} is selected; "
                             f"run the workflow on {dataset!r} or pass --dataset {bundle['dataset']}")
    return bundle


def video_query_features(path: str | Path, params: dict) -> np.ndarray:
    """Features (1, d) of a video file, as the workflow computes them for a clip: read at its
    real length up to ``preprocess.max_seconds``, too short only below what the run's video
    feature sets describe (or the optional floor ``preprocess.min_seconds``)."""
    from musicfusion.data.preprocess import BadClipError, clip_limits, extractor_minimums, load_video
    from musicfusion.features.shards import extract_clip

    path = Path(path)
    if not path.is_file():
        raise RecommendError(f"{path}: file not found")
    if path.stat().st_size == 0:
        raise RecommendError(f"{path}: empty file")
    os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", FFMPEG_QUIET)
    try:
        limits = clip_limits(params["preprocess"], extractor_minimums(params["features"], params["preprocess"],
                                                                      ["video"]))
        frames = load_video(QUERY_ID, path, limits, params["preprocess"]["video"])
    except BadClipError as err:
        raise RecommendError(f"{err.path}: {err.problem}") from None
    # The video's own feature set, by the extractor the workflow registers for it.
    return extract_clip("video", frames, params["features"], params["preprocess"])


def text_query_features(query: str, params: dict, vectorizer_path: Path) -> np.ndarray:
    """Features (1, d) of a text, with the TF-IDF vectorizer the workflow fitted on training texts."""
    from musicfusion.data.preprocess import normalize_text
    from musicfusion.features import text

    normalized = normalize_text(query, params["preprocess"]["text"])
    if not normalized:
        raise RecommendError("the text query is empty")
    if not vectorizer_path.is_file():
        raise RecommendError(f"{vectorizer_path}: text vectorizer not found; {RUN_WORKFLOW_HINT}")
    vectorizer = load_pickle(vectorizer_path)
    X, names = text.transform(vectorizer, [normalized])
    if not np.any(X):
        # An all-zero TF-IDF row maps every such query to the same place: the ranking would
        # say nothing about this query.
        raise RecommendError(f"no term of {query!r} is in the vocabulary fitted on the training "
                             f"texts ({len(names)} terms); try other words")
    return X


def recommend(params: dict, query_modality: str, query: str, target: str = "audio", top: int = 5,
              root: str | Path = ".", dataset: str | None = None) -> Recommendations:
    """The ``top`` library clips whose ``target`` features best match the query.

    ``query`` is a video file path (``query_modality='video'``) or the text itself (``'text'``).
    ``root`` is the project folder (where the workflow wrote data/processed and models/);
    ``dataset`` overrides params.yaml's ``dataset`` like ``snakemake --config dataset=...``.
    """
    if query_modality not in QUERY_MODALITIES:
        raise RecommendError(f"a query is one of {list(QUERY_MODALITIES)}, not {query_modality!r}")
    if top < 1:
        raise RecommendError(f"--top must be at least 1, got {top}")
    root = Path(root)
    spec = resolve_dataset(params, dataset)
    bundle = load_pair_model(params, root, query_modality, target, spec.name)
    method = bundle["best_on_validation"]
    mapping = bundle["mappings"][method]

    features = feature_dir(root, spec.name)
    try:
        X, clips = load_features(features, [target])
    except (OSError, KeyError, ValueError) as err:
        raise RecommendError(f"{features}: cannot load the library's {target} features ({err}); "
                             f"{RUN_WORKFLOW_HINT}") from None
    if query_modality == "video":
        query_X = video_query_features(query, params)
    else:
        query_X = text_query_features(query, params, features / "text_vectorizer.pkl")
    expected = {query_modality: mapping.n_features_in_, target: mapping.n_targets_in_}
    got = {query_modality: query_X.shape[1], target: X[target].shape[1]}
    if got != expected:
        raise RecommendError(f"feature sizes {got} differ from those the transfer model was fitted on "
                             f"{expected}: params.yaml features changed since; {RUN_WORKFLOW_HINT}")

    index, scores = rank_gallery(mapping.embed_source(query_X), mapping.embed_target(X[target]), top)
    chosen = clips.iloc[index[0]].reset_index(drop=True)
    table = pd.DataFrame({
        "rank": np.arange(1, len(chosen) + 1), "score": scores[0].astype(float), "clip_id": chosen["clip_id"],
        **{task: chosen[task] for task in spec.tasks},
        "title": chosen["title"] if "title" in chosen else "",
    })
    return Recommendations(query_modality, target, spec.name, method, table)


def _shorten(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1].rstrip() + "\u2026"


def format_table(recommendations: Recommendations, score_decimals: int = SCORE_DECIMALS,
                 title_width: int = TITLE_WIDTH) -> str:
    """A plain-text table, one line per recommended clip, best first (numbers right-aligned).

    Titles longer than ``title_width`` characters (lyrics, for some clips) are shortened.
    """
    table = recommendations.table
    columns = list(table.columns)
    cells = [[f"{value:.{score_decimals}f}" if name == "score" else
              _shorten(str(value), title_width) if name == "title" else str(value)
              for name, value in zip(columns, row)] for row in table.itertuples(index=False)]
    widths = [max(len(row[j]) for row in [columns, *cells]) for j in range(len(columns))]
    numeric = {"rank", "score"}

    def line(row):
        return "  ".join(cell.rjust(w) if name in numeric else cell.ljust(w)
                         for name, cell, w in zip(columns, row, widths)).rstrip()

    return "\n".join(line(row) for row in [columns, *cells])
