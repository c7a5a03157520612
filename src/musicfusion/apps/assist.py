"""Creation assistance (``musicfusion assist``): from a video, lyrics, a recording or a score to suggestions a
creator can hear.

Each query modality goes through exactly the workflow's preprocessing and feature extractors
(:mod:`musicfusion.data.preprocess`, :mod:`musicfusion.features`). Then:

- **suggestions**: for each task, the probabilities of the fusion method that scored best on validation
  (summary.csv), from its *final* model (rule ``final_model``: the configuration chosen on the dataset's own
  validation split, refitted on every labelled clip). A modality the query lacks is absent, as for a clip
  without it (a row of NaN), which every fusion method handles by design. How far to trust it: that method's
  top-label accuracy, confidence and calibration on the test folds (predictions.csv);
- **tempo**, in pulses a minute, from what the query carries (:mod:`musicfusion.features.tempo`): the score's
  notes at its own tempo, else onsets in the audio, else motion in the video; none from text;
- **references**: the library clips whose sound best matches the query, through the cross-modal mapping of
  each query modality into the audio (``transfer`` models; the audio itself is compared directly, a score with
  the library's scores), the similarities averaged over the query's modalities;
- **a sketch**: the best reference's notes moved to the suggested style (the style-transfer operators, toward
  the profile of that style's training and validation clips), instrument and tempo, rendered as collect
  renders a clip (MIDI, WAV, MP4, and a WebM a browser plays); a preset's only, as rendering needs its
  settings;
- **a page**, ``index.html`` (:mod:`musicfusion.apps.assist_page`).

Every problem a user can cause raises :class:`AssistError` with a one-line message; nothing is left in
``--out`` unless every file was written (a temporary folder beside it is renamed at the end).
"""

from __future__ import annotations

import hashlib
import math
import os
import shutil
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from musicfusion import MODALITIES, modality_of

QUERY_ID = "query"
# Where the query's tempo is read, best first: a score states its notes' times; audio onsets are heard.
TEMPO_SOURCES = ("score", "audio", "video")
TEMPO_SOURCE_NAMES = {"score": "the score's notes", "audio": "onsets in the audio",
                      "scroll": "the notes scrolling in the video", "motion": "motion in the video"}
SKETCH = "sketch"
REFERENCES_DIR = "references"
SUGGESTIONS_FILE = "suggestions.csv"
REFERENCES_FILE = "references.csv"
FUSION_KIND = "fusion"  # summary.csv's kind of the methods that fuse modalities
TARGET = "audio"  # references are ranked by what they sound like
BROWSER_VIDEO_CACHE = "browser_video"  # under data/processed/<dataset>/
BROWSER_VIDEO_SUFFIX = ".webm"
DECIMALS = 3


class AssistError(Exception):
    """A problem with the query or the project, explained in one line."""


def run_hint(dataset: str) -> str:
    return f"run `snakemake --cores all --config dataset={dataset}` first"


@dataclass(frozen=True)
class AssistQuery:
    """What a creator brings: any of a video file, a text (lyrics or a title), an audio file and a score file."""

    video: str | Path | None = None
    text: str | None = None
    audio: str | Path | None = None
    score: str | Path | None = None

    def given(self) -> dict[str, object]:
        """{modality: file or text} of what was given, in the usual modality order."""
        return {m: getattr(self, m) for m in MODALITIES if getattr(self, m) is not None}


@dataclass(frozen=True)
class Assisted:
    """The answer: what was suggested, from what, and the files written."""

    dataset: str
    query: dict
    suggestions: dict  # task -> [(label, probability)], most likely first
    methods: dict  # task -> the fusion method that made the suggestion
    trust: dict  # task -> a sentence
    tempo: float | None
    tempo_source: str
    references: pd.DataFrame
    sketch: str  # what the sketch is, or why there is none
    out: Path
    files: tuple[str, ...]
    seconds: float  # from models loaded to the answer written
    remarks: tuple[str, ...] = field(default_factory=tuple)


