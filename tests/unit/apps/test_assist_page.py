"""The page of `musicfusion assist`: what it shows, that data never becomes markup, the atomic write, and the
WebM videos written for it. tests/e2e/test_assist_page_browser.py opens the page in Chromium."""

from __future__ import annotations

import base64
import hashlib
import os
import re
from html.parser import HTMLParser
from pathlib import Path

import cv2
import numpy as np
import pytest

from musicfusion.apps.assist_page import AssistPage, Reference, Sketch, browser_video, render_page, write_page

PLANTED_TITLE = "<script>alert(1)</script>"
PLANTED_LABEL = '"><img src=x onerror=alert(1)>'
PLANTED_LYRICS = "la la </dd><script>alert(2)</script> & more"
PLANTED_FILE = 'take "2" <b>#1</b>.wav'
PLANTED_WHY = "it's <i>close</i>"


def page(**changes) -> AssistPage:
    fields = dict(
        query={"video": "my clip.mp4", "text": "a song about the river"},
        suggestions={"style": [("hymn", 0.2), ("dance", 0.7), ("song", 0.1)],
                     "instrument": [("piano", 0.55), ("violin", 0.45)]},
        trust={"style": "calibration on the test folds: ECE 0.06"},
        tempo=118.25, tempo_source="onsets in the audio",
        references=[Reference("Reel of Tulloch", "dance", "violin", 0.8123, "closest in the audio features",
                              "refs/reel.wav", "refs/reel.webm"),
                    Reference("Old Hundredth", "hymn", "organ", 0.5, "same tempo", None, None)],
        sketch=Sketch("Eight bars of dance for violin at 118 BPM", "sketch.wav", "sketch.webm", "sketch.mid"),
        notes=["the lyrics were read as text only"])
    fields.update(changes)
    return AssistPage(**fields)


def bars(html: str) -> list[tuple[str, str, str]]:
    """(label, bar width in % of the chart, probability shown) of every bar, in page order."""
    return re.findall(r'<th scope="row">(.*?)</th>.*?<rect class="fill" width="([\d.]+)".*?<td class="num">(.*?)</td>',
                      html)


class Parsed(HTMLParser):
    """Tags with their attributes, text, and the content of every script and style element."""

    def __init__(self, source: str):
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict]] = []
        self.data: list[str] = []
        self.raw: dict[str, list[str]] = {"script": [], "style": []}
        self._open: str | None = None
        self.feed(source)
        self.close()

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if tag in self.raw:
            self._open = tag

    handle_startendtag = handle_starttag

    def handle_endtag(self, tag):
        self._open = None

    def handle_data(self, data):
        if self._open:
            self.raw[self._open].append(data)
        else:
            self.data.append(data)

    def named(self, name: str) -> list[dict]:
        return [attrs for tag, attrs in self.tags if tag == name]

    @property
    def text(self) -> str:
        return "".join(self.data)


def test_the_page_shows_query_suggestions_trust_tempo_sketch_references_and_notes():
    html = render_page(page())
    parsed = Parsed(html)
    assert html.startswith("<!DOCTYPE html>") and '<meta charset="utf-8">' in html
    assert re.findall(r"<h2>(.*?)</h2>", html) == ["Query", "Suggestions", "Tempo", "Sketch",
                                                   "References", "Notes"]
    text = parsed.text
    for shown in ["my clip.mp4", "a song about the river", "calibration on the test folds: ECE 0.06",
                  "118.2 BPM", "(onsets in the audio)", "Eight bars of dance for violin at 118 BPM",
                  "Reel of Tulloch", "style: dance", "instrument: violin", "score 0.812",
                  "closest in the audio features", "Old Hundredth", "the lyrics were read as text only"]:
        assert shown in text, shown
    # Every label with its probability, most likely first, the bar as wide as the probability.
    rows = bars(html)
    assert rows == [("dance", "70.00", "0.700"), ("hymn", "20.00", "0.200"), ("song", "10.00", "0.100"),
                    ("piano", "55.00", "0.550"), ("violin", "45.00", "0.450")]
    players = [(tag, attrs["src"]) for tag, attrs in parsed.tags if tag in ("audio", "video")]
    assert players == [("audio", "sketch.wav"), ("video", "sketch.webm"), ("audio", "refs/reel.wav"),
                       ("video", "refs/reel.webm")]
    for tag, attrs in parsed.tags:
        if tag in ("audio", "video"):
            assert "controls" in attrs and attrs["data-state"] == "loading" and attrs["data-file"]
    assert {"href": "sketch.mid", "download": None} in parsed.named("a")
    assert len(parsed.named("script")) == 1 and not [a for a in parsed.named("script") if "src" in a]


