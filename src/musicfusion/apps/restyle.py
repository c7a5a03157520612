"""Style transfer: a clip's notes moved toward another style, re-rendered, and judged per modality.

A transfer applies a set of operators (:mod:`musicfusion.symbolic.operators`) to a clip's notes,
toward a target style whose profile is learned from that style's training clips in the fold that
holds the clip out (never from the clip judged), fits the result to the clip's length, and renders
it exactly as collect renders a clip (:func:`musicfusion.symbolic.render.render_clip`). The media
then go through the workflow's own preprocessing and extractors, and the fold models that never saw
the clip give each task's probabilities before and after. The text is kept: a transfer changes the
music, not the words.

Two controls travel with the style operators: the instrument (a label: each clip re-rendered with
every other instrument, which the instrument classifiers should follow and the style classifiers
should not) and the tempo (drawn independently of style by design, so it should move no style
classifier).
"""

from __future__ import annotations

import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from musicfusion.data.scores import ONSET
from musicfusion.evaluation.perturb import keyed_rng
from musicfusion.symbolic.operators import (
    OPERATORS,
    StyleProfile,
    apply_operators,
    chroma_similarity,
    fit_length,
    learn_profile,
    melody_kept,
)
from musicfusion.symbolic.render import SECONDS_PER_QUARTER, note_events, render_clip

# Kinds of transfer: toward a style (an operator set of params.yaml), and the two controls.
STYLE, INSTRUMENT, TEMPO = "style", "instrument", "tempo"
# The modalities a transfer renders again; the text is the source's.
RENDERED = ("audio", "video", "score")
# Quarter notes below which two note times are the same (a MIDI tick here is 1/480 of a quarter).
NOTE_TOLERANCE = 1e-9
ROW_COLUMNS = ["clip_id", "source_style", "fold", "kind", "operator_set", "target", "judge", "task", "source_label",
               "target_label", "p_source_before", "p_source_after", "p_target_before", "p_target_after",
               "predicted_before", "predicted_after", "chroma_similarity", "melody_kept", "query_rank",
               "query_rank_before", "gallery_size"]


class RestyleError(Exception):
    """A problem with a transfer's request (unknown style, operator or clip), said in one line."""


@dataclass(frozen=True)
class Transfer:
    """One transfer of one clip: ``operators`` applied with ``settings`` toward ``target`` (a style, an
    instrument, or a tempo factor as text)."""

    clip_id: str
    kind: str
    operator_set: str
    target: str
    operators: tuple[str, ...]
    settings: Mapping = field(default_factory=dict)

    @property
    def name(self) -> str:
        """A file-safe id of the transferred clip."""
        return f"{self.clip_id}~{self.operator_set}~{self.target}".replace(".", "p")


def judging_folds(fold_tables: list[pd.DataFrame]) -> dict[str, int]:
    """Each clip's judging fold: the first fold (repetition 0 comes first) whose test part holds it."""
    judging: dict[str, int] = {}
    for fold, table in enumerate(fold_tables):
        for clip_id in table.loc[table["split"] == "test", "clip_id"]:
            judging.setdefault(clip_id, fold)
    return judging


def select_sources(clips: pd.DataFrame, style: str, per_style: int, seed: int) -> pd.DataFrame:
    """``per_style`` clips of ``style`` from the dataset's test split, at most one per group (so the
    clips of a row are unrelated), drawn with a seed of their own. Fewer if the style has fewer groups."""
    candidates = clips[(clips["style"] == style) & (clips["split"] == "test")]
    candidates = candidates.sort_values("clip_id").drop_duplicates("group")
    rng = keyed_rng(seed, "style_transfer", style)
    chosen = rng.choice(len(candidates), size=min(per_style, len(candidates)), replace=False)
    return candidates.iloc[np.sort(chosen)].reset_index(drop=True)


