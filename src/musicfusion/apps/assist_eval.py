"""What rule ``assist_eval`` measures of ``musicfusion assist`` (its table: :mod:`musicfusion.evaluation.assist`).

Held-out clips are the queries, with one modality at a time (those the dataset has) and with all of them:

- suggestions: each fold's test clips, by the fold models of the method ``assist`` would choose for that query
  (:func:`musicfusion.apps.assist.best_fusion_methods`), the query's other modalities absent (NaN), as in
  ``assist``; a fold model never saw its test clips (a final model has seen every clip);
- tempo: every clip's interim media (what preprocessing made of it), against the tempo the preset drew;
- references: the dataset's own test clips against a library of its training and validation clips, by the
  similarities ``assist`` uses (the transfer mappings are fitted on the training clips);
- sketch: a seeded sample of test clips queried with every modality: the suggested style from the fold that
  held the clip out, the sketch made as ``assist`` makes it from that fold's library, rendered, and judged by
  that fold's model of ``judge``.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping

import numpy as np
import pandas as pd

from musicfusion import MODALITIES, modality_of
from musicfusion.apps.assist import best_fusion_methods, reference_similarities

ALL = "all"  # the query with every modality the dataset has
TEST, LIBRARY_SPLITS = "test", ("train", "validation")


def queries(modalities) -> dict[str, tuple[str, ...]]:
    """{query name: its modalities}: each modality alone, then all of them."""
    present = [m for m in MODALITIES if m in set(modalities)]
    return {**{m: (m,) for m in present}, ALL: tuple(present)}


def absent_except(X: Mapping[str, np.ndarray], keep) -> dict[str, np.ndarray]:
    """``X`` with every feature set whose modality is not in ``keep`` made absent (NaN)."""
    return {key: (x if modality_of(key) in set(keep) else np.full_like(x, np.nan, dtype=np.float64))
            for key, x in X.items()}


def chosen_methods(summary: pd.DataFrame, tasks, selection_metric: str, methods: dict, modalities) -> dict:
    """{query: {task: method}}, as ``assist`` chooses for such a query."""
    return {name: best_fusion_methods(summary, tasks, selection_metric, methods, kept)
            for name, kept in queries(modalities).items()}


def suggestion_predictions(folds, fold_models: Mapping[str, list], chosen: Mapping[str, Mapping[str, str]],
                           methods: Mapping[str, dict], tasks) -> pd.DataFrame:
    """One row per fold, task, query and test clip: true, predicted, confidence, brier, n_test, n_train.

    ``folds``: (X, clips) per fold (every feature set the chosen methods read, complete=False);
    ``fold_models``: {method: its fold models}."""
    from musicfusion.apps.restyle import probabilities

    rows = []
    for index, (X, clips) in enumerate(folds):
        test = (clips["split"] == TEST).to_numpy()
        n_train = int(clips["split"].isin(LIBRARY_SPLITS).sum())
        for query, by_task in chosen.items():
            kept = queries(MODALITIES)[query] if query != ALL else MODALITIES
            for task, name in by_task.items():
                labelled = test & (clips[task].astype(str) != "").to_numpy()
                if not labelled.any():
                    continue
                X_test = absent_except({k: X[k][labelled] for k in methods[name]["modalities"]}, kept)
                proba, classes = probabilities(fold_models[name][index][task], X_test, task, tasks)
                classes = np.asarray(classes).astype(str)
                true = clips.loc[labelled, task].astype(str).to_numpy()
                onehot = (classes[None, :] == true[:, None]).astype(float)
                rows.append(pd.DataFrame({
                    "fold": index, "task": task, "query": query, "method": name,
                    "clip_id": clips.loc[labelled, "clip_id"].to_numpy(), "true": true,
                    "predicted": classes[proba.argmax(axis=1)], "confidence": proba.max(axis=1),
                    "brier": ((proba - onehot) ** 2).sum(axis=1), "n_test": int(labelled.sum()), "n_train": n_train}))
    return pd.concat(rows, ignore_index=True)


def tempo_estimates(media: Mapping[str, Mapping[str, object]], truth: Mapping[str, float],
                    params: dict) -> pd.DataFrame:
    """One row per clip and modality: the tempo estimate from its interim media (``media``: {modality:
    {clip_id: signal, frames or notes}}) beside the tempo the preset drew (``truth``)."""
    from musicfusion.apps.assist import query_tempo

    rows = []
    for modality, by_clip in media.items():
        for clip_id, data in by_clip.items():
            if clip_id not in truth:
                continue
            estimate, _ = query_tempo({modality: data}, params)
            rows.append({"query": modality, "clip_id": clip_id, "truth": float(truth[clip_id]),
                         "estimate": np.nan if estimate is None else float(estimate)})
    return pd.DataFrame(rows, columns=["query", "clip_id", "truth", "estimate"])


def reference_scores(query_X: Mapping[str, np.ndarray], library_X: Mapping[str, np.ndarray], pairs: Mapping,
                     target: str) -> np.ndarray:
    """(n_queries, n_library) similarities averaged over the query's modalities, as ``assist`` ranks references
    (:func:`musicfusion.apps.assist.reference_similarities`); NaN where no modality gives one."""
    blocks = np.stack(list(reference_similarities(query_X, library_X, pairs, target).values()))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a pair with no similarity in any modality stays NaN
        return np.nanmean(blocks, axis=0)


def reference_ranks(X: Mapping[str, np.ndarray], clips: pd.DataFrame, pairs: Mapping, target: str,
                    query_sets: Mapping[str, tuple[str, ...]], label: str) -> pd.DataFrame:
    """Per query set and own-split test clip: the rank of the first library clip (own training and validation
    clips) of its ``label``, the library's size and how many of it share the label."""
    from musicfusion.evaluation.assist import first_relevant_ranks

    test = (clips["split"] == TEST).to_numpy() & (clips[label].astype(str) != "").to_numpy()
    library = clips["split"].isin(LIBRARY_SPLITS).to_numpy()
    labels_q = clips.loc[test, label].astype(str).to_numpy()
    labels_l = clips.loc[library, label].astype(str).to_numpy()
    relevant = labels_q[:, None] == labels_l[None, :]
    rows = []
    for name, kept in query_sets.items():
        wanted = [m for m in kept if m in pairs or m in X]
        if not wanted:
            continue
        scores = reference_scores({m: X[m][test] for m in wanted}, {k: v[library] for k, v in X.items()}, pairs,
                                  target)
        ranks = first_relevant_ranks(scores, relevant)
        rows.append(pd.DataFrame({"query": name, "clip_id": clips.loc[test, "clip_id"].to_numpy(), "rank": ranks,
                                  "n_library": int(library.sum()), "n_relevant": relevant.sum(axis=1)}))
    return pd.concat(rows, ignore_index=True) if rows else pd.DataFrame(
        columns=["query", "clip_id", "rank", "n_library", "n_relevant"])


