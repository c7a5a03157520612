"""The ``musicfusion`` command: one subcommand per task a user runs outside the workflow.

    musicfusion recommend --video clip.mp4 [--top 5] [--target audio]
    musicfusion recommend --text "a slow chorale for organ" --json

Run from the project folder (where params.yaml is), after the workflow has run. A problem with
the query or the project prints one line to stderr and exits with status 2.
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


def _add_recommend(subparsers) -> None:
    parser = subparsers.add_parser(
        "recommend", help="library clips that match a video or a text query",
        description="Rank the library's clips (of the --target modality) against a new video or text "
                    "query with the transfer mapping that scored best on the validation split, and "
                    "print the top ones. Needs the workflow's outputs (models/transfer/, "
                    "data/processed/<dataset>/features/).")
    query = parser.add_mutually_exclusive_group(required=True)
    query.add_argument("--video", metavar="PATH",
                       help="a video file (any format OpenCV's FFmpeg backend decodes). Any length "
                            "works: its first clip_seconds of the dataset are used, and a shorter "
                            "video holds its last frame, as the workflow does.")
    query.add_argument("--text", metavar="TEXT", help="a text, e.g. a title or lyrics")
    parser.add_argument("--top", type=_positive_int, default=DEFAULT_TOP,
                        help=f"how many clips to show (default {DEFAULT_TOP})")
    parser.add_argument("--target", choices=MODALITIES, default=DEFAULT_TARGET,
                        help=f"which modality of the library to match (default {DEFAULT_TARGET}); "
                             "the pair <query>->target must be in params.yaml transfer.pairs")
    parser.add_argument("--params", metavar="PATH", default="params.yaml",
                        help="the project's params.yaml; its folder is the project folder "
                             "(default: params.yaml here)")
    parser.add_argument("--dataset", metavar="NAME",
                        help="dataset to use instead of params.yaml's `dataset` (as with "
                             "`snakemake --config dataset=NAME`)")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.set_defaults(func=_run_recommend)


def _run_recommend(args) -> int:
    from musicfusion.config import load_params
    from musicfusion.recommend import format_table, recommend

    params_path = Path(args.params)
    if not params_path.is_file():
        raise FileNotFoundError(f"{params_path}: params file not found; run from the project folder or "
                                "pass --params")
    params = load_params(params_path)
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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="musicfusion", description=__doc__.split("\n", 1)[0])
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _add_recommend(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    from musicfusion.config import ConfigError
    from musicfusion.recommend import RecommendError

    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except (RecommendError, ConfigError, FileNotFoundError) as err:
        print(f"{parser.prog} {args.command}: error: {err}", file=sys.stderr)
        return EXIT_ERROR


if __name__ == "__main__":
    sys.exit(main())