# --- the query's features ---------------------------------------------------------------------------------------

def _checked_file(path) -> Path:
    path = Path(path)
    if not path.is_file():
        raise AssistError(f"{path}: file not found")
    if path.stat().st_size == 0:
        raise AssistError(f"{path}: empty file")
    return path


def load_query_media(modality: str, path, params: dict):
    """A media query (audio, video or score file) read as the workflow reads a clip of that modality:
    the decoded signal, grey frames or note array."""
    from musicfusion.data.preprocess import (
        BadClipError,
        clip_limits,
        extractor_minimums,
        load_audio,
        load_score,
        load_video,
    )

    path = _checked_file(path)
    prep = params["preprocess"]
    os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")  # FFmpeg's own complaint beside our one line
    try:
        if modality == "score":
            return load_score(QUERY_ID, path, prep["score"])
        limits = clip_limits(prep, extractor_minimums(params["features"], prep, [modality]))
        if modality == "audio":
            return load_audio(QUERY_ID, path, limits, prep["audio"])
        return load_video(QUERY_ID, path, limits, prep["video"])
    except BadClipError as err:
        raise AssistError(f"{err.path}: {err.problem}") from None


def media_features(key: str, media, params: dict) -> np.ndarray:
    """Feature set ``key`` (1, d) of one decoded query, by the extractor the workflow uses."""
    from musicfusion.features.shards import extract_clip

    return np.asarray(extract_clip(key, media, params["features"], params["preprocess"]), dtype=np.float64)


def text_features(text: str, params: dict, vectorizer_path: Path) -> np.ndarray:
    from musicfusion.apps.recommend import RecommendError, text_query_features

    try:
        return np.asarray(text_query_features(text, params, vectorizer_path), dtype=np.float64)
    except RecommendError as err:
        raise AssistError(str(err)) from None


# --- the answer's parts ---------------------------------------------------------------------------------------

def best_fusion_methods(summary: pd.DataFrame, tasks, selection_metric: str, methods: dict,
                        query_modalities) -> dict[str, str]:
    """Per task, the fusion method with the best validation score among those that read every modality of the
    query (nothing the creator gave is ignored), else among those that read any of them; ties: the first in
    summary order. ``methods``: the dataset's resolved entries."""
    column = f"validation_{selection_metric}"
    wanted = set(query_modalities)
    chosen = {}
    for task in tasks:
        rows = summary[(summary["task"] == task) & (summary["kind"] == FUSION_KIND) & summary["method"].isin(methods)]
        reads = rows["method"].map(lambda name: {modality_of(k) for k in methods[name]["modalities"]})
        for usable in (reads.map(lambda have: wanted <= have), reads.map(lambda have: bool(wanted & have))):
            if usable.any():
                rows = rows[usable.to_numpy()]
                break
        else:
            raise AssistError(f"no fusion method of summary.csv reads {' or '.join(sorted(wanted))} for {task!r}")
        chosen[task] = str(rows.loc[pd.to_numeric(rows[column]).idxmax(), "method"])
    return chosen


def _warm_up(params: dict) -> None:
    """Import what answering uses (librosa's onset and tempo code, OpenCV, the MIDI writer), so that the
    answer's time is its own work."""
    import cv2  # noqa: F401
    import librosa.onset  # noqa: F401
    import mido  # noqa: F401
    import soundfile  # noqa: F401

    from musicfusion.features import tempo

    rate = int(params["preprocess"]["audio"]["sample_rate"])
    tone = 0.1 * np.sin(2 * np.pi * 440.0 * np.arange(rate) / rate).astype(np.float32)
    tempo.tempo_from_audio(tone, rate, params["assist"]["tempo"]["audio"])


