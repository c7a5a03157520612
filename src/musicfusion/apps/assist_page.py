"""The page of ``musicfusion assist``: ``index.html`` of the answer folder, and videos a browser plays.

:class:`AssistPage` holds what the page shows (the caller fills it); :func:`render_page` turns it into one
self-contained HTML document: no network resource, no JavaScript library; a Content-Security-Policy allows
only its own inline style and script (by hash) and media beside it. Every string from data (titles, lyrics,
labels, file names, sentences) is escaped, and media paths are URL-quoted, so that a title such as
``<script>...`` shows as text and a file named ``take #2.wav`` plays. :func:`write_page` writes it atomically.

Each ``<audio>``/``<video>`` carries ``data-state``: ``loading``, then ``loaded`` once the browser has its first
frame, or ``error``, with "could not load <file>" shown beside the player (a missing file, or a format the
browser does not play).

Chromium does not play the MPEG-4 Part 2 (``mp4v``) videos the workflow writes
(:func:`musicfusion.symbolic.render.write_video`): :func:`browser_video` writes VP8 in WebM instead, which the
pip OpenCV wheel encodes (its FFmpeg has libvpx; it has no H.264 encoder) and reads back.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import html
import math
import os
import sys
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import numpy as np

from musicfusion.plumbing.files import atomic_path, write_text

PAGE_NAME = "index.html"
PAGE_TITLE = "musicfusion assist"
PROBABILITY_DECIMALS = 3
SCORE_DECIMALS = 3
TEMPO_DECIMALS = 1
# VP8 in WebM: Chromium, Firefox and Safari play it; measured with the pip OpenCV 4.14 wheel on 10 s of the
# 320x240 piano roll at 25 fps: 0.5 s to encode, 127 kB, PSNR 36 dB. VP9 ("VP90") is 20 % smaller at the same
# PSNR but five times slower to encode; the wheel cannot open an H.264 ("avc1") or AV1 writer.
BROWSER_VIDEO_FOURCC = "VP80"
BROWSER_VIDEO_SUFFIX = ".webm"


@dataclass(frozen=True)
class Reference:
    """A library clip shown as a reference: its labels, its similarity ``score`` to the query and why it is
    shown; ``audio``/``video`` are paths relative to the page (None: not shown)."""

    title: str
    style: str
    instrument: str
    score: float
    why: str
    audio: str | None = None
    video: str | None = None


@dataclass(frozen=True)
class Sketch:
    """The short sketch made for the query: a sentence on what it is, and its files relative to the page."""

    description: str
    audio: str | None = None
    video: str | None = None
    midi: str | None = None


@dataclass(frozen=True)
class AssistPage:
    """Everything ``index.html`` shows.

    ``query``: modality -> what the query was (a file name, or the text itself);
    ``suggestions``: task -> every (label, probability), shown most likely first;
    ``trust``: task -> a sentence on how far to trust it (e.g. its calibration on the test folds);
    ``tempo`` in BPM and ``tempo_source``, where it was read (when ``tempo`` is None: why none could be read);
    ``sketch``: None when none was made; ``notes``: remarks shown at the end."""

    query: Mapping[str, str]
    suggestions: Mapping[str, Sequence[tuple[str, float]]]
    trust: Mapping[str, str] = field(default_factory=dict)
    tempo: float | None = None
    tempo_source: str = ""
    references: Sequence[Reference] = ()
    sketch: Sketch | None = None
    notes: Sequence[str] = ()


# --- HTML -------------------------------------------------------------------------------------------------------

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 52em; padding: 0 1em; color: #222;
       line-height: 1.4; }
h1 { font-size: 1.6em; } h2 { border-bottom: 1px solid #ccc; margin-top: 1.6em; } h3 { margin-bottom: 0.3em; }
dt { font-weight: bold; } dd { margin: 0 0 0.6em 1em; white-space: pre-wrap; max-height: 12em; overflow: auto; }
table.chart { border-collapse: collapse; width: 100%; }
table.chart th { font-weight: normal; text-align: left; padding-right: 0.8em; width: 30%; overflow-wrap: anywhere; }
table.chart tr.top th { font-weight: bold; }
table.chart td.num { text-align: right; font-variant-numeric: tabular-nums; width: 4em; padding-left: 0.6em; }
svg.bar { display: block; width: 100%; height: 0.9em; }
svg.bar .track { fill: #eee; } svg.bar .fill { fill: #4a78b5; } tr.top svg.bar .fill { fill: #1f4f8f; }
.trust, .why, .labels { color: #555; margin: 0.3em 0; }
.reference { border: 1px solid #ddd; border-radius: 4px; padding: 0.4em 1em 0.8em; margin: 0.8em 0; }
.player { margin: 0.5em 0; } video { display: block; max-width: 100%; background: #111; } audio { width: 100%; }
.media-error { color: #b00020; font-weight: bold; margin: 0.2em 0; }
"""