def plan_transfers(clip_id: str, style: str, instrument: str, styles, instruments, settings: Mapping) -> list[Transfer]:
    """Every transfer of one clip: each operator set toward each other style, then the controls
    (each other instrument of ``instruments`` {name: program}; each tempo factor)."""
    transfers = [Transfer(clip_id, STYLE, name, target, tuple(operators))
                 for name, operators in settings["operator_sets"].items()
                 for target in sorted(styles) if target != style]
    transfers += [Transfer(clip_id, INSTRUMENT, INSTRUMENT, name, (INSTRUMENT,), {INSTRUMENT: {"program": program}})
                  for name, program in sorted(instruments.items()) if name != instrument]
    transfers += [Transfer(clip_id, TEMPO, TEMPO, f"{factor:g}", (TEMPO,), {TEMPO: {"factor": float(factor)}})
                  for factor in settings["tempo_factors"]]
    return transfers


def style_profiles(notes_of: Mapping[str, np.ndarray], clips: pd.DataFrame, profile_settings: Mapping) -> dict:
    """Each style's profile, learned from the clips of ``clips`` (one fold's training part)."""
    return {style: learn_profile([notes_of[c] for c in group["clip_id"] if c in notes_of], profile_settings)
            for style, group in clips.groupby("style", sort=True)}


def transferred_notes(notes: np.ndarray, program: int, transfer: Transfer, profile: StyleProfile | None,
                      clip_quarters: float, max_repeats: int) -> tuple[np.ndarray, int]:
    """The notes and program after ``transfer``, fitted to the clip's length as collect fits an excerpt."""
    unknown = sorted(set(transfer.operators) - set(OPERATORS))
    if unknown:
        raise RestyleError(f"unknown operator(s) {unknown}; known: {sorted(OPERATORS)}")
    moved, program = apply_operators(notes, program, transfer.operators, profile, transfer.settings)
    start = moved[:, ONSET].min()
    moved = moved.copy()
    moved[:, ONSET] -= start
    return fit_length(moved, clip_quarters, max_repeats), program


def render_and_extract(items: list[tuple[str, np.ndarray, int, tuple[str, ...]]], render_settings: Mapping,
                       clip_seconds: float, preprocess_params: Mapping, feature_params: Mapping,
                       work_dir: str | Path | None = None) -> dict[str, pd.DataFrame]:
    """Render each (id, notes, program, modalities) as a clip's media of those modalities and extract
    their features exactly as the workflow does (preprocess_shard, then extract_shard). Returns per
    rendered modality a frame of features indexed by id. The media live in a temporary folder (under
    ``work_dir``) removed afterwards."""
    from musicfusion.data.preprocess import MEDIA_KEYS, preprocess_shard
    from musicfusion.features.shards import extract_shard

    features = {m: pd.DataFrame(dtype=np.float64) for m in RENDERED}
    if not items:
        return features
    with tempfile.TemporaryDirectory(prefix="musicfusion-restyle-", dir=work_dir) as tmp:
        rows = []
        for item_id, notes, program, modalities in items:
            paths = render_clip(note_events(notes), program, tmp, item_id, render_settings, clip_seconds, modalities)
            rows.append({"clip_id": item_id, **{f"{m}_path": paths[m] if m in modalities else "" for m in RENDERED}})
        prep = {**preprocess_params, "on_bad_input": "fail"}
        arrays, _, _ = preprocess_shard(pd.DataFrame(rows), tmp, 0, 1, list(RENDERED), prep)
    for m in RENDERED:
        if not len(arrays[m]["clip_ids"]):
            continue
        shard = {**arrays[m], MEDIA_KEYS[m]: np.concatenate(arrays[m][MEDIA_KEYS[m]])}
        out = extract_shard(m, shard, feature_params[m], sample_rate=preprocess_params["audio"]["sample_rate"],
                            fps=preprocess_params["video"]["fps"])
        features[m] = pd.DataFrame(out["X"].astype(np.float64), index=out["clip_ids"])
    return features


def probabilities(model, X: dict[str, np.ndarray], task: str, tasks) -> tuple[np.ndarray, np.ndarray]:
    """(probabilities (n, classes), classes) of one task from a fold model (a multi-task one has all tasks)."""
    from musicfusion.models.train import task_probas  # scikit-learn: kept off `musicfusion`'s start-up

    return task_probas(model, X, list(tasks) if getattr(model, "multitask", False) else [task])[task]


def content_measures(source: np.ndarray, moved: np.ndarray) -> dict[str, float]:
    return {"chroma_similarity": chroma_similarity(source, moved), "melody_kept": melody_kept(source, moved)}


