"""Restyle on request (``musicfusion restyle``): one clip moved toward another style, rendered, and judged.

The source is a clip of the dataset or a score file. Its notes go through the workflow's own style transfer
(:mod:`musicfusion.apps.restyle`): the operators move them toward the target style's profile, learned from the
target style's training and validation clips of one fold, never from the clip judged; the result is fitted to
the preset's clip length and rendered exactly as collect renders a clip
(:func:`musicfusion.symbolic.render.render_clip`); the media's features are extracted as the workflow extracts
them (:func:`musicfusion.apps.restyle.render_and_extract`), and the fold models of
``style_transfer.judges`` give each judge's style probabilities before and after.

Which fold: a dataset clip is judged in the fold that held it out (:func:`musicfusion.apps.restyle.judging_folds`):
its models and its target profile never saw the clip. A score file is in no fold: fold
:data:`SCORE_FILE_FOLD` judges it. Its "before" is the source rendered the same way (``original.*``), so
that before and after are measured alike; it has no text, so a judge that reads only the text is left
out, and a fusion judge sees the text as absent (a row of NaN, as for a clip without text).

Every problem a user can cause (an unknown style, clip, operator or instrument, an unreadable score file,
a workflow that has not run) raises :class:`~musicfusion.apps.restyle.RestyleError` with a one-line message.
Nothing is left in ``--out`` unless every file was written: the files are made in a temporary folder beside
it, renamed into place at the end.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from musicfusion import MODALITIES
from musicfusion.apps.restyle import (
    INSTRUMENT,
    RENDERED,
    STYLE,
    TEMPO,
    RestyleError,
    Transfer,
    clip_quarters,
    content_measures,
    judging_folds,
    probabilities,
    render_and_extract,
    style_profiles,
    transferred_notes,
)
from musicfusion.data.scores import DURATION, ONSET
from musicfusion.plumbing.config import collect_settings, resolve_dataset, resolve_methods
from musicfusion.plumbing.paths import Layout
from musicfusion.symbolic.operators import ORDER
from musicfusion.symbolic.render import SECONDS_PER_QUARTER, note_events, render_clip

STYLE_TASK = "style"
# Operators --operators takes; the instrument and tempo have options of their own.
STYLE_OPERATORS = tuple(name for name in ORDER if name not in (INSTRUMENT, TEMPO))
DEFAULT_OPERATOR_SET = "all"  # params.yaml style_transfer.operator_sets
RESTYLED, ORIGINAL = "restyled", "original"
MEDIA_EXTENSIONS = ("mid", "wav", "mp4")  # the order files are listed in
PROBABILITIES = "probabilities.csv"
SCORE_FILE_FOLD = 0
SCORE_FILE_INSTRUMENT = "piano"
TRAINING_SPLITS = ("train", "validation")
TABLE_COLUMNS = ["source", "judge", "modalities", "fold", "source_style", "target_style", "p_source_before",
                 "p_source_after", "p_target_before", "p_target_after", "predicted_before", "predicted_after"]
DECIMALS = 3
CLIPS_SHOWN = 5  # clip ids named in an unknown-clip message


class WorkflowNotRunError(RestyleError):
    """A file the workflow writes is missing: the command needs a finished run."""


def run_hint(dataset: str) -> str:
    return f"run `snakemake --cores all --config dataset={dataset}` first"


@dataclass(frozen=True)
class RestyleRequest:
    """What to restyle: a dataset ``clip`` or a ``score`` file (one of them), toward style ``target``.

    ``operators``: style operators or operator-set names of params.yaml (None: the ``all`` set);
    ``instrument``: a collect.instruments name (None: the clip's own, piano for a score file);
    ``tempo``: a factor (2: twice as fast)."""

    target: str
    clip: str | None = None
    score: str | Path | None = None
    operators: tuple[str, ...] | None = None
    instrument: str | None = None
    tempo: float = 1.0


@dataclass(frozen=True)
class Restyled:
    """A finished transfer: what was done, where it was judged, and the files written."""

    dataset: str
    source: str  # the clip id, or the score file as given
    is_score_file: bool
    source_style: str  # "" for a score file: it has no label
    source_instrument: str
    target: str
    operators: tuple[str, ...]  # every operator applied, in the order applied
    instrument: str
    tempo: float
    fold: int
    profile_clips: tuple[str, ...]  # the clips the target profile was learned from
    content: dict  # chroma_similarity, melody_kept of the restyled notes against the source's
    table: pd.DataFrame  # TABLE_COLUMNS, one row per judge (probabilities.csv)
    out: Path
    files: tuple[str, ...]  # names of the files in ``out``
    remarks: tuple[str, ...] = field(default_factory=tuple)


# --- the request, checked -------------------------------------------------------------------------------------

def parse_operators(given, operator_sets) -> tuple[str, ...]:
    """The style operators of ``given`` (names of operators or of params.yaml operator sets; None: the ``all``
    set), each once, in the order applied (:data:`musicfusion.symbolic.operators.ORDER`)."""
    names = list(operator_sets[DEFAULT_OPERATOR_SET]) if given is None else [str(n).strip() for n in given]
    if not [n for n in names if n]:
        raise RestyleError(f"no operator given; choose from {list(STYLE_OPERATORS)} "
                           f"or an operator set {sorted(operator_sets)}")
    wanted = set()
    for name in filter(None, names):
        if name in (INSTRUMENT, TEMPO):
            raise RestyleError(f"{name!r} is not a style operator: set it with --{name}")
        members = operator_sets.get(name, [name]) if name not in STYLE_OPERATORS else [name]
        unknown = [m for m in members if m not in STYLE_OPERATORS]
        if unknown:
            raise RestyleError(f"unknown operator {name!r}; known: {', '.join(STYLE_OPERATORS)} "
                               f"(or an operator set of params.yaml: {', '.join(sorted(operator_sets))})")
        wanted.update(members)
    return tuple(name for name in ORDER if name in wanted)


def check_out(out: Path) -> None:
    if out.exists() and not out.is_dir():
        raise RestyleError(f"{out}: already exists and is not a folder; choose another --out")
    if out.is_dir() and any(out.iterdir()):
        raise RestyleError(f"{out}: already exists and is not empty; choose another --out or remove it")


def _require(paths, dataset: str) -> None:
    for path in paths:
        if not Path(path).is_file():
            raise WorkflowNotRunError(f"workflow not yet run: {path} is missing; {run_hint(dataset)}")


def _read(read, path, dataset: str):
    """``read(path)``, a damaged or unreadable file said in one line."""
    try:
        return read(path)
    except (OSError, ValueError, KeyError, EOFError, AttributeError, ImportError) as err:
        raise WorkflowNotRunError(f"{path}: cannot read it ({err}); {run_hint(dataset)}") from None


def read_score_file(path, min_notes: int) -> np.ndarray:
    from musicfusion.data.scores import ScoreError, read_score

    try:
        return read_score(path, min_notes)
    except ScoreError as err:
        raise RestyleError(f"cannot read the score file: {err}") from None
    except OSError as err:
        raise RestyleError(f"{path}: cannot read the score file ({err.strerror or err})") from None


def at_collect_pulse(notes: np.ndarray, pulse_bpm) -> np.ndarray:
    """A score file's notes (in its own quarter notes) at the middle of collect's pulse range: collect plays a
    clip with its pulse (the median time between onsets) at a tempo drawn from ``pulse_bpm``, so a score's
    notation (half notes, eighths) does not set how fast it plays. The middle, not a draw: the same file
    always sounds the same. Returns quarter notes of the rendered MIDI clock."""
    onsets = np.unique(notes[:, ONSET])
    gaps = np.diff(onsets)
    pulse = float(np.median(gaps[gaps > 0])) if (gaps > 0).any() else 1.0
    seconds_per_pulse = 60.0 / (sum(map(float, pulse_bpm)) / 2)
    scaled = np.asarray(notes, dtype=np.float64).copy()
    scaled[:, [ONSET, DURATION]] *= seconds_per_pulse / (pulse * SECONDS_PER_QUARTER)
    return scaled


# --- the run --------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Source:
    name: str  # the clip id, or the score file as given
    clip_id: str | None  # None for a score file
    notes: np.ndarray
    program: int
    style: str  # "" for a score file
    instrument: str
    fold: int


def _style_transfer_dataset(params: dict, dataset: str | None):
    spec = resolve_dataset(params, dataset)
    if not spec.is_preset:
        raise RestyleError(f"dataset {spec.name!r} is not a preset: style transfer renders as collect renders a "
                           f"preset (presets: {', '.join(sorted(params['collect']['presets']))})")
    if STYLE_TASK not in spec.tasks or "score" not in spec.modalities:
        raise RestyleError(f"dataset {spec.name!r} needs the {STYLE_TASK!r} task and the score for style transfer")
    return spec


def _checked_tempo(value) -> float:
    tempo = float(value)
    if not (math.isfinite(tempo) and tempo > 0):
        raise RestyleError(f"--tempo must be a positive factor (2: twice as fast), got {value}")
    return tempo


def _clip_source(clip_id: str, target: str, clips: pd.DataFrame, notes_of: dict, fold_tables: list,
                 manifest_path, dataset: str) -> _Source:
    from musicfusion.plumbing.files import read_table

    by_id = clips.set_index("clip_id")
    if clip_id not in by_id.index:
        shown = ", ".join(clips["clip_id"].head(CLIPS_SHOWN))
        raise RestyleError(f"unknown clip id {clip_id!r}: dataset {dataset!r} has {len(clips)} clips ({shown}, ...)")
    style = str(by_id.at[clip_id, STYLE_TASK])
    if target == style:
        others = ", ".join(sorted(set(clips[STYLE_TASK]) - {style}))
        raise RestyleError(f"clip {clip_id} is already {style}; choose another style: {others}")
    if clip_id not in notes_of:
        raise RestyleError(f"clip {clip_id} has no score notes in the workflow's score shards; it cannot be restyled")
    manifest = _read(read_table, manifest_path, dataset).set_index("clip_id")
    if clip_id not in manifest.index:
        raise WorkflowNotRunError(f"{manifest_path} has no clip {clip_id}; {run_hint(dataset)}")
    held_out = judging_folds(fold_tables)
    if clip_id not in held_out:
        raise RestyleError(f"clip {clip_id} is in no fold's test part: no fold model is unbiased about it")
    return _Source(clip_id, clip_id, np.asarray(notes_of[clip_id], dtype=np.float64),
                   int(manifest.at[clip_id, "program"]), style, str(manifest.at[clip_id, "instrument"]),
                   held_out[clip_id])


def _score_source(path, params: dict) -> _Source:
    notes = read_score_file(path, params["preprocess"]["score"]["min_notes"])
    program = int(params["collect"]["instruments"].get(SCORE_FILE_INSTRUMENT, 0))
    return _Source(str(path), None, at_collect_pulse(notes, params["collect"]["pulse_bpm"]), program, "",
                   SCORE_FILE_INSTRUMENT, SCORE_FILE_FOLD)


def target_profile(fold_table: pd.DataFrame, notes_of: dict, target: str, clip_id: str | None, settings: dict):
    """(the clips it is learned from, the profile) of ``target`` in one fold: its training and validation
    clips. The clip judged is in the fold's test part; it is dropped here all the same, so that the profile
    can never hold it."""
    training = fold_table[fold_table["split"].isin(TRAINING_SPLITS) & (fold_table[STYLE_TASK] == target)
                          & (fold_table["clip_id"] != clip_id)]
    training = training[training["clip_id"].isin(list(notes_of))]
    if not len(training):
        raise RestyleError(f"the judging fold has no {target} clip in its training and validation parts to "
                           "learn the style from")
    return tuple(training["clip_id"]), style_profiles(notes_of, training, settings["profile"])[target]


def _render(names, media: dict, render: dict, clip_seconds: float, params: dict, work: Path) -> dict:
    """Write each named clip's media into ``work`` as <name>.mid/.wav/.mp4, and return their features as the
    workflow extracts them (:func:`render_and_extract` renders them again, identically, in a folder of its own
    that it removes)."""
    try:
        for name in names:
            notes, program = media[name]
            for rel in render_clip(note_events(notes), program, work, name, render, clip_seconds).values():
                os.replace(work / rel, work / Path(rel).name)
        (work / "clips").rmdir()
        return render_and_extract([(name, *media[name], RENDERED) for name in names], render, clip_seconds,
                                  params["preprocess"], params["features"], work_dir=work)
    except RuntimeError as err:  # FluidSynth or its soundfont missing, a video writer that cannot open
        raise RestyleError(f"cannot render: {str(err).splitlines()[0]}") from None


def _judge(models: dict, methods: dict, before: dict, after: dict, source: _Source, target: str,
           tasks) -> pd.DataFrame:
    """One row per judge: P(source style) and P(target) before and after, and the predicted style."""
    from musicfusion.models.fusion import decide  # scikit-learn: kept off `musicfusion`'s start-up

    rows = []
    for name, model in models.items():
        wanted = list(methods[name]["modalities"])
        p_before, classes = probabilities(model, {m: before[m] for m in wanted}, STYLE_TASK, tasks)
        p_after, _ = probabilities(model, {m: after[m] for m in wanted}, STYLE_TASK, tasks)
        column = {str(label): j for j, label in enumerate(classes)}

        def p(proba, style):
            # A style the model never saw has probability 0; a score file's source style is unknown.
            return float(proba[0, column[style]]) if style in column else (0.0 if style else np.nan)

        rows.append({"source": source.name, "judge": name, "modalities": "+".join(wanted), "fold": source.fold,
                     "source_style": source.style, "target_style": target,
                     "p_source_before": p(p_before, source.style), "p_source_after": p(p_after, source.style),
                     "p_target_before": p(p_before, target), "p_target_after": p(p_after, target),
                     "predicted_before": decide(p_before, classes)[0][0],
                     "predicted_after": decide(p_after, classes)[0][0]})
    return pd.DataFrame(rows, columns=TABLE_COLUMNS)


def restyle_request(params: dict, request: RestyleRequest, out: str | Path, root: str | Path = ".",
                    dataset: str | None = None) -> Restyled:
    """Restyle one clip or score file as ``request`` says, write its media and probabilities.csv to ``out``
    (a new or empty folder) and return what was done. ``root`` is the project folder; ``dataset`` overrides
    params.yaml's ``dataset``."""
    from musicfusion.features.matrices import load_features, modality_file
    from musicfusion.features.shards import clips_by_id
    from musicfusion.plumbing.files import atomic_folder, load_npz, load_pickle, read_table, write_csv

    root, out = Path(root), Path(out)
    spec = _style_transfer_dataset(params, dataset)
    if (request.clip is None) == (request.score is None):
        raise RestyleError("give exactly one of a clip id (--clip) or a score file (--score)")
    check_out(out)
    settings = params["style_transfer"]
    style_ops = parse_operators(request.operators, settings["operator_sets"])
    tempo = _checked_tempo(request.tempo)
    instruments = params["collect"]["instruments"]
    if request.instrument is not None and request.instrument not in instruments:
        raise RestyleError(f"unknown instrument {request.instrument!r}; known: {', '.join(sorted(instruments))}")

    layout = Layout(spec.name, str(root))
    features = Path(layout.features)
    n_folds = int(params["evaluate"]["folds"]) * int(params["evaluate"]["repetitions"])
    fold_files = [features / f"fold-{i}" / "clips.csv" for i in range(n_folds)]
    methods, _ = resolve_methods(params["methods"], spec.modalities, spec.methods)
    judges = [name for name in settings["judges"] if name in methods]
    if not judges:
        raise RestyleError(f"no method of style_transfer.judges {list(settings['judges'])} runs on dataset "
                           f"{spec.name!r}")
    model_files = {name: Path(layout.models) / name / "fold_models.pkl" for name in judges}
    _require([layout.manifest, features / "clips.csv", *fold_files, *model_files.values()], spec.name)
    shard_pattern = layout.interim_shard("score", "*")
    shards = sorted(Path(shard_pattern).parent.glob(Path(shard_pattern).name))
    if not shards:
        raise WorkflowNotRunError(f"workflow not yet run: no score shard {shard_pattern}; {run_hint(spec.name)}")

    clips = _read(read_table, features / "clips.csv", spec.name)
    styles = sorted(set(clips[STYLE_TASK]))
    if request.target not in styles:
        raise RestyleError(f"unknown style {request.target!r}; the styles of dataset {spec.name!r}: "
                           f"{', '.join(styles)}")
    notes_of = clips_by_id((_read(load_npz, path, spec.name) for path in shards), "score")
    fold_tables = [_read(read_table, path, spec.name) for path in fold_files]

    remarks = []
    if request.clip is not None:
        source = _clip_source(str(request.clip), request.target, clips, notes_of, fold_tables, layout.manifest,
                              spec.name)
    else:
        source = _score_source(request.score, params)
        remarks.append(f"a score file is in no fold: the models of fold {source.fold} judge it, and the "
                       f"{request.target} profile is learned from that fold's training and validation clips")
        # Leaving the text absent (NaN, as for a clip without text) is what the fusion judges are built
        # for; a judge of the text alone would then have nothing to judge, so it is left out.
        text_only = [name for name in judges if set(methods[name]["modalities"]) <= {"text"}]
        if text_only:
            remarks.append(f"left out: {', '.join(text_only)} (a score file has no text); the fusion judges see "
                           "its text as absent, as they see a clip without text")
        judges = [name for name in judges if name not in text_only]
        if not judges:
            raise RestyleError("every judge of style_transfer.judges reads only the text, which a score file lacks")
    profile_clips, profile = target_profile(fold_tables[source.fold], notes_of, request.target, source.clip_id,
                                            settings)

    instrument = request.instrument or source.instrument
    program = int(instruments[instrument]) if instrument in instruments else source.program
    operators, by_operator = style_ops, {}
    if program != source.program:
        operators, by_operator = operators + (INSTRUMENT,), {**by_operator, INSTRUMENT: {"program": program}}
    if tempo != 1.0:
        operators, by_operator = operators + (TEMPO,), {**by_operator, TEMPO: {"factor": tempo}}
    render = collect_settings(params, spec.name)
    clip_seconds = float(params["collect"]["presets"][spec.name]["clip_seconds"])
    quarters, max_repeats = clip_quarters(clip_seconds), int(render["max_repeats"])
    source_notes = source.notes
    try:
        restyled = transferred_notes(source_notes, source.program,
                                     Transfer(source.clip_id or RESTYLED, STYLE, "custom", request.target, operators,
                                              by_operator), profile, quarters, max_repeats)
        if source.clip_id is None:
            # The score file through the same steps without an operator: the clip it would be in the dataset.
            source_notes, _ = transferred_notes(source_notes, source.program, Transfer(ORIGINAL, STYLE, "none", "", ()),
                                                None, quarters, max_repeats)
    except ValueError as err:
        raise RestyleError(f"cannot restyle {source.name}: {err}") from None

    # Only the judges' fold models, and of their modalities only the judging fold's features.
    models = {}
    for name in judges:
        fold_models = _read(load_pickle, model_files[name], spec.name)
        if len(fold_models) != n_folds:
            raise WorkflowNotRunError(f"{model_files[name]} holds {len(fold_models)} folds, params.yaml asks for "
                                      f"{n_folds}; {run_hint(spec.name)}")
        models[name] = fold_models[source.fold][STYLE_TASK]
    modalities = [m for m in MODALITIES if any(m in methods[name]["modalities"] for name in judges)]
    _require([modality_file(features, m, source.fold) for m in modalities], spec.name)
    X, fold_clips = _read(lambda d: load_features(d, modalities, source.fold, complete=False), features, spec.name)
    if source.clip_id is not None:
        rows = np.flatnonzero(fold_clips["clip_id"].to_numpy() == source.clip_id)
        if not len(rows):
            raise WorkflowNotRunError(f"{fold_files[source.fold]} has no clip {source.clip_id}; {run_hint(spec.name)}")

    with atomic_folder(out) as work:
        names = [RESTYLED] if source.clip_id else [ORIGINAL, RESTYLED]
        rendered = _render(names, {RESTYLED: restyled, ORIGINAL: (source_notes, source.program)}, render,
                           clip_seconds, params, work)
        for m in RENDERED:
            if m in X and rendered[m].shape[1] != X[m].shape[1]:
                raise RestyleError(f"the rendered clip has {rendered[m].shape[1]} {m} features, the workflow's "
                                   f"have {X[m].shape[1]}: params.yaml features changed since; {run_hint(spec.name)}")
        if source.clip_id is not None:
            before = {m: np.asarray(X[m][rows[:1]], dtype=np.float64) for m in modalities}
        else:
            before = {m: np.full((1, X[m].shape[1]), np.nan) for m in modalities}  # the text stays absent
            before.update({m: rendered[m].loc[[ORIGINAL]].to_numpy() for m in RENDERED if m in modalities})
        # The text is the source's: a transfer changes the music, not the words.
        after = {**before, **{m: rendered[m].loc[[RESTYLED]].to_numpy() for m in RENDERED if m in modalities}}
        table = _judge(models, methods, before, after, source, request.target, spec.tasks)
        write_csv(work / PROBABILITIES, table)
    files = tuple(f"{name}.{ext}" for name in names for ext in MEDIA_EXTENSIONS) + (PROBABILITIES,)
    return Restyled(spec.name, source.name, source.clip_id is None, source.style, source.instrument, request.target,
                    operators, instrument, tempo, source.fold, profile_clips,
                    content_measures(source_notes, restyled[0]), table, out, files, tuple(remarks))


# --- the report -----------------------------------------------------------------------------------------------

def _change(before, after, decimals: int = DECIMALS) -> str:
    if isinstance(before, float):
        return "-" if np.isnan(before) else f"{before:.{decimals}f} -> {after:.{decimals}f}"
    return f"{before or '(none)'} -> {after or '(none)'}"


def format_summary(result: Restyled) -> str:
    """What was done, one line per judge (P(source style), P(target style) and the prediction, before -> after),
    and the files written."""
    if result.is_score_file:
        what = f"Score file {result.source} (rendered as {result.source_instrument}: original.*)"
    else:
        what = f"Clip {result.source} ({result.source_style}, {result.source_instrument}) of dataset {result.dataset!r}"
    controls = []
    if INSTRUMENT in result.operators:
        controls.append(f"played by {result.instrument}")
    if TEMPO in result.operators:
        controls.append(f"{result.tempo:g} times as fast")
    style_ops = [op for op in result.operators if op in STYLE_OPERATORS]
    lines = [f"{what} moved toward {result.target} with {', '.join(style_ops)}"
             + (f"; {', '.join(controls)}" if controls else "") + "."]
    if result.is_score_file:
        lines.append(f"Judged in fold {result.fold}; the {result.target} profile is learned from "
                     f"{len(result.profile_clips)} clips of its training and validation parts.")
    else:
        lines.append(f"Judged in fold {result.fold}, the first that held the clip out; the {result.target} profile "
                     f"is learned from that fold's {len(result.profile_clips)} training and validation "
                     f"{result.target} clips.")
    lines += [f"Note: {remark}." for remark in result.remarks]
    lines.append(f"Content kept: chroma similarity {result.content['chroma_similarity']:.{DECIMALS}f}, "
                 f"melody kept {result.content['melody_kept']:.{DECIMALS}f}.")
    header = ["judge"] + ([f"P({result.source_style})"] if not result.is_score_file else [])
    header += [f"P({result.target})", "predicted"]
    cells = []
    for row in result.table.itertuples(index=False):
        cells.append([row.judge] + ([_change(row.p_source_before, row.p_source_after)]
                                    if not result.is_score_file else [])
                     + [_change(row.p_target_before, row.p_target_after),
                        _change(row.predicted_before, row.predicted_after)])
    widths = [max(len(r[j]) for r in [header, *cells]) for j in range(len(header))]
    lines.append("")
    lines += ["  ".join(cell.ljust(w) for cell, w in zip(r, widths)).rstrip() for r in [header, *cells]]
    lines.append("")
    lines.append(f"Wrote {result.out}/: {', '.join(result.files)}")
    return "\n".join(lines)
