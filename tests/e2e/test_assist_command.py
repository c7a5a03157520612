"""`musicfusion assist` on the finished tiny run: a new clip's video, audio and score (rendered here from notes
at a known tempo, in no library), a text, and a library recording as queries; the page in headless Chromium;
and queries it must refuse."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from musicfusion import modality_of
from musicfusion.apps.cli import main
from musicfusion.apps.restyle import probabilities
from musicfusion.features.matrices import modality_file
from musicfusion.plumbing.config import collect_settings, resolve_methods
from musicfusion.plumbing.files import load_npz, load_pickle
from musicfusion.symbolic.notes import NoteEvent
from musicfusion.symbolic.render import SECONDS_PER_QUARTER, render_clip

from support import Dom, chromium_dom, copy_run

pytestmark = pytest.mark.workflow
# A new tune: a quarter note a pulse at 120 quarter notes a minute (the MIDI clock): 120 pulses a minute.
PULSE_BPM = 60.0 / SECONDS_PER_QUARTER
MELODY = [60, 62, 64, 65, 67, 65, 64, 62, 60, 64, 67, 72, 67, 64, 60, 62]
TEMPO_TOLERANCE = 0.08  # what benchmarks/tempo_accuracy.py finds for 90% of default's clips or more


@pytest.fixture(scope="module")
def project(tiny_run, tmp_path_factory) -> Path:
    return copy_run(tiny_run, tmp_path_factory.mktemp("assist") / "work")


@pytest.fixture(scope="module")
def new_clip(project, params, tmp_path_factory) -> dict[str, Path]:
    """A clip of a tune in no library, rendered as the preset renders its clips: new.wav, new.mp4, new.mid."""
    out = tmp_path_factory.mktemp("query")
    notes = [NoteEvent(pitch, i * SECONDS_PER_QUARTER, (i + 1) * SECONDS_PER_QUARTER, 0)
             for i, pitch in enumerate(MELODY)]
    seconds = params["collect"]["presets"]["tiny"]["clip_seconds"]
    paths = render_clip(notes, 0, out, "new", collect_settings(params, "tiny"), seconds)
    return {m: out / rel for m, rel in paths.items()}


def assist(project: Path, out: Path, *query: str) -> int:
    # The query last: a --dataset in it overrides the tiny run's.
    return main(["assist", "--out", str(out), "--params", str(project / "params.yaml"), "--dataset", "tiny", *query])


def suggestions(out: Path) -> pd.DataFrame:
    return pd.read_csv(out / "suggestions.csv")


def test_a_new_video_gets_suggestions_a_tempo_references_and_a_sketch_to_play(project, new_clip, params, capsys,
                                                                            tmp_path):
    out = project / "answers" / "video"
    assert assist(project, out, "--video", str(new_clip["video"])) == 0
    printed = capsys.readouterr().out
    names = {p.name for p in out.iterdir()}
    assert {"index.html", "suggestions.csv", "references.csv", "sketch.mid", "sketch.wav", "sketch.mp4",
            "sketch.webm", "references"} <= names
    table = suggestions(out)
    assert set(table["task"]) == set(params["tasks"])
    for task, rows in table.groupby("task"):
        assert rows["probability"].sum() == pytest.approx(1.0, abs=1e-5)
        assert rows["probability"].is_monotonic_decreasing  # most likely first
    references = pd.read_csv(out / "references.csv")
    assert len(references) == params["assist"]["top"] and references["rank"].tolist() == [1, 2, 3, 4, 5]
    assert references["score"].is_monotonic_decreasing and references["why"].str.contains("video").all()
    assert "tempo:" in printed and "pulses a minute, from the notes scrolling in the video" in printed
    tempo = float(printed.split("tempo: ")[1].split(" ")[0])
    assert tempo == pytest.approx(PULSE_BPM, rel=TEMPO_TOLERANCE)
    # The page plays the sketch and every reference's media.
    dom = Dom(chromium_dom(out / "index.html", tmp_path))
    assert dom.state("sketch.wav") == "loaded" and dom.state("sketch.webm") == "loaded"
    assert all(player["data-state"] == "loaded" for player in dom.players), dom.players
    assert len(dom.players) == 2 + 2 * len(references) and not dom.shown()


def test_a_recording_goes_through_the_workflows_preprocessing_and_extraction(project, params):
    """A library clip's own recording as the query: the suggestions are the final models' probabilities for
    that clip's audio features as the workflow extracted them, the other modalities absent."""
    clips = pd.read_csv(project / "data/processed/tiny/features/clips.csv")
    clip = clips.loc[clips["has_audio"], "clip_id"].iloc[0]
    manifest = pd.read_csv(project / "data/raw/tiny/manifest.csv").set_index("clip_id")
    out = project / "answers" / "audio"
    assert assist(project, out, "--audio", str(project / "data/raw/tiny" / manifest.at[clip, "audio_path"])) == 0
    methods = resolve_methods(params["methods"], ("audio", "video", "text", "score"))[0]
    features = project / "data/processed/tiny/features"
    for task, rows in suggestions(out).groupby("task"):
        method = rows["method"].iloc[0]
        X = {}
        for key in methods[method]["modalities"]:
            data = load_npz(modality_file(features, key))
            row = data["X"][list(data["clip_ids"]).index(clip)][None, :].astype(np.float64)
            X[key] = row if modality_of(key) == "audio" else np.full_like(row, np.nan)
        model = load_pickle(project / "models/tiny" / method / "final_model.pkl")[task]
        proba, classes = probabilities(model, X, task, params["tasks"])
        expected = dict(zip(map(str, classes), proba[0]))
        assert dict(zip(rows["label"], rows["probability"])) == pytest.approx(expected, abs=1e-6)
    # Its nearest reference by sound is itself.
    assert pd.read_csv(out / "references.csv")["clip_id"].iloc[0] == clip