def clip_quarters(clip_seconds: float) -> float:
    """A clip's length in the quarter notes of the MIDI files it is rendered to."""
    return clip_seconds / SECONDS_PER_QUARTER


@dataclass(frozen=True)
class Judge:
    """A method whose fold models judge the transfers: its modalities and every fold's {task: model}."""

    name: str
    modalities: tuple[str, ...]
    fold_models: list


def _labels(transfer: Transfer, task: str, source: pd.Series) -> tuple[str, str] | None:
    """(source label, target label) of one task's row of a transfer, or None if the task has no row:
    a style transfer is judged on style, the instrument control on instrument and style (which should
    not move), the tempo control on style."""
    if transfer.kind == STYLE:
        return (source[task], transfer.target) if task == "style" else None
    if transfer.kind == INSTRUMENT:
        return (source[task], transfer.target) if task == "instrument" else (
            (source[task], source[task]) if task == "style" else None)
    return (source[task], source[task]) if task == "style" else None


def restyle_style(style: str, *, clips: pd.DataFrame, fold_tables: list[pd.DataFrame], notes_of: Mapping,
                  programs: Mapping[str, int], instruments: Mapping[str, int], judges: list[Judge],
                  fold_features, mapping, query_pair: tuple[str, str] | None, settings: Mapping,
                  render_settings: Mapping, clip_seconds: float, max_repeats: int, preprocess_params: Mapping,
                  feature_params: Mapping, tasks, seed: int, work_dir=None) -> pd.DataFrame:
    """Every transfer of the chosen clips of ``style`` (:func:`select_sources`), judged: one row per
    (transfer, judge, task) with :data:`ROW_COLUMNS`.

    ``fold_features(fold, modalities)`` gives a fold's (X, clips) as musicfusion.features.matrices.
    load_features does (every clip, NaN for an absent modality); ``mapping`` is the fitted cross-modal
    mapping of ``query_pair`` (source modality -> target modality) whose ranking measures how much
    content a transfer keeps, or None. A transfer that leaves the notes as they were (the instrument
    control) is rendered as audio only: its video and score are the source's.
    """
    sources = select_sources(clips, style, int(settings["clips_per_style"]), seed)
    judging = judging_folds(fold_tables)
    profiles, plans = {}, []
    for source in sources.itertuples(index=False):
        fold = judging[source.clip_id]
        if fold not in profiles:
            table = fold_tables[fold]
            profiles[fold] = style_profiles(notes_of, table[table["split"].isin(["train", "validation"])],
                                            settings["profile"])
        for transfer in plan_transfers(source.clip_id, style, source.instrument, profiles[fold], instruments,
                                       settings):
            profile = profiles[fold].get(transfer.target) if transfer.kind == STYLE else None
            notes, program = transferred_notes(notes_of[source.clip_id], programs[source.clip_id], transfer, profile,
                                               clip_quarters(clip_seconds), max_repeats)
            plans.append((transfer, fold, notes, program))
    # Notes left as they were (the instrument control) keep the source's video and score.
    items = [(t.name, notes, program, ("audio",) if _same_notes(notes, notes_of[t.clip_id]) else RENDERED)
             for t, _, notes, program in plans]
    features = render_and_extract(items, render_settings, clip_seconds, preprocess_params, feature_params, work_dir)
    frames = []
    for fold in sorted({fold for _, fold, _, _ in plans}):
        in_fold = [plan for plan in plans if plan[1] == fold]
        read = sorted({m for judge in judges for m in judge.modalities} | set(query_pair or ()))
        frames.append(_judge_fold(in_fold, fold, clips, features, judges, fold_features(fold, read), mapping,
                                  query_pair, notes_of, tasks))
    return pd.concat(frames, ignore_index=True)[ROW_COLUMNS] if frames else pd.DataFrame(columns=ROW_COLUMNS)


def _same_notes(a: np.ndarray, b: np.ndarray) -> bool:
    """The same notes, up to float rounding far below a MIDI tick (fitting a clip's length recomputes ends)."""
    return a.shape == b.shape and bool(np.allclose(a, b, rtol=0.0, atol=NOTE_TOLERANCE))