def trust_sentence(predictions: pd.DataFrame, task: str, method: str, n_bins: int) -> str:
    """How often the method's top suggestion was right on the test folds, how sure it was, and its ECE."""
    from musicfusion.evaluation.calibration import confidence_table, table_ece

    rows = predictions[(predictions["split"] == "test") & (predictions["configuration"] == "tuned")
                       & (predictions["task"] == task)]
    # predictions.csv read as text: a clip the method gave no prediction has an empty confidence.
    confidence = pd.to_numeric(rows["confidence"], errors="coerce")
    rows = rows.assign(confidence=confidence)[confidence.notna().to_numpy()]
    if not len(rows):
        return f"{method} has no test predictions for {task}"
    correct = (rows["predicted"].astype(str) == rows["true"].astype(str)).to_numpy()
    ece = table_ece(confidence_table(rows["confidence"].to_numpy(), correct, n_bins))
    return (f"{method}, the fusion method best on validation of those reading this query: on the test folds, "
            f"with every modality present, "
            f"its top suggestion was right {correct.mean():.0%} of the time at a mean confidence of "
            f"{rows['confidence'].mean():.2f} (expected calibration error {ece:.3f}); with fewer modalities, "
            f"expect less")


def query_tempo(media: dict, params: dict, score_seconds_per_quarter: float | None = None) -> tuple[float | None, str]:
    """(pulses a minute, where it was read) from the first of :data:`TEMPO_SOURCES` the query has, or
    (None, why not). A score's notes are timed by ``score_seconds_per_quarter`` (its own tempo), by default
    the MIDI clock of the presets' scores."""
    from musicfusion.features import tempo
    from musicfusion.symbolic.render import SECONDS_PER_QUARTER

    settings = params["assist"]["tempo"]
    for modality in TEMPO_SOURCES:
        if modality not in media:
            continue
        if modality == "score":
            value = tempo.tempo_from_score(media["score"], score_seconds_per_quarter or SECONDS_PER_QUARTER,
                                           settings["score"])
        elif modality == "audio":
            value = tempo.tempo_from_audio(media["audio"], params["preprocess"]["audio"]["sample_rate"],
                                           settings["audio"])
        else:  # the workflow's frames, at its preprocessing rate
            value = tempo.tempo_from_video(media["video"], float(params["preprocess"]["video"]["fps"]),
                                           settings["video"])
        if math.isfinite(value):
            return float(value), TEMPO_SOURCE_NAMES[settings["video"]["method"] if modality == "video" else modality]
    if not media:
        return None, "text carries no tempo"
    return None, f"no steady pulse found in the {' or '.join(m for m in TEMPO_SOURCES if m in media)}"


def cached_browser_video(source: Path, target: Path, cache: Path) -> Path:
    """``source`` as a browser-playable video at ``target``, encoded once per content into ``cache``."""
    from musicfusion.apps.assist_page import browser_video

    digest = hashlib.sha1(source.read_bytes()).hexdigest()[:20]
    kept = cache / f"{digest}{BROWSER_VIDEO_SUFFIX}"
    if not kept.is_file():
        cache.mkdir(parents=True, exist_ok=True)
        browser_video(source, kept)  # written atomically: a cache file is whole or absent
    shutil.copyfile(kept, target)
    return target


def _score_tempo(path) -> float | None:
    """A score file's seconds per quarter note from its own tempo (None: no score, or none readable)."""
    from musicfusion.data.scores import seconds_per_quarter
    from musicfusion.symbolic.render import SECONDS_PER_QUARTER

    if path is None:
        return None
    try:
        return seconds_per_quarter(path, SECONDS_PER_QUARTER)
    except Exception:  # noqa: BLE001 - the notes were read already; a tempo music21 cannot read is the default
        return None