def test_a_missing_tempo_sketch_and_references_are_said():
    text = Parsed(render_page(page(tempo=None, tempo_source="the query has no audio", sketch=None, references=[],
                                   notes=[]))).text
    assert "No tempo could be read: the query has no audio." in text
    assert "No sketch was made." in text and "No reference clips." in text
    assert "Notes" not in text


def test_a_probability_out_of_range_or_missing_draws_a_bounded_bar():
    html = render_page(page(suggestions={"style": [("a", float("nan")), ("b", 1.2), ("c", -0.1)]}))
    rows = bars(html)
    assert rows == [("b", "100.00", "1.200"), ("c", "0.00", "-0.100"), ("a", "0.00", "n/a")]


def test_planted_markup_in_a_title_lyrics_label_file_name_and_sentence_shows_as_text():
    planted = page(query={"text": PLANTED_LYRICS, "audio": PLANTED_FILE},
                   suggestions={"style": [(PLANTED_LABEL, 0.6), ("hymn", 0.4)]},
                   trust={"style": PLANTED_WHY},
                   references=[Reference(PLANTED_TITLE, PLANTED_LABEL, "violin", 0.9, PLANTED_WHY, PLANTED_FILE,
                                         "refs/" + PLANTED_FILE)],
                   sketch=Sketch(PLANTED_TITLE, PLANTED_FILE, None, PLANTED_FILE),
                   notes=[PLANTED_TITLE])
    html = render_page(planted)
    parsed = Parsed(html)
    # Only the page's own elements: one script (its own), no img, no event handler attribute anywhere.
    assert len(parsed.named("script")) == 1 and "alert" not in "".join(parsed.raw["script"])
    assert not parsed.named("img") and not parsed.named("b") and not parsed.named("i")
    assert not [name for _, attrs in parsed.tags for name in attrs if name.startswith("on")]
    for raw in ("<script>alert", "<img", "<b>#1", "<i>close"):
        assert raw not in html, raw
    # ... and every planted string reads back exactly, as text or as an attribute value.
    for shown in (PLANTED_TITLE, PLANTED_LABEL, PLANTED_LYRICS, PLANTED_FILE, PLANTED_WHY):
        assert shown in parsed.text, shown
    assert PLANTED_FILE in [attrs.get("data-file") for attrs in parsed.named("audio")]
    assert f"audio of {PLANTED_TITLE}" in [attrs.get("aria-label") for attrs in parsed.named("audio")]


@pytest.mark.parametrize("path, src", [
    ("clips/my song #2.wav", "clips/my%20song%20%232.wav"),
    ('x" onerror="alert(1).wav', "x%22%20onerror%3D%22alert%281%29.wav"),
    ("what?.wav", "what%3F.wav"),
    ("chanson à boire.webm", "chanson%20%C3%A0%20boire.webm"),
    ("javascript:alert(1)", "javascript%3Aalert%281%29"),  # a relative path, not a scheme
])
def test_media_paths_are_url_quoted(path, src):
    parsed = Parsed(render_page(page(sketch=Sketch("s", path, path, path), references=[])))
    assert [a["src"] for a in parsed.named("audio")] == [src]
    assert [a["src"] for a in parsed.named("video")] == [src]
    assert [a["href"] for a in parsed.named("a")] == [src]
    assert [a["data-file"] for a in parsed.named("audio")] == [path]


def test_the_content_security_policy_allows_exactly_the_page_s_own_style_and_script():
    html = render_page(page())
    parsed = Parsed(html)
    policy = next(a["content"] for a in parsed.named("meta") if a.get("http-equiv") == "Content-Security-Policy")

    def digest(source: str) -> str:
        return "'sha256-" + base64.b64encode(hashlib.sha256(source.encode()).digest()).decode() + "'"

    assert f"script-src {digest(parsed.raw['script'][0])};" in policy
    assert f"style-src {digest(parsed.raw['style'][0])};" in policy
    assert "default-src 'none'" in policy
    assert not re.search(r"(src|href)=\"(https?:)?//", html)  # nothing fetched from elsewhere