# Marks every player with its state; an error that happened before the script ran is read from the element.
SCRIPT = """
(function () {
  "use strict";
  function mark(el, state) {
    el.dataset.state = state;
    var note = el.nextElementSibling;
    if (state === "error" && note && note.classList.contains("media-error")) {
      note.textContent = "could not load " + el.dataset.file;
      note.hidden = false;
    }
  }
  document.querySelectorAll("audio[data-file], video[data-file]").forEach(function (el) {
    el.addEventListener("loadeddata", function () { mark(el, "loaded"); });
    el.addEventListener("error", function () { mark(el, "error"); });
    if (el.error) { mark(el, "error"); } else if (el.readyState >= 2) { mark(el, "loaded"); }
  });
})();
"""


def _csp_hash(source: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(source.encode("utf-8")).digest()).decode("ascii") + "'"


# Only the page's own style and script run; media and links stay beside the page; nothing is fetched elsewhere.
CONTENT_SECURITY_POLICY = (f"default-src 'none'; style-src {_csp_hash(STYLE)}; script-src {_csp_hash(SCRIPT)}; "
                           "media-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'")


def text(value) -> str:
    """Data shown as text (element content or a quoted attribute value)."""
    return html.escape(str(value), quote=True)


def url(path: str) -> str:
    """A relative file path as an attribute value: URL-quoted (spaces, '#', '?', ':' and non-ASCII survive and
    no scheme can be smuggled in), then escaped."""
    return html.escape(quote(str(path).replace(os.sep, "/"), safe="/"), quote=True)


def number(value: float, decimals: int) -> str:
    return "n/a" if value is None or not math.isfinite(value) else f"{value:.{decimals}f}"


def media(kind: str, path: str, label: str) -> str:
    """A player for ``path`` with the message slot the script fills when it cannot be loaded."""
    return (f'<div class="player"><{kind} controls preload="auto" src="{url(path)}" data-file="{text(path)}" '
            f'data-state="loading" aria-label="{text(label)}"></{kind}>'
            '<p class="media-error" role="status" hidden></p></div>')


def bar_chart(task: str, ranked: Sequence[tuple[str, float]]) -> str:
    """One row per label, most likely first: the label, a bar (inline SVG, 0..1) and the probability."""
    order = sorted(ranked, key=lambda pair: -pair[1] if math.isfinite(pair[1]) else math.inf)
    rows = []
    for i, (label, p) in enumerate(order):
        width = min(max(p, 0.0), 1.0) * 100 if math.isfinite(p) else 0.0
        top = ' class="top"' if i == 0 else ""
        rows.append(f'<tr{top}><th scope="row">{text(label)}</th>'
                    '<td><svg class="bar" viewBox="0 0 100 10" preserveAspectRatio="none" aria-hidden="true">'
                    f'<rect class="track" width="100" height="10"/><rect class="fill" width="{width:.2f}" height="10"/>'
                    f'</svg></td><td class="num">{number(p, PROBABILITY_DECIMALS)}</td></tr>')
    return (f'<table class="chart" aria-label="{text(task)} probabilities"><tbody>{"".join(rows)}</tbody></table>')