def reference_similarities(query_X: dict, library_X: dict, pairs: dict, target: str = TARGET) -> dict:
    """{query modality: (n_queries, n_library) similarities} by which references are ranked: a modality of
    ``pairs`` (its transfer bundle into ``target``: video, text) through the best mapping on validation, cosine
    in its space; audio and score against the library's own, standardised with the library's mean and spread,
    cosine. A query row or library row of NaN (absent) gives NaN."""
    found = {}
    for m, Q in query_X.items():
        Q = np.asarray(Q, dtype=np.float64)
        if m in pairs:
            mapping = pairs[m]["mappings"][pairs[m]["best_on_validation"]]
            library = library_X[target]
            have = ~np.isnan(library).any(axis=1)
            gallery, embed = mapping.embed_target(library[have]), mapping.embed_source
        else:
            library = library_X[m]
            mean, std = np.nanmean(library, axis=0), np.nanstd(library, axis=0)
            std[~(std > 0)] = 1.0  # a constant column is scaled by 1
            have = np.ones(len(library), dtype=bool)
            gallery = (library - mean) / std

            def embed(rows, mean=mean, std=std):
                return (rows - mean) / std
        block = np.full((len(Q), len(library)), np.nan)
        if have.any():
            for i in np.flatnonzero(~np.isnan(Q).any(axis=1)):
                block[i, have] = similarities(embed(Q[i:i + 1]), gallery)
        found[m] = block
    return found


def similarities(query: np.ndarray, library: np.ndarray) -> np.ndarray:
    """Cosine similarity (n_library,) of a query row and library rows (NaN for a library row of NaN)."""
    norms = np.linalg.norm(library, axis=1) * np.linalg.norm(query)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (library @ query.ravel()) / norms


# --- the run ----------------------------------------------------------------------------------------------------

def _read(read, path, dataset: str):
    try:
        return read(path)
    except FileNotFoundError:
        raise AssistError(f"{path}: not found; the models are not built: {run_hint(dataset)}") from None
    except (OSError, ValueError, KeyError, EOFError) as err:
        raise AssistError(f"{path}: cannot read ({err}); {run_hint(dataset)}") from None


def _check_out(out: Path) -> None:
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise AssistError(f"{out}: exists and is not an empty folder; choose a new --out")


