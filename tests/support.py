"""What the tests share: running Snakemake on a private copy of the project, and test media."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
# What a private copy of the project needs to run the workflow.
PROJECT_FILES = ["Snakefile", "params.yaml", "workflow", "profiles", ".dvc/config", ".dvcignore", ".gitignore"]


# --- Snakemake on a project copy ------------------------------------------------------------

def snakemake_command(*args: str, cores: int = 2, dataset: str = "tiny") -> list[str]:
    """``snakemake --cores N ARGS --config dataset=DATASET``: targets and flags go before
    --config, which takes every word after it as a key=value pair."""
    return [str(BIN / "snakemake"), "--cores", str(cores), *args, "--config", f"dataset={dataset}"]


def project_environment(env: dict | None = None) -> dict:
    """The test process's environment for a run that logs to the project's own MLflow store
    (unless ``env`` says otherwise)."""
    run_env = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}
    run_env.update(env or {})
    return run_env


def snakemake(workdir: Path, *args: str, cores: int = 2, dataset: str = "tiny", env: dict | None = None,
              expect_success: bool = True) -> subprocess.CompletedProcess:
    """Run Snakemake in ``workdir``; unless told otherwise, assert it succeeded (showing its output)."""
    proc = subprocess.run(snakemake_command(*args, cores=cores, dataset=dataset), cwd=workdir, capture_output=True,
                          text=True, env=project_environment(env), check=False)
    if expect_success:
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc


def planned_jobs(workdir: Path, *args: str) -> set[str]:
    """The rules a dry run would execute (``args``: targets and flags, before --quiet takes its choices)."""
    out = snakemake(workdir, *args, "-n", "--quiet", "rules").stdout
    rows = [line.split() for line in out.splitlines()]
    return {r[0] for r in rows if len(r) == 2 and r[1].isdigit() and r[0] not in ("job", "total")}


def copy_project(work: Path) -> Path:
    """A git repository at ``work`` holding the workflow files of this project, nothing built."""
    for name in PROJECT_FILES:
        src, dst = PROJECT_ROOT / name, work / name
        dst.parent.mkdir(parents=True, exist_ok=True)
        if src.is_symlink():  # profiles -> workflow/profiles, kept a link as in the repository
            dst.symlink_to(os.readlink(src))
        else:
            (shutil.copytree if src.is_dir() else shutil.copy)(src, dst)
    subprocess.run(["git", "init", "-q"], cwd=work, check=True)
    return work


def copy_run(run: Path, work: Path) -> Path:
    """A private copy of a finished project (symlinks kept as links, Snakemake's metadata too)."""
    shutil.copytree(run, work, symlinks=True)
    return work


def free_port() -> int:
    """A free TCP port on the loopback interface."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- test media -------------------------------------------------------------------------------

def sine(seconds: float, rate: int, freq: float = 440.0, amplitude: float = 0.1) -> np.ndarray:
    """A float32 sine of ``seconds`` at ``rate`` samples a second."""
    t = np.arange(int(round(seconds * rate))) / rate
    return (amplitude * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def melody_score(quarter_length: float = 1.0, pitches=("C4", "E4", "G4", "C5"), tempo_mark: float | None = None):
    """A one-part music21 score of ``pitches``, each ``quarter_length`` long (a metronome mark if asked)."""
    from music21 import note, stream, tempo

    part = stream.Part()
    if tempo_mark is not None:
        part.append(tempo.MetronomeMark(number=tempo_mark))
    for pitch in pitches:
        part.append(note.Note(pitch, quarterLength=quarter_length))
    return stream.Score([part])


# --- headless Chromium (the assist page's tests) ------------------------------------------------

def chromium_dom(page: Path, tmp_path: Path) -> str:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.skip("chromium not installed: `scripts/install.sh --tests` installs it")
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             "--autoplay-policy=no-user-gesture-required", f"--user-data-dir={tmp_path / 'profile'}",
             "--virtual-time-budget=10000"]
    proc = subprocess.run([chromium, *flags, "--dump-dom", page.as_uri()], capture_output=True, text=True,
                          timeout=120)
    assert "<body" in proc.stdout, proc.stderr[-2000:]
    return proc.stdout


class Dom(HTMLParser):
    """The dumped DOM: the title, the body's attributes, every player's attributes and the messages beside them."""

    def __init__(self, source: str):
        super().__init__(convert_charrefs=True)
        self.title, self.body, self.players, self.messages, self.headings = "", {}, [], [], []
        self._in: str | None = None
        self.feed(source)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "body":
            self.body = attrs
        elif tag in ("audio", "video"):
            self.players.append({"tag": tag, **attrs})
        elif tag == "p" and "media-error" in (attrs.get("class") or ""):
            self.messages.append({"hidden": "hidden" in attrs, "text": ""})
            self._in = "message"
        elif tag in ("title", "h2"):
            self._in = tag

    def handle_endtag(self, tag):
        self._in = None

    def handle_data(self, data):
        if self._in == "title":
            self.title += data
        elif self._in == "h2":
            self.headings.append(data)
        elif self._in == "message":
            self.messages[-1]["text"] += data

    def state(self, data_file: str) -> str:
        return next(p["data-state"] for p in self.players if p["data-file"] == data_file)

    def shown(self) -> list[str]:
        return [m["text"] for m in self.messages if not m["hidden"]]