def test_a_score_and_a_text_query(project, new_clip, capsys, tmp_path):
    out = project / "answers" / "score"
    assert assist(project, out, "--score", str(new_clip["score"])) == 0
    printed = capsys.readouterr().out
    assert float(printed.split("tempo: ")[1].split(" ")[0]) == pytest.approx(PULSE_BPM, rel=TEMPO_TOLERANCE)
    assert "from the score's notes" in printed

    planted = "<script>document.title='pwned'</script> a slow song of the night"
    out = project / "answers" / "text"
    assert assist(project, out, "--text", planted) == 0
    printed = capsys.readouterr().out
    assert "tempo: none (text carries no tempo)" in printed
    page = (out / "index.html").read_text(encoding="utf-8")
    assert planted not in page and "&lt;script&gt;document.title" in page  # shown as text
    dom = Dom(chromium_dom(out / "index.html", tmp_path))
    assert dom.title != "pwned" and dom.state("sketch.wav") == "loaded"


@pytest.mark.parametrize("query, fragment", [
    (lambda p, c: ["--video", str(p / "nope.mp4")], "nope.mp4: file not found"),
    (lambda p, c: ["--audio", str(c["score"])], "new.mid"),  # a MIDI file is no audio
    (lambda p, c: [], "give at least one of"),
    (lambda p, c: ["--text", "x", "--dataset", "nowhere"], "nowhere"),
])
def test_a_bad_query_is_one_line_exit_2_and_no_folder(project, new_clip, query, fragment, capsys):
    out = project / "answers" / "bad"
    assert assist(project, out, *query(project, new_clip)) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and fragment in err and err.startswith("musicfusion assist: error:")
    assert not out.exists()
    assert not [p for p in out.parent.iterdir() if p.name.startswith(".bad.")]  # no temporary folder left


def test_models_not_built_is_said_and_writes_nothing(project, params, capsys):
    summary = pd.read_csv(project / "results/tiny/summary.csv")
    fusion = summary[(summary["task"] == params["tasks"][0]) & (summary["kind"] == "fusion")]
    used = fusion.loc[fusion[f"validation_{params['evaluate']['selection_metric']}"].idxmax(), "method"]
    final = project / "models/tiny" / used / "final_model.pkl"
    hidden = final.with_suffix(".hidden")
    out = project / "answers" / "unbuilt"
    final.rename(hidden)
    try:
        code = assist(project, out, "--text", "a song")
    finally:
        hidden.rename(final)
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1
    assert f"{used}/final_model.pkl: not found; the models are not built" in err and not out.exists()