def _judge_fold(plans: list, fold: int, clips: pd.DataFrame, features: Mapping[str, pd.DataFrame],
                judges: list[Judge], fold_data: tuple[dict, pd.DataFrame], mapping, query_pair, notes_of: Mapping,
                tasks) -> pd.DataFrame:
    """The rows of one judging fold's transfers: every judge predicts the sources and the transferred
    clips in one batch per task. ``fold_data`` is the fold's (X, clips) of every modality read."""
    from musicfusion.models.fusion import decide

    transfers = [plan[0] for plan in plans]
    X, fold_clips = fold_data
    ids = fold_clips["clip_id"].to_numpy()
    row_of = {clip_id: i for i, clip_id in enumerate(ids)}
    sources = [row_of[t.clip_id] for t in transfers]
    by_id = clips.set_index("clip_id")
    base = pd.DataFrame({
        "clip_id": [t.clip_id for t in transfers], "source_style": [by_id.at[t.clip_id, "style"] for t in transfers],
        "fold": fold, "kind": [t.kind for t in transfers], "operator_set": [t.operator_set for t in transfers],
        "target": [t.target for t in transfers]})
    content = pd.DataFrame([content_measures(notes_of[t.clip_id], notes) for t, _, notes, _ in plans])
    base = pd.concat([base, content], axis=1)
    base["query_rank"] = base["query_rank_before"] = np.nan
    base["gallery_size"] = 0
    if mapping is not None:
        in_gallery = np.flatnonzero((by_id.loc[ids, "split"] == "test").to_numpy())
        gallery = mapping.embed_target(X[query_pair[1]][in_gallery])
        position = {clip_id: i for i, clip_id in enumerate(ids[in_gallery])}

        def ranks(queries: np.ndarray) -> np.ndarray:
            from musicfusion.crossmodal.retrieval import rank_matrix

            matrix = rank_matrix(mapping.embed_source(queries), gallery)
            return matrix[np.arange(len(transfers)), [position[t.clip_id] for t in transfers]]

        base["query_rank"] = ranks(_media_rows(features, query_pair[0], transfers, X, row_of))
        base["query_rank_before"] = ranks(X[query_pair[0]][sources])
        base["gallery_size"] = len(in_gallery)
    # Each task's (source, target) labels of every transfer (None: no row), the same for every judge.
    labels_of = {task: [_labels(t, task, by_id.loc[t.clip_id]) for t in transfers] for task in tasks}
    frames = []
    for judge in judges:
        before = {m: np.asarray(X[m][sources], dtype=np.float64) for m in judge.modalities}
        after = {m: (_media_rows(features, m, transfers, X, row_of) if m in RENDERED else before[m])
                 for m in judge.modalities}
        for task in tasks:
            labels = labels_of[task]
            keep = np.array([label is not None for label in labels])
            if not keep.any():
                continue
            model = judge.fold_models[fold][task]
            p_before, classes = probabilities(model, {m: x[keep] for m, x in before.items()}, task, tasks)
            p_after, _ = probabilities(model, {m: x[keep] for m, x in after.items()}, task, tasks)
            source_labels = [label[0] for label in labels if label is not None]
            target_labels = [label[1] for label in labels if label is not None]

            def p(proba, wanted, classes=classes):
                column = {label: j for j, label in enumerate(classes)}
                return np.array([proba[i, column[w]] if w in column else 0.0 for i, w in enumerate(wanted)])

            frames.append(base[keep].assign(
                judge=judge.name, task=task, source_label=source_labels, target_label=target_labels,
                p_source_before=p(p_before, source_labels), p_source_after=p(p_after, source_labels),
                p_target_before=p(p_before, target_labels), p_target_after=p(p_after, target_labels),
                predicted_before=decide(p_before, classes)[0], predicted_after=decide(p_after, classes)[0]))
    return pd.concat(frames, ignore_index=True)


def _media_rows(features: Mapping[str, pd.DataFrame], modality: str, transfers: list[Transfer], X: Mapping,
                row_of: Mapping[str, int]) -> np.ndarray:
    """The transferred clips' features of one rendered modality; the source's own where the transfer
    did not render it again (the notes unchanged)."""
    rendered = features[modality]
    return np.vstack([rendered.loc[[t.name]].to_numpy() if t.name in rendered.index
                      else np.asarray(X[modality][[row_of[t.clip_id]]], dtype=np.float64) for t in transfers])