def query_section(query: Mapping[str, str]) -> str:
    if not query:
        return "<p>No query was given.</p>"
    items = "".join(f"<dt>{text(modality)}</dt><dd>{text(value)}</dd>" for modality, value in query.items())
    return f'<dl class="query">{items}</dl>'


def suggestions_section(page: AssistPage) -> str:
    if not page.suggestions:
        return "<p>No suggestions.</p>"
    parts = []
    for task, ranked in page.suggestions.items():
        parts.append(f'<section class="task"><h3>{text(task)}</h3>{bar_chart(task, ranked)}')
        if task in page.trust:
            parts.append(f'<p class="trust">{text(page.trust[task])}</p>')
        parts.append("</section>")
    return "".join(parts)


def tempo_section(page: AssistPage) -> str:
    if page.tempo is None or not math.isfinite(page.tempo):
        reason = f": {text(page.tempo_source)}" if page.tempo_source else ""
        return f'<p class="tempo">No tempo could be read{reason}.</p>'
    source = f" ({text(page.tempo_source)})" if page.tempo_source else ""
    return f'<p class="tempo"><strong>{number(page.tempo, TEMPO_DECIMALS)} BPM</strong>{source}</p>'


def sketch_section(sketch: Sketch | None) -> str:
    if sketch is None:
        return "<p>No sketch was made.</p>"
    parts = [f'<p class="description">{text(sketch.description)}</p>']
    if sketch.audio:
        parts.append(media("audio", sketch.audio, "sketch audio"))
    if sketch.video:
        parts.append(media("video", sketch.video, "sketch video"))
    if sketch.midi:
        parts.append(f'<p><a href="{url(sketch.midi)}" download>MIDI file: {text(sketch.midi)}</a></p>')
    return "".join(parts)


def references_section(references: Sequence[Reference]) -> str:
    if not references:
        return "<p>No reference clips.</p>"
    parts = []
    for ref in references:
        parts.append(f'<article class="reference"><h3>{text(ref.title)}</h3>'
                     f'<p class="labels">style: {text(ref.style)} · instrument: {text(ref.instrument)} · '
                     f'score {number(ref.score, SCORE_DECIMALS)}</p><p class="why">{text(ref.why)}</p>')
        if ref.audio:
            parts.append(media("audio", ref.audio, f"audio of {ref.title}"))
        if ref.video:
            parts.append(media("video", ref.video, f"video of {ref.title}"))
        parts.append("</article>")
    return "".join(parts)


def render_page(page: AssistPage) -> str:
    """The whole ``index.html``: query, suggestions with their trust, tempo, sketch, references and notes."""
    sections = [("query", "Query", query_section(page.query)),
                ("suggestions", "Suggestions", suggestions_section(page)),
                ("tempo", "Tempo", tempo_section(page)),
                ("sketch", "Sketch", sketch_section(page.sketch)),
                ("references", "References", references_section(page.references))]
    if page.notes:
        sections.append(("notes", "Notes", "<ul>" + "".join(f"<li>{text(n)}</li>" for n in page.notes) + "</ul>"))
    body = "\n".join(f'<section id="{key}"><h2>{heading}</h2>\n{content}\n</section>'
                     for key, heading, content in sections)
    return ("<!DOCTYPE html>\n"
            '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
            f'<meta http-equiv="Content-Security-Policy" content="{text(CONTENT_SECURITY_POLICY)}">\n'
            '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f"<title>{PAGE_TITLE}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n"
            f"<h1>{PAGE_TITLE}</h1>\n{body}\n<script>{SCRIPT}</script>\n</body>\n</html>\n")


def write_page(page: AssistPage, out_dir: str | Path) -> Path:
    """Write ``out_dir/index.html`` atomically (a temporary file beside it, renamed); return its path."""
    path = Path(out_dir) / PAGE_NAME
    write_text(path, render_page(page))
    return path


# --- video a browser plays ----------------------------------------------------------------------------------------

