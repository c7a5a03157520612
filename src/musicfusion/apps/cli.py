"""The ``musicfusion`` command: one subcommand per task a user runs outside the workflow.

    musicfusion manifest my_songs/ --name my_songs --label-column genre
    musicfusion recommend --video clip.mp4 [--top 5] [--target audio]
    musicfusion recommend --text "a slow chorale for organ" --json
    musicfusion restyle --clip chorale-0010 --to chinese_folk [--instrument flute] [--tempo 1.25] --out DIR
    musicfusion restyle --score my_tune.mid --to fiddle_tune [--operators scale,rhythm] --out DIR
    musicfusion assist --video scene.mp4 [--text "lyrics"] [--audio take.wav] [--score tune.mid] --out DIR

`manifest` builds a dataset's manifest from a folder of files; `recommend`, `restyle` and `assist` run
from the project folder (where params.yaml is), after the workflow has run. A problem with the
input prints one line to stderr and exits with status 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from musicfusion import MODALITIES

EXIT_ERROR = 2  # like argparse's own usage errors
DEFAULT_TOP = 5
DEFAULT_TARGET = "audio"


def _positive_int(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {value!r}") from None
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {number}")
    return number


def _add_project_options(parser) -> None:
    """--params and --dataset: which project and dataset a command works on, after the workflow ran."""
    parser.add_argument("--params", metavar="PATH", default="params.yaml",
                        help="the project's params.yaml; its folder is the project folder "
                             "(default: params.yaml here)")
    parser.add_argument("--dataset", metavar="NAME",
                        help="dataset to use instead of params.yaml's `dataset` (as with "
                             "`snakemake --config dataset=NAME`)")


def _project_params(args) -> tuple[Path, dict]:
    """The --params file and its settings, validated."""
    from musicfusion.plumbing.config import load_params

    params_path = Path(args.params)
    if not params_path.is_file():
        raise FileNotFoundError(f"{params_path}: params file not found; run from the project folder or "
                                "pass --params")
    return params_path, load_params(params_path)


def _add_recommend(subparsers) -> None:
    parser = subparsers.add_parser(
        "recommend", help="library clips that match a video or a text query",
        description="Rank the library's clips (of the --target modality) against a new video or text "
                    "query with the transfer mapping that scored best on the validation split, and "
                    "print the top ones. Needs the workflow's outputs (models/<dataset>/transfer/, "
                    "data/processed/<dataset>/features/).")
    query = parser.add_mutually_exclusive_group(required=True)
    query.add_argument("--video", metavar="PATH",
                       help="a video file (any format OpenCV's FFmpeg backend decodes), read as the "
                            "workflow reads a clip: at its real length (too short only below what its "
                            "video features need, or preprocess.min_seconds), cut to preprocess.max_seconds.")
    query.add_argument("--text", metavar="TEXT", help="a text, e.g. a title or lyrics")
    parser.add_argument("--top", type=_positive_int, default=DEFAULT_TOP,
                        help=f"how many clips to show (default {DEFAULT_TOP})")
    parser.add_argument("--target", choices=MODALITIES, default=DEFAULT_TARGET,
                        help=f"which modality of the library to match (default {DEFAULT_TARGET}); "
                             "the pair <query>->target must be in params.yaml transfer.pairs")
    _add_project_options(parser)
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.set_defaults(func=_run_recommend)


def _run_recommend(args) -> int:
    from musicfusion.apps.recommend import format_table, recommend
    params_path, params = _project_params(args)
    modality, query = ("video", args.video) if args.video is not None else ("text", args.text)
    found = recommend(params, modality, query, target=args.target, top=args.top,
                      root=params_path.resolve().parent, dataset=args.dataset)
    if args.json:
        print(json.dumps({"query": query, **found.as_dict()}, indent=2, ensure_ascii=False))
    else:
        print(f"Top {len(found.table)} {found.target} clips of dataset {found.dataset!r} for the {modality} "
              f"query {query!r} (mapping: {found.method}, best on validation):")
        print(format_table(found))
    return 0


def _add_restyle(subparsers) -> None:
    from musicfusion.apps.restyle_request import SCORE_FILE_FOLD, SCORE_FILE_INSTRUMENT, STYLE_OPERATORS

    parser = subparsers.add_parser(
        "restyle", help="move a clip toward another style, render it and judge it",
        description="Move a clip's notes toward another style with the style operators, render the result "
                    "as the preset's clips are rendered, and print how the style classifiers judge it "
                    "before and after (the fold models that held the clip out). Writes DIR/restyled.mid, "
                    ".wav, .mp4 and probabilities.csv (for a score file also original.*, the source "
                    "rendered the same way). Needs the workflow's outputs on a preset dataset.")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--clip", metavar="ID", help="a clip of the dataset, judged in the fold that held it out")
    source.add_argument("--score", metavar="PATH",
                        help="a score file (MIDI, MusicXML, kern, ABC...), played by "
                             f"{SCORE_FILE_INSTRUMENT} unless --instrument says otherwise and judged in fold "
                             f"{SCORE_FILE_FOLD}")
    parser.add_argument("--to", required=True, metavar="STYLE", dest="target",
                        help="the target style: one of the dataset's styles")
    parser.add_argument("--operators", metavar="LIST",
                        help=f"comma list of style operators ({','.join(STYLE_OPERATORS)}) or operator sets "
                             "of params.yaml style_transfer.operator_sets (default: the set `all`)")
    parser.add_argument("--instrument", metavar="NAME",
                        help="play it with this instrument of params.yaml collect.instruments (default: the "
                             f"clip's own; {SCORE_FILE_INSTRUMENT} for a score file)")
    parser.add_argument("--tempo", type=float, default=1.0, metavar="FACTOR",
                        help="play it this many times as fast (default 1)")
    parser.add_argument("--out", required=True, metavar="DIR", help="the folder to write (new or empty)")
    _add_project_options(parser)
    parser.set_defaults(func=_run_restyle)


def _run_restyle(args) -> int:
    from musicfusion.apps.restyle_request import RestyleRequest, format_summary, restyle_request
    params_path, params = _project_params(args)
    operators = None if args.operators is None else tuple(args.operators.split(","))
    request = RestyleRequest(args.target, clip=args.clip, score=args.score, operators=operators,
                             instrument=args.instrument, tempo=args.tempo)
    result = restyle_request(params, request, args.out, root=params_path.resolve().parent, dataset=args.dataset)
    print(format_summary(result))
    return 0


def _add_assist(subparsers) -> None:
    parser = subparsers.add_parser(
        "assist", help="suggestions, references and a sketch to hear for a video, text, recording or score",
        description="Read the query as the workflow reads a clip and write DIR/index.html: the style and "
                    "instrument the best fusion method on validation suggests (its final model) and how far "
                    "to trust it, the query's tempo, the library clips that sound closest to it, and a sketch "
                    "(the best reference's notes moved to the suggestions, rendered to MIDI, WAV and video). "
                    "Needs the workflow's outputs, final models included.")
    parser.add_argument("--video", metavar="PATH", help="a video file")
    parser.add_argument("--text", metavar="TEXT", help="a text: lyrics or a title")
    parser.add_argument("--audio", metavar="PATH", help="an audio file (any format libsndfile reads)")
    parser.add_argument("--score", metavar="PATH", help="a score file (MIDI, MusicXML, kern, ABC...)")
    parser.add_argument("--top", type=_positive_int, metavar="K",
                        help="how many reference clips (default: params.yaml assist.top)")
    parser.add_argument("--out", required=True, metavar="DIR", help="the folder to write (new or empty)")
    _add_project_options(parser)
    parser.set_defaults(func=_run_assist)


def _run_assist(args) -> int:
    from musicfusion.apps.assist import AssistQuery, assist, format_summary

    params_path, params = _project_params(args)
    query = AssistQuery(video=args.video, text=args.text, audio=args.audio, score=args.score)
    result = assist(params, query, args.out, root=params_path.resolve().parent, dataset=args.dataset, top=args.top)
    print(format_summary(result))
    return 0


def _add_manifest(subparsers) -> None:
    from musicfusion.data.manifest_builder import DEFAULT_LABEL, DEFAULT_LAYOUT, LAYOUTS, MANIFEST_NAME

    parser = subparsers.add_parser(
        "manifest", help="write the manifest of a folder of media files",
        description="Pair the media files under ROOT into clips (files in one folder with the same "
                    "stem: x.wav, x.mp4, x.txt), write the manifest (ROOT/manifest.csv) and print the "
                    "`datasets:` entry to paste into params.yaml. Files it cannot use are listed on "
                    "stderr, and so are the audio and video files the workflow would refuse as bad "
                    "clips (an unreadable header, shorter than the feature extractors describe under "
                    "params.yaml): only their headers are read. The manifest is written all the same.")
    parser.add_argument("root", metavar="ROOT", help="the dataset's folder")
    parser.add_argument("--name", required=True, metavar="NAME",
                        help="the dataset's name in params.yaml (letters, digits, '_' and '-')")
    parser.add_argument("--layout", choices=LAYOUTS, default=DEFAULT_LAYOUT,
                        help="class-folders: each first-level folder is a class, named by the folder; "
                             "flat: files anywhere, no labels (default %(default)s)")
    parser.add_argument("--label-column", metavar="NAME",
                        help=f"column of the class-folders labels, i.e. the task (default {DEFAULT_LABEL}); "
                             "not for --layout flat")
    parser.add_argument("--output", metavar="PATH",
                        help=f"the manifest to write (default ROOT/{MANIFEST_NAME}); in ROOT or a folder "
                             "containing it")
    parser.add_argument("--force", action="store_true", help="overwrite an existing manifest")
    parser.add_argument("--params", metavar="PATH",
                        help="the params.yaml whose preprocessing and feature sets the media files are "
                             "checked against (default: params.yaml here, else the project's)")
    parser.set_defaults(func=_run_manifest)


def _manifest_limits(args, modalities) -> dict:
    """What a clip's length is checked against: preprocessing's limits under --params (or
    params.yaml here, else the project's) and what the feature sets of ``modalities`` need."""
    from musicfusion.data.preprocess import clip_limits, extractor_minimums
    from musicfusion.plumbing.config import load_params
    from musicfusion.plumbing.paths import PROJECT_ROOT

    path = Path(args.params) if args.params else next(
        (p for p in (Path("params.yaml"), PROJECT_ROOT / "params.yaml") if p.is_file()), Path("params.yaml"))
    if not path.is_file():
        raise FileNotFoundError(f"{path}: params file not found; pass --params")
    params = load_params(path)
    return clip_limits(params["preprocess"], extractor_minimums(params["features"], params["preprocess"], modalities))


def _run_manifest(args) -> int:
    from musicfusion.data.manifest_builder import (
        DEFAULT_LABEL,
        MANIFEST_NAME,
        ManifestBuildError,
        build_manifest,
        check_dataset_name,
        dataset_entry,
        refused_media,
        relocate,
    )
    from musicfusion.plumbing.files import write_csv

    def fail(message: str) -> int:
        print(f"musicfusion manifest: error: {message}", file=sys.stderr)
        return EXIT_ERROR

    root = Path(args.root)
    output = Path(args.output) if args.output else root / MANIFEST_NAME
    if args.layout == "flat" and args.label_column is not None:
        return fail(f"{root}: --label-column is for --layout class-folders; a flat layout has no labels")
    label = None if args.layout == "flat" else (args.label_column or DEFAULT_LABEL)
    try:
        check_dataset_name(args.name)
        found = build_manifest(root, label, args.layout, ignore=[output])
        manifest = relocate(found.manifest, root, output.parent)
    except ManifestBuildError as err:
        return fail(str(err))
    limits = _manifest_limits(args, found.modalities)
    if output.exists() and not args.force:
        return fail(f"{output}: already exists; pass --force to overwrite it")
    if output.is_dir():
        return fail(f"{output}: is a folder")
    try:
        write_csv(output, manifest)
    except OSError as err:
        return fail(f"{output}: cannot write: {err.strerror or err}")

    for path, problem in found.unpaired.itertuples(index=False):
        print(f"{path}: {problem}", file=sys.stderr)
    if len(found.unpaired):
        print(f"{len(found.unpaired)} file(s) skipped or unpaired (listed above)", file=sys.stderr)
    refused = refused_media(root, found.manifest, limits)
    for path, problem in refused.itertuples(index=False):
        print(f"{path}: {problem}", file=sys.stderr)
    if len(refused):
        print(f"{len(refused)} file(s) in the manifest that the workflow would refuse as bad clips (listed "
              "above): preprocess.on_bad_input fail stops at the first, skip drops their clips", file=sys.stderr)
    classes = (", ".join(f"{name} ({n})" for name, n in found.classes.items())
               if label is not None else "none (flat layout)")
    print(f"Wrote {output}: {len(manifest)} clips, classes: {classes}, "
          f"modalities: {', '.join(found.modalities)}. Add to params.yaml:")
    print(dataset_entry(args.name, output, found.modalities, [label] if label is not None else []), end="")
    if label is None:
        print("note: a flat layout gives no labels; add a label column to the manifest and list it in the "
              "entry's tasks before running the workflow", file=sys.stderr)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="musicfusion", description=__doc__.split("\n", 1)[0])
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _add_recommend(subparsers)
    _add_restyle(subparsers)
    _add_assist(subparsers)
    _add_manifest(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    from musicfusion.apps.assist import AssistError
    from musicfusion.apps.recommend import RecommendError
    from musicfusion.apps.restyle import RestyleError
    from musicfusion.plumbing.config import ConfigError

    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except (AssistError, RecommendError, RestyleError, ConfigError, FileNotFoundError) as err:
        print(f"{parser.prog} {args.command}: error: {err}", file=sys.stderr)
        return EXIT_ERROR


if __name__ == "__main__":
    sys.exit(main())