def assist(params: dict, query: AssistQuery, out: str | Path, root: str | Path = ".", dataset: str | None = None,
           top: int | None = None) -> Assisted:
    """Answer ``query`` into the folder ``out`` (new or empty) and return what was done. ``root`` is the project
    folder; ``dataset`` overrides params.yaml's ``dataset``; ``top``: references shown (params.yaml
    ``assist.top``)."""
    from musicfusion.apps.assist_page import AssistPage, Reference, Sketch, browser_video, write_page
    from musicfusion.apps.restyle import probabilities
    from musicfusion.crossmodal.experiment import load_bundle
    from musicfusion.features.matrices import load_features, modality_file
    from musicfusion.plumbing.config import ConfigError, resolve_dataset, resolve_methods
    from musicfusion.plumbing.files import atomic_folder, load_npz, load_pickle, read_table, write_csv
    from musicfusion.plumbing.paths import Layout

    settings = params["assist"]
    top = int(settings["top"] if top is None else top)
    if top < 1:
        raise AssistError(f"--top must be at least 1, got {top}")
    given = query.given()
    if not given:
        raise AssistError("give at least one of --video, --text, --audio, --score")
    try:
        spec = resolve_dataset(params, dataset)
    except ConfigError as err:
        raise AssistError(str(err)) from None
    lacking = [m for m in given if m not in spec.modalities]
    if lacking:
        raise AssistError(f"dataset {spec.name!r} has no {' or '.join(lacking)} ({'+'.join(spec.modalities)}): "
                          f"its models cannot read such a query")
    out, root = Path(out), Path(root)
    _check_out(out)
    layout = Layout(spec.name, str(root))
    features, models_dir = Path(layout.features), Path(layout.models)

    # Loading: the models, the library and what the answer imports (librosa, OpenCV, FluidSynth's wrapper).
    summary = _read(read_table, Path(layout.results) / "summary.csv", spec.name)
    resolved, _ = resolve_methods(params["methods"], spec.modalities, spec.methods)
    methods = best_fusion_methods(summary, spec.tasks, params["evaluate"]["selection_metric"], resolved, given)
    method_entries = {name: resolved[name] for name in sorted(set(methods.values()))}
    keys = sorted({key for entry in method_entries.values() for key in entry["modalities"]})
    final = {name: _read(load_pickle, models_dir / name / "final_model.pkl", spec.name) for name in method_entries}
    predictions = {name: _read(read_table, models_dir / name / "predictions.csv", spec.name)
                   for name in method_entries}
    widths = {key: _read(lambda p: load_npz(p, ["X"])["X"].shape[1], modality_file(features, key), spec.name)
              for key in keys}
    library_keys = sorted({TARGET, *(m for m in given if m in ("audio", "score"))} & set(spec.modalities))
    library, clips = _read(lambda d: load_features(d, library_keys, complete=False), features, spec.name)
    pairs = {m: _read(load_bundle, Path(layout.transfer_model(f"{m}_to_{TARGET}")), spec.name)
             for m in given if m not in ("audio", "score")}
    manifest = _read(read_table, layout.manifest, spec.name).set_index("clip_id")
    _warm_up(params)
    started = time.perf_counter()

    # The query, read and described as the workflow reads and describes a clip.
    media = {m: load_query_media(m, source, params) for m, source in given.items() if m != "text"}
    X_query = {}
    for key in sorted(set(keys) | {m for m in given if m in ("audio", "score")}):
        modality = modality_of(key)
        if modality == "text" and "text" in given:
            X_query[key] = text_features(str(given["text"]), params, features / "text_vectorizer.pkl")
        elif modality in media:
            X_query[key] = media_features(key, media[modality], params)
    for key, X in X_query.items():
        if key in widths and X.shape[1] != widths[key]:
            raise AssistError(f"the query has {X.shape[1]} {key} features, the workflow's have {widths[key]}: "
                              f"params.yaml features changed since; {run_hint(spec.name)}")

    # Suggestions.
    suggestions, trust = {}, {}
    for task, name in methods.items():
        X = {key: X_query.get(key, np.full((1, widths[key]), np.nan)) for key in method_entries[name]["modalities"]}
        proba, classes = probabilities(final[name][task], X, task, spec.tasks)
        order = np.argsort(-proba[0], kind="stable")
        suggestions[task] = [(str(classes[j]), float(proba[0, j])) for j in order]
        trust[task] = trust_sentence(predictions[name], task, name, int(settings["calibration_bins"]))
    tempo, tempo_source = query_tempo(media, params, _score_tempo(given.get("score")))

    # References: the library clips that sound most like the query.
    scores = {m: block[0] for m, block in reference_similarities({m: X_query[m] for m in given}, library,
                                                                  pairs).items()}
    why = {m: f"its {m} is near yours" if m not in pairs else
           f"its audio is near your {m} through the {m}\u2192audio mapping ({pairs[m]['best_on_validation']})"
           for m in given}
    combined = np.nanmean(np.vstack(list(scores.values())), axis=0)
    ranked = [int(i) for i in np.argsort(-np.nan_to_num(combined, nan=-np.inf), kind="stable")
              if np.isfinite(combined[i])][:top]
    refs = clips.iloc[ranked].reset_index(drop=True)
    refs.insert(0, "score", combined[ranked].round(6))
    refs.insert(0, "rank", np.arange(1, len(refs) + 1))
    refs["why"] = ["; ".join(f"{why[m]} ({scores[m][i]:.{DECIMALS}f})" for m in scores if np.isfinite(scores[m][i]))
                   for i in ranked]

    with atomic_folder(out) as work:
        (work / REFERENCES_DIR).mkdir()
        page_refs, videos = [], []
        raw_root = Path(layout.manifest).parent
        for row in refs.itertuples(index=False):
            files = {}
            entry = manifest.loc[row.clip_id] if row.clip_id in manifest.index else None
            for m, ext in (("audio", None), ("video", BROWSER_VIDEO_SUFFIX)):
                source = entry.get(f"{m}_path") if entry is not None else None
                if not isinstance(source, str) or not source or not (raw_root / source).is_file():
                    continue
                name = f"{REFERENCES_DIR}/{row.clip_id}{ext or Path(source).suffix}"
                if m == "audio":
                    shutil.copyfile(raw_root / source, work / name)
                else:
                    videos.append((raw_root / source, work / name))
                files[m] = name
            page_refs.append(Reference(str(getattr(row, "title", "") or row.clip_id),
                                       str(getattr(row, "style", "")), str(getattr(row, "instrument", "")),
                                       float(row.score), row.why, files.get("audio"), files.get("video")))
        # The library's videos in a format browsers play, made once each (kept beside its features) and
        # side by side with rendering the sketch (OpenCV's encoder releases the GIL).
        cache = Path(layout.features).parent / BROWSER_VIDEO_CACHE
        with ThreadPoolExecutor(max_workers=max(1, min(len(videos), os.cpu_count() or 1))) as pool:
            encoded = [pool.submit(cached_browser_video, source, target, cache) for source, target in videos]
            sketch, sketch_text = _sketch(params, spec, refs, suggestions, tempo, manifest, work, layout, clips)
            if sketch is not None and sketch.video:
                browser_video(work / sketch.video, work / f"{SKETCH}{BROWSER_VIDEO_SUFFIX}")
                sketch = Sketch(sketch.description, sketch.audio, f"{SKETCH}{BROWSER_VIDEO_SUFFIX}", sketch.midi)
            for job in encoded:
                job.result()
        write_csv(work / SUGGESTIONS_FILE, pd.DataFrame(
            [{"task": task, "method": methods[task], "label": label, "probability": round(p, 6)}
             for task, pairs in suggestions.items() for label, p in pairs]))
        write_csv(work / REFERENCES_FILE, refs)
        shown = {m: (str(v) if m == "text" else Path(str(v)).name) for m, v in given.items()}
        write_page(AssistPage(query=shown, suggestions=suggestions, trust=trust, tempo=tempo,
                              tempo_source=tempo_source, references=page_refs, sketch=sketch,
                              notes=[f"dataset {spec.name}; suggestions by " + ", ".join(
                                  f"{methods[t]} ({t})" for t in methods)]), work)
    files = tuple(sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file()))
    return Assisted(spec.name, {m: str(v) for m, v in given.items()}, suggestions, methods, trust, tempo,
                    tempo_source, refs, sketch_text, out, files, time.perf_counter() - started)