@contextlib.contextmanager
def _quiet_native_stderr():
    """Silence the process's stderr (file descriptor 2) for a moment: opening a VP8/WebM writer, OpenCV's FFmpeg
    backend prints "tag ... is not supported with codec id ..." with C's fprintf and then writes the file all the
    same; a user would read the line as an error."""
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):
        saved = None
    if saved is None:  # no stderr to silence
        yield
        return
    try:
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, 2)
        os.close(null)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def _open_video(path: Path):
    """An OpenCV capture of a video file, checked to be readable."""
    import cv2

    capture = cv2.VideoCapture(str(path))
    if not capture.isOpened():
        capture.release()
        raise ValueError(f"{path}: OpenCV cannot read this video")
    return capture


def _read_frames(capture) -> Iterator[np.ndarray]:
    while True:
        ok, frame = capture.read()
        if not ok:
            return
        yield frame


def _bgr(frame, index: int) -> np.ndarray:
    import cv2

    frame = np.asarray(frame)
    if frame.dtype != np.uint8 or frame.ndim not in (2, 3) or (frame.ndim == 3 and frame.shape[2] not in (1, 3)):
        raise ValueError(f"frame {index}: expected uint8 BGR (height, width, 3) or grey (height, width), "
                         f"got {frame.dtype} {frame.shape}")
    return cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR) if frame.ndim == 2 or frame.shape[2] == 1 else frame


def browser_video(source: str | Path | Iterable[np.ndarray], out_path: str | Path, fps: float | None = None) -> Path:
    """Write a video a browser's ``<video>`` plays (VP8 in WebM) and return its path.

    ``source``: BGR uint8 frames of one size (e.g. :func:`musicfusion.symbolic.render.piano_roll_frames`), or a
    video file OpenCV reads (e.g. an ``mp4v`` clip of the library), re-encoded frame by frame. ``fps``: the
    frame rate; required for frames, the source file's own when None. ``out_path`` must end in ``.webm``; it is
    written beside under a temporary name and renamed, so a failure leaves nothing half-written.
    """
    import cv2

    out = Path(out_path)
    if out.suffix.lower() != BROWSER_VIDEO_SUFFIX:
        raise ValueError(f"{out}: a browser video is written as WebM; name it *{BROWSER_VIDEO_SUFFIX}")
    capture = _open_video(Path(source)) if isinstance(source, (str, os.PathLike)) else None
    try:
        if capture is not None:
            fps = capture.get(cv2.CAP_PROP_FPS) if fps is None else fps
            frames = _read_frames(capture)
        else:
            frames = iter(source)
        if fps is None or not math.isfinite(fps) or fps <= 0:
            raise ValueError(f"{out}: a positive frame rate is needed (got {fps})")
        with atomic_path(out) as tmp:
            _write_webm(frames, tmp, float(fps), out)
    finally:
        if capture is not None:
            capture.release()
    return out


def _write_webm(frames: Iterator, tmp: Path, fps: float, out: Path) -> None:
    """Encode ``frames`` as VP8 into ``tmp`` (a .webm name); ``out`` names the video in messages."""
    import cv2

    writer, size, count = None, None, 0
    try:
        for count, frame in enumerate(frames, start=1):
            frame = _bgr(frame, count - 1)
            height, width = frame.shape[:2]
            if writer is None:
                size = (width, height)
                with _quiet_native_stderr():
                    writer = cv2.VideoWriter(str(tmp), cv2.VideoWriter_fourcc(*BROWSER_VIDEO_FOURCC), fps, size)
                if not writer.isOpened():
                    raise RuntimeError(f"{out}: OpenCV cannot open a {BROWSER_VIDEO_FOURCC} WebM video writer")
            elif (width, height) != size:  # OpenCV would drop the frame without a word
                raise ValueError(f"frame {count - 1}: {width}x{height}, the video is {size[0]}x{size[1]}")
            writer.write(frame)
    finally:
        if writer is not None:
            writer.release()
    if count == 0:
        raise ValueError(f"{out}: no frames to write")