def test_write_page_writes_index_html_atomically(tmp_path, monkeypatch):
    out = tmp_path / "answer"
    path = write_page(page(), out)
    assert path == out / "index.html" and os.listdir(out) == ["index.html"]
    assert path.read_text(encoding="utf-8") == render_page(page())
    first = path.read_bytes()

    def no_rename(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", no_rename)
    with pytest.raises(OSError, match="disk full"):
        write_page(page(tempo=90.0), out)
    assert os.listdir(out) == ["index.html"] and path.read_bytes() == first  # no temporary file, old page kept
    monkeypatch.undo()
    write_page(page(tempo=90.0), out)
    assert os.listdir(out) == ["index.html"] and "90.0 BPM" in path.read_text(encoding="utf-8")


# --- browser_video ---------------------------------------------------------------------------------------------

FPS = 25
WIDTH, HEIGHT = 160, 120


def frames(n: int = 25, width: int = WIDTH, height: int = HEIGHT) -> list[np.ndarray]:
    out = []
    for i in range(n):
        frame = np.full((height, width, 3), 16, dtype=np.uint8)
        cv2.rectangle(frame, (i * 4, 30), (i * 4 + 20, 60), (60, 200, 240), thickness=-1)
        out.append(frame)
    return out


def decoded(path: Path) -> tuple[list[np.ndarray], float]:
    capture = cv2.VideoCapture(str(path))
    fps = capture.get(cv2.CAP_PROP_FPS)
    out = []
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        out.append(frame)
    capture.release()
    return out, fps


def test_browser_video_writes_vp8_webm_that_decodes_to_the_frames(tmp_path, capfd):
    written = frames()
    path = browser_video(iter(written), tmp_path / "sketch.webm", fps=FPS)
    assert path == tmp_path / "sketch.webm" and os.listdir(tmp_path) == ["sketch.webm"]
    assert path.read_bytes()[:4] == b"\x1a\x45\xdf\xa3"  # EBML: Matroska/WebM
    back, fps = decoded(path)
    assert len(back) == len(written) and back[0].shape == (HEIGHT, WIDTH, 3) and fps == FPS
    assert min(cv2.PSNR(a, b) for a, b in zip(written, back)) > 30
    # OpenCV's "tag ... is not supported" line is not passed on to the user.
    assert "not supported" not in capfd.readouterr().err


def test_browser_video_re_encodes_an_mp4v_file_at_its_own_frame_rate(tmp_path):
    from musicfusion.symbolic.render import write_video

    source = tmp_path / "clip.mp4"
    write_video(frames(20), source, 10, WIDTH, HEIGHT)
    back, fps = decoded(browser_video(source, tmp_path / "clip.webm"))
    assert len(back) == 20 and fps == 10
    back, fps = decoded(browser_video(str(source), tmp_path / "fast.webm", fps=20))
    assert len(back) == 20 and fps == 20


def test_browser_video_takes_grey_frames(tmp_path):
    grey = [f[:, :, 0] for f in frames(5)]
    back, _ = decoded(browser_video(grey, tmp_path / "grey.webm", fps=FPS))
    assert len(back) == 5 and back[0].shape == (HEIGHT, WIDTH, 3)


@pytest.mark.parametrize("source, name, fps, message", [
    (frames(3), "clip.mp4", FPS, "name it"),
    (frames(3), "clip.webm", None, "frame rate"),
    ([], "clip.webm", FPS, "no frames"),
    (frames(2) + frames(1, width=WIDTH + 2), "clip.webm", FPS, "frame 2: 162x120"),
    ([np.zeros((HEIGHT, WIDTH, 3), dtype=np.float32)], "clip.webm", FPS, "expected uint8"),
])
def test_browser_video_refuses_what_it_cannot_write_and_leaves_nothing(tmp_path, source, name, fps, message):
    with pytest.raises(ValueError, match=message):
        browser_video(source, tmp_path / name, fps=fps)
    assert os.listdir(tmp_path) == []


def test_browser_video_names_an_unreadable_source(tmp_path):
    source = tmp_path / "broken.mp4"
    source.write_bytes(b"not a video")
    with pytest.raises(ValueError, match="broken.mp4: OpenCV cannot read"):
        browser_video(source, tmp_path / "out.webm")
    assert os.listdir(tmp_path) == ["broken.mp4"]