def _sketch(params, spec, refs, suggestions, tempo, manifest, work, layout, clips):
    """(the page's Sketch, a sentence) for the best reference with notes, or (None, why there is none)."""
    from musicfusion.apps.assist_page import Sketch
    from musicfusion.apps.restyle import (
        INSTRUMENT,
        STYLE,
        TEMPO,
        Transfer,
        clip_quarters,
        style_profiles,
        transferred_notes,
    )
    from musicfusion.features.shards import clips_by_id
    from musicfusion.plumbing.config import collect_settings
    from musicfusion.plumbing.files import load_npz
    from musicfusion.symbolic.render import note_events, render_clip

    if not spec.is_preset or "score" not in spec.modalities:
        return None, "no sketch: rendering one needs a preset with scores (its soundfont, video and clip length)"
    shards = sorted(Path(layout.interim_shard("score", "000")).parent.glob("shard-*.npz"))
    notes_of = clips_by_id((load_npz(path) for path in shards), "score")
    candidates = [c for c in refs["clip_id"] if c in notes_of and c in manifest.index]
    if not candidates:
        return None, "no sketch: no reference has notes"
    clip_id = candidates[0]
    source = manifest.loc[clip_id]
    render = collect_settings(params, spec.name)
    operators, by_operator, moves = (), {}, []
    target = suggestions.get(STYLE, [(str(source.get(STYLE, "")), 1.0)])[0][0]
    profile = None
    if STYLE in suggestions and target != str(source.get(STYLE, "")):
        profile_clips = clips[clips["split"].isin(("train", "validation")) & (clips[STYLE] == target)
                              & clips["clip_id"].isin(list(notes_of))]
        if len(profile_clips):
            operators = tuple(params["style_transfer"]["operator_sets"][params["assist"]["operator_set"]])
            profile = style_profiles(notes_of, profile_clips, params["style_transfer"]["profile"])[target]
            moves.append(f"moved from {source.get(STYLE)} toward {target}")
    program = int(source["program"])
    if INSTRUMENT in suggestions:
        instrument = suggestions[INSTRUMENT][0][0]
        wanted = params["collect"]["instruments"].get(instrument)
        if wanted is not None and int(wanted) != program:
            operators += (INSTRUMENT,)
            by_operator[INSTRUMENT] = {"program": int(wanted)}
            moves.append(f"played on {instrument}")
    pulse = float(source.get("pulse_bpm", float("nan")))
    if tempo is not None and math.isfinite(pulse) and pulse > 0:
        operators += (TEMPO,)
        by_operator[TEMPO] = {"factor": tempo / pulse}
        moves.append(f"at {tempo:.0f} pulses a minute (from {pulse:.0f})")
    clip_seconds = float(params["collect"]["presets"][spec.name]["clip_seconds"])
    notes, program = transferred_notes(np.asarray(notes_of[clip_id], dtype=np.float64), program,
                                       Transfer(clip_id, STYLE, "assist", target, operators, by_operator), profile,
                                       clip_quarters(clip_seconds), int(render["max_repeats"]))
    try:
        paths = render_clip(note_events(notes), program, work, SKETCH, render, clip_seconds)
    except RuntimeError as err:
        raise AssistError(f"cannot render the sketch: {str(err).splitlines()[0]}") from None
    for rel in paths.values():
        os.replace(work / rel, work / Path(rel).name)
    (work / "clips").rmdir()
    title = str(source.get("title", clip_id))
    text = f"the notes of {title!r} ({clip_id}), " + (", ".join(moves) if moves else "as they are")
    return Sketch(text, f"{SKETCH}.wav", f"{SKETCH}.mp4", f"{SKETCH}.mid"), text


def format_summary(result: Assisted) -> str:
    """What ``musicfusion assist`` prints."""
    lines = [f"dataset {result.dataset}; query: " + ", ".join(
        f"{m} {v!r}" if m == "text" else f"{m} {Path(v).name}" for m, v in result.query.items())]
    for task, pairs in result.suggestions.items():
        best = ", ".join(f"{label} {p:.{DECIMALS}f}" for label, p in pairs[:3])
        lines += [f"{task}: {best}  [{result.methods[task]}]", f"  {result.trust[task]}"]
    lines.append(f"tempo: {result.tempo:.1f} pulses a minute, from {result.tempo_source}" if result.tempo is not None
                 else f"tempo: none ({result.tempo_source})")
    lines.append("references:")
    for row in result.references.itertuples(index=False):
        labels = " ".join(str(getattr(row, c)) for c in ("style", "instrument") if hasattr(row, c))
        lines.append(f"  {row.rank}. {row.clip_id} {labels} {row.score:.{DECIMALS}f}  {getattr(row, 'title', '')}")
    lines += [f"sketch: {result.sketch}", f"wrote {result.out}/index.html and {len(result.files) - 1} more files "
              f"({result.seconds:.2f} s after the models were loaded)"]
    return "\n".join(lines)