def sketch_agreement(*, sample: pd.DataFrame, fold_tables: list[pd.DataFrame], folds_X: Mapping[int, tuple],
                     suggest: tuple[str, list], fold_models: Mapping[str, list], judge: tuple[str, list],
                     notes_of: Mapping[str, np.ndarray], programs: Mapping[str, int], library_X: Mapping,
                     library_clips: pd.DataFrame, pairs: Mapping, settings: dict, tasks) -> pd.DataFrame:
    """For each clip of ``sample`` (own-split test clips) queried with every modality: the style the method
    ``suggest`` = (name, its feature sets) suggests in the fold that held the clip out, the sketch ``assist``
    would make (the best reference of that fold's training and validation clips that has notes, moved toward
    the suggestion with ``settings['operators']``, toward the profile of that fold's clips of the style),
    rendered, its audio extracted as the workflow does, and heard by ``judge`` = (name, its feature sets).
    One row per clip: query, clip_id, fold, reference, suggested, moved (the reference was of another style, so
    the operators moved its notes), heard, agrees, n_styles."""
    from musicfusion.apps.restyle import (
        STYLE,
        Transfer,
        clip_quarters,
        judging_folds,
        probabilities,
        render_and_extract,
        style_profiles,
        transferred_notes,
    )

    held_out = judging_folds(fold_tables)
    method, keys = suggest
    judge_name, judge_keys = judge
    rows = []
    for clip_id in sample["clip_id"]:
        fold = held_out[clip_id]
        X, clips = folds_X[fold]
        at = np.flatnonzero(clips["clip_id"].to_numpy() == clip_id)
        proba, classes = probabilities(fold_models[method][fold][STYLE], {k: X[k][at] for k in keys}, STYLE, tasks)
        suggested = str(np.asarray(classes)[proba[0].argmax()])
        fold_table = fold_tables[fold]
        library = fold_table[fold_table["split"].isin(LIBRARY_SPLITS)]
        in_library = library_clips["clip_id"].isin(set(library["clip_id"]) & set(notes_of)).to_numpy()
        me = library_clips["clip_id"].to_numpy() == clip_id
        query = {m: x[me] for m, x in library_X.items() if m in pairs or m in ("audio", "score")}
        scores = reference_scores(query, {m: x[in_library] for m, x in library_X.items()}, pairs, "audio")[0]
        best = library_clips.loc[in_library, "clip_id"].to_numpy()[int(np.nanargmax(scores))]
        profile = style_profiles(notes_of, library[library["clip_id"].isin(list(notes_of))],
                                 settings["profile"])[suggested]
        operators = tuple(settings["operators"]) if suggested != str(library.set_index("clip_id").at[best, STYLE]) \
            else ()
        notes, program = transferred_notes(np.asarray(notes_of[best], dtype=np.float64), int(programs[best]),
                                           Transfer(best, STYLE, "assist", suggested, operators), profile,
                                           clip_quarters(settings["clip_seconds"]),
                                           int(settings["render"]["max_repeats"]))
        audio = render_and_extract([("sketch", notes, program, ("audio",))], settings["render"],
                                   settings["clip_seconds"], settings["preprocess"], settings["features"])["audio"]
        heard_X = {k: (audio.to_numpy() if k == "audio" else np.full((1, X[k].shape[1]), np.nan)) for k in judge_keys}
        p_heard, heard_classes = probabilities(fold_models[judge_name][fold][STYLE], heard_X, STYLE, tasks)
        heard = str(np.asarray(heard_classes)[p_heard[0].argmax()])
        rows.append({"query": ALL, "clip_id": clip_id, "fold": fold, "reference": best, "suggested": suggested,
                     "moved": bool(operators), "heard": heard, "agrees": heard == suggested, "n_styles": len(classes)})
    return pd.DataFrame(rows)
