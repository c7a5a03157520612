"""The page of `musicfusion assist` in headless Chromium: it renders, planted markup stays text, and every
player loads its real WAV and WebM file, or says on the page that it could not.

Chromium runs as tests/e2e/test_workflow.py runs it for the report: `--headless --dump-dom` after a
`--virtual-time-budget`, which lets the media load and the page's script mark the players; `--no-sandbox`
because the tests may run as root. A file:// page plays media beside it without further flags.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
import soundfile as sf

from musicfusion.apps.assist_page import AssistPage, Reference, Sketch, browser_video, write_page
from musicfusion.symbolic.notes import NoteEvent
from musicfusion.symbolic.render import write_midi, write_video

from support import Dom, chromium_dom

pytestmark = pytest.mark.workflow

SAMPLE_RATE = 22050
FPS, WIDTH, HEIGHT = 25, 320, 240
# Were either run, the page's title would change and the body would carry data-pwned.
PLANTED_TITLE = "<script>document.title='pwned';document.body.setAttribute('data-pwned','1')</script>"
PLANTED_LABEL = "\"><img src=x onerror=\"document.title='pwned'\">"
HEADINGS = ["Query", "Suggestions", "Tempo", "Sketch", "References"]


def tone(path: Path, seconds: float = 1.5, hz: float = 440.0) -> None:
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    sf.write(path, (0.3 * np.sin(2 * np.pi * hz * t)).astype(np.float32), SAMPLE_RATE)


def moving_square(seconds: float = 2.0):
    for i in range(int(seconds * FPS)):
        frame = np.full((HEIGHT, WIDTH, 3), 16, dtype=np.uint8)
        cv2.rectangle(frame, (i * 5, 100), (i * 5 + 40, 140), (60, 200, 240), thickness=-1)
        yield frame


def answer_folder(out: Path, sketch_video: str = "sketch.webm") -> Path:
    """An answer folder as `musicfusion assist` writes it: a sketch and two references with real media, and
    the page (its sketch video named ``sketch_video``)."""
    (out / "refs").mkdir(parents=True)
    tone(out / "sketch.wav")
    browser_video(moving_square(), out / "sketch.webm", fps=FPS)
    write_midi([NoteEvent(60, 0.0, 0.5, 0), NoteEvent(64, 0.5, 1.0, 0)], 0, out / "sketch.mid")
    tone(out / "refs" / "reel #1 take 2.wav", hz=660.0)
    browser_video(moving_square(1.0), out / "refs" / "reel #1 take 2.webm", fps=FPS)
    tone(out / "refs" / "hymn.wav", hz=330.0)
    page = AssistPage(
        query={"text": "<b>river</b> song", "video": "my clip.mp4"},
        suggestions={"style": [("dance", 0.7), ("hymn", 0.2), (PLANTED_LABEL, 0.1)],
                     "instrument": [("violin", 0.6), ("piano", 0.4)]},
        trust={"style": "calibration on the test folds: ECE 0.06"},
        tempo=118.0, tempo_source="onsets in the audio",
        references=[Reference(PLANTED_TITLE, "dance", "violin", 0.81, "closest in the audio features",
                              "refs/reel #1 take 2.wav", "refs/reel #1 take 2.webm"),
                    Reference("Old Hundredth", "hymn", "organ", 0.52, "same tempo", "refs/hymn.wav", None)],
        sketch=Sketch("Two bars of dance for violin", "sketch.wav", sketch_video, "sketch.mid"))
    write_page(page, out)
    return out


@pytest.fixture()
def folder(tmp_path) -> Path:
    return answer_folder(tmp_path / "answer")


def test_the_page_renders_offline_keeps_planted_markup_as_text_and_every_player_loads(folder, tmp_path):
    raw = chromium_dom(folder / "index.html", tmp_path)
    dom = Dom(raw)
    assert dom.headings == HEADINGS
    assert raw.count('<rect class="fill"') == 5  # a bar per label
    # The planted script shows as text and never ran; the planted label made no element.
    assert dom.title == "musicfusion assist" and "data-pwned" not in dom.body
    assert "&lt;script&gt;document.title='pwned'" in raw and "<img" not in raw
    assert len(dom.players) == 5
    assert {p["data-file"]: p["data-state"] for p in dom.players} == {
        "sketch.wav": "loaded", "sketch.webm": "loaded", "refs/reel #1 take 2.wav": "loaded",
        "refs/reel #1 take 2.webm": "loaded", "refs/hymn.wav": "loaded"}
    assert dom.shown() == []


def test_a_missing_file_is_marked_and_said_on_the_page(folder, tmp_path):
    (folder / "refs" / "reel #1 take 2.wav").unlink()
    (folder / "sketch.webm").unlink()
    dom = Dom(chromium_dom(folder / "index.html", tmp_path))
    assert dom.state("refs/reel #1 take 2.wav") == "error" and dom.state("sketch.webm") == "error"
    assert sorted(dom.shown()) == ["could not load refs/reel #1 take 2.wav", "could not load sketch.webm"]
    assert [p["data-state"] for p in dom.players].count("loaded") == 3


def test_chromium_does_not_play_the_workflow_s_mp4v_video_and_the_page_says_so(tmp_path):
    # Why browser_video exists: Chromium refuses the MPEG-4 Part 2 clips write_video makes.
    folder = answer_folder(tmp_path / "answer", sketch_video="sketch.mp4")
    write_video(moving_square(1.0), folder / "sketch.mp4", FPS, WIDTH, HEIGHT)
    dom = Dom(chromium_dom(folder / "index.html", tmp_path))
    assert dom.state("sketch.mp4") == "error" and dom.shown() == ["could not load sketch.mp4"]
    assert [p["data-state"] for p in dom.players].count("loaded") == 4


def test_the_content_security_policy_stops_markup_that_escaped_escaping(folder, tmp_path):
    # Defence in depth: were a string ever written unescaped, its script and handlers would not run.
    page = folder / "index.html"
    html = page.read_text(encoding="utf-8")
    page.write_text(html.replace("<h1>", PLANTED_TITLE + '<img src="nothing.png" onerror="document.title=\'pwned\'">'
                                 "<h1>", 1), encoding="utf-8")
    dom = Dom(chromium_dom(page, tmp_path))
    assert dom.title == "musicfusion assist" and "data-pwned" not in dom.body
    assert dom.state("sketch.wav") == "loaded"  # the page's own script still runs
