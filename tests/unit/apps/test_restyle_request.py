"""musicfusion restyle: a clip (or a score file) moved toward another style, rendered and judged by the fold
models that held it out.

A small synthetic project keeps these tests fast: a preset dataset of three styles whose notes are simple
arrays, the features of synthetic media extracted by the workflow's own extractors, three folds and fold models
fitted by the real fusion methods. FluidSynth is replaced by :class:`FakeRender` (the MIDI file is the real one;
the rendered clip gets the features of a clip of the project), except in one test that renders for real.
"""

from __future__ import annotations

import copy
import shutil
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from musicfusion import MEDIA_KEYS, MODALITIES
from musicfusion.apps import restyle_request as module
from musicfusion.apps.cli import EXIT_ERROR, main
from musicfusion.apps.restyle import STYLE, Transfer, clip_quarters, probabilities, transferred_notes
from musicfusion.apps.restyle_request import RestyleError, RestyleRequest, parse_operators, restyle_request
from musicfusion.features.shards import extract_shard
from musicfusion.models.methods import build_method
from musicfusion.plumbing.config import resolve_methods
from musicfusion.plumbing.files import read_table, save_npz, save_pickle
from musicfusion.symbolic.operators import learn_profile
from musicfusion.symbolic.render import write_midi

from small_learners import LEARNERS

DATASET = "tiny"
CLIP_SECONDS = 2.0  # 4 quarter notes of the rendered clock
N_FOLDS = 3  # evaluate.folds, one repetition
PER_STYLE = 6
JUDGES = ["audio_only", "text_only", "late_fusion"]
TEXT_DIM = 6
INSTRUMENTS = ["piano", "organ", "flute"]  # of params.yaml collect.instruments, one per clip in turn


def style_notes(style: str, i: int) -> np.ndarray:
    """A clip's notes (pitch, onset, duration in quarter notes): each style its own register, scale, texture
    and rhythm; clip ``i`` transposed by ``i`` semitones, so that every fold learns another profile."""
    if style == "chorale":  # four voices in quarter notes, major
        rows = [(p + i, t, 1.0) for t, root in enumerate([60, 65, 67, 60])
                for p in (root - 12, root - 5, root, root + 4)]
    elif style == "chinese_folk":  # one voice in eighths, pentatonic, high
        rows = [(72 + i + [0, 2, 4, 7, 9, 7, 4, 2][t], t * 0.5, 0.5) for t in range(8)]
    else:  # fiddle_tune: one voice in sixteenths, diatonic, middle
        rows = [(64 + i + [0, 2, 4, 5, 7, 5, 4, 2][t % 8], t * 0.25, 0.25) for t in range(16)]
    return np.array(rows, dtype=np.float64)


STYLES = ("chinese_folk", "chorale", "fiddle_tune")


def clip_id(style: str, i: int) -> str:
    return f"{style}-{i:04d}"


def split_in_fold(i: int, fold: int) -> str:
    """Clip i is tested in fold i % 3, validates in the fold before it, trains in the third."""
    return "test" if i % N_FOLDS == fold else ("validation" if (i + 1) % N_FOLDS == fold else "train")


def media_of(style: str, notes: np.ndarray, p: dict, rng) -> tuple[np.ndarray, np.ndarray]:
    """Preprocessed audio (a tone at the notes' median pitch) and video frames (a band per style)."""
    rate, v = p["preprocess"]["audio"]["sample_rate"], p["preprocess"]["video"]
    t = np.arange(int(CLIP_SECONDS * rate)) / rate
    freq = 440.0 * 2 ** ((np.median(notes[:, 0]) - 69) / 12)
    audio = (0.1 * np.sin(2 * np.pi * freq * t) + 0.01 * rng.normal(size=len(t))).astype(np.float32)
    frames = rng.integers(0, 30, size=(int(CLIP_SECONDS * v["fps"]), v["height"], v["width"]), dtype=np.uint8)
    band = STYLES.index(style) * v["height"] // len(STYLES)
    frames[:, band: band + v["height"] // len(STYLES)] += 150
    return audio, frames


@pytest.fixture(scope="module")
def project(params, tmp_path_factory) -> Path:
    """A finished project of a preset: manifest, score shards, features, fold tables and fold models."""
    root = tmp_path_factory.mktemp("restyle_project")
    p = copy.deepcopy(params)
    p["dataset"] = DATASET
    p["evaluate"].update(folds=N_FOLDS, repetitions=1)
    p["collect"]["presets"][DATASET]["clip_seconds"] = CLIP_SECONDS
    p["style_transfer"]["judges"] = JUDGES
    p["methods"]["late_fusion"].update(learner={m: "logistic" for m in MODALITIES}, weight_step=0.5)
    (root / "params.yaml").write_text(yaml.safe_dump(p, sort_keys=False), encoding="utf-8")

    rng = np.random.default_rng(0)
    rows, notes, audio, frames = [], [], [], []
    for style in STYLES:
        for i in range(PER_STYLE):
            instrument = INSTRUMENTS[i % len(INSTRUMENTS)]
            rows.append({"clip_id": clip_id(style, i), "split": split_in_fold(i, 0), "style": style,
                         "instrument": instrument, "program": str(p["collect"]["instruments"][instrument]),
                         "index": i})
            notes.append(style_notes(style, i))
            clip_audio, clip_frames = media_of(style, notes[-1], p, rng)
            audio.append(clip_audio)
            frames.append(clip_frames)
    clips = pd.DataFrame(rows)  # sorted by clip id, as the workflow's tables are
    ids = clips["clip_id"].to_numpy(dtype=str)

    raw = root / "data" / "raw" / DATASET
    raw.mkdir(parents=True)
    clips.drop(columns=["index", "split"]).to_csv(raw / "manifest.csv", index=False)
    interim = root / "data" / "interim" / DATASET / "score"
    interim.mkdir(parents=True)
    for shard, part in enumerate((slice(0, 9), slice(9, None))):  # two shards: every one is read
        save_npz(interim / f"shard-{shard:03d}.npz", clip_ids=ids[part], notes=np.concatenate(notes[part]),
                 lengths=np.array([len(n) for n in notes[part]]))

    features = root / "data" / "processed" / DATASET / "features"
    table = clips[["clip_id", "split", "style", "instrument"]]
    features.mkdir(parents=True)
    table.to_csv(features / "clips.csv", index=False)
    X = {}
    for modality, media in (("audio", audio), ("video", frames), ("score", notes)):
        shard = {"clip_ids": ids, MEDIA_KEYS[modality]: np.concatenate(media),
                 "lengths": np.array([len(x) for x in media])}
        out = extract_shard(modality, shard, p["features"][modality],
                            sample_rate=p["preprocess"]["audio"]["sample_rate"], fps=p["preprocess"]["video"]["fps"])
        save_npz(features / f"{modality}.npz", **out)
        X[modality] = out["X"].astype(np.float64)
    centroids = {style: rng.normal(size=TEXT_DIM) * 3 for style in STYLES}
    text = np.array([centroids[s] + rng.normal(size=TEXT_DIM) for s in clips["style"]])

    methods, _ = resolve_methods(p["methods"], MODALITIES)
    fold_models = {name: [] for name in JUDGES}
    y = clips["style"].to_numpy()
    for fold in range(N_FOLDS):
        fold_dir = features / f"fold-{fold}"
        fold_dir.mkdir()
        split = np.array([split_in_fold(i, fold) for i in clips["index"]])
        table.assign(split=split).to_csv(fold_dir / "clips.csv", index=False)
        X["text"] = text + fold  # per fold, as the fold's TF-IDF is
        save_npz(fold_dir / "text.npz", clip_ids=ids, X=X["text"].astype(np.float32),
                 feature_names=np.array([f"t{j}" for j in range(TEXT_DIM)]))
        train, val = split == "train", split == "validation"
        for name in JUDGES:
            part = {m: X[m] for m in methods[name]["modalities"]}
            model = build_method(methods[name], 0, LEARNERS).fit(
                {m: x[train] for m, x in part.items()}, y[train], {m: x[val] for m, x in part.items()}, y[val])
            fold_models[name].append({"style": model})
    for name, models in fold_models.items():
        save_pickle(root / "models" / DATASET / name / "fold_models.pkl", models)
    # Not a judge: never loaded (it would fail to load).
    (root / "models" / DATASET / "stacking").mkdir(parents=True)
    (root / "models" / DATASET / "stacking" / "fold_models.pkl").write_bytes(b"not a pickle")
    return root


def project_params(project: Path) -> dict:
    return yaml.safe_load((project / "params.yaml").read_text(encoding="utf-8"))


class FakeRender:
    """Stands in for FluidSynth. ``render_clip`` writes the real MIDI file and placeholder audio and video;
    ``render_and_extract`` gives each rendered clip the features (fold-free ones) of the ``donors`` clip
    named for it, so that what is judged after the transfer is known."""

    def __init__(self, project: Path, donors: dict[str, str], fail: Exception | None = None):
        self.features = project / "data" / "processed" / DATASET / "features"
        self.donors, self.fail = donors, fail
        self.rendered, self.extracted = [], []

    def render_clip(self, notes, program, out_dir, name, settings, clip_seconds,
                    modalities=("audio", "video", "score")):
        out = Path(out_dir)
        (out / "clips").mkdir(parents=True, exist_ok=True)
        write_midi(notes, program, out / "clips" / f"{name}.mid")
        (out / "clips" / f"{name}.wav").write_bytes(b"RIFF fake")
        (out / "clips" / f"{name}.mp4").write_bytes(b"fake mp4")
        self.rendered.append({"name": name, "program": program, "out_dir": out, "clip_seconds": clip_seconds})
        return {"score": f"clips/{name}.mid", "audio": f"clips/{name}.wav", "video": f"clips/{name}.mp4"}

    def render_and_extract(self, items, render_settings, clip_seconds, preprocess_params, feature_params,
                           work_dir=None):
        if self.fail is not None:
            raise self.fail
        self.extracted.append({"items": items, "work_dir": work_dir})
        frames = {}
        for m in ("audio", "video", "score"):
            data = np.load(self.features / f"{m}.npz")
            row_of = {c: j for j, c in enumerate(data["clip_ids"])}
            frames[m] = pd.DataFrame(np.vstack([data["X"][row_of[self.donors[item[0]]]] for item in items]),
                                     index=[item[0] for item in items]).astype(np.float64)
        return frames


@pytest.fixture()
def fake(project, monkeypatch):
    def install(donors: dict[str, str], fail: Exception | None = None) -> FakeRender:
        render = FakeRender(project, donors, fail)
        monkeypatch.setattr(module, "render_clip", render.render_clip)
        monkeypatch.setattr(module, "render_and_extract", render.render_and_extract)
        return render

    return install


def run(project: Path, *args: str) -> int:
    return main(["restyle", *args, "--params", str(project / "params.yaml")])


def judging_fold(i: int) -> int:
    return i % N_FOLDS


def test_a_clip_is_restyled_into_its_out_folder_and_summarised(project, fake, tmp_path, capsys):
    render = fake({"restyled": clip_id("chinese_folk", 2)})  # a training clip of fold 1
    out = tmp_path / "outputs" / "restyled-chorale"  # its parent made as needed
    assert run(project, "--clip", clip_id("chorale", 4), "--to", "chinese_folk", "--out", str(out)) == 0
    assert sorted(p.name for p in out.iterdir()) == ["probabilities.csv", "restyled.mid", "restyled.mp4",
                                                     "restyled.wav"]
    assert [p.name for p in out.parent.iterdir()] == [out.name]  # no work folder left beside it
    table = read_table(out / "probabilities.csv")
    assert list(table.columns) == module.TABLE_COLUMNS
    assert table["judge"].tolist() == JUDGES and set(table["fold"]) == {str(judging_fold(4))}
    assert set(table["source_style"]) == {"chorale"} and set(table["target_style"]) == {"chinese_folk"}
    # The rendered clip sounds like a chinese_folk clip the fold trained on: the judges of the music move
    # toward chinese_folk; the text judge reads the source's words, unchanged.
    rows = table.set_index("judge")
    p = rows[["p_source_before", "p_source_after", "p_target_before", "p_target_after"]].astype(float)
    assert (p.loc[["audio_only", "late_fusion"], "p_target_after"]
            > p.loc[["audio_only", "late_fusion"], "p_target_before"]).all()
    assert (rows.at["late_fusion", "predicted_before"], rows.at["late_fusion", "predicted_after"]) == (
        "chorale", "chinese_folk")
    assert p.at["text_only", "p_target_before"] == p.at["text_only", "p_target_after"]
    assert render.rendered[0]["program"] == project_params(project)["collect"]["instruments"]["organ"]  # its own
    assert render.rendered[0]["clip_seconds"] == CLIP_SECONDS

    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith(f"Clip {clip_id('chorale', 4)} (chorale, organ) of dataset 'tiny' moved toward "
                               "chinese_folk with texture, scale, register, rhythm")
    header = next(i for i, line in enumerate(lines) if line.startswith("judge"))
    assert lines[header].split() == ["judge", "P(chorale)", "P(chinese_folk)", "predicted"]
    fusion_line = lines[header + 3].split()
    assert fusion_line[0] == "late_fusion" and fusion_line[-3:] == ["chorale", "->", "chinese_folk"]
    assert fusion_line[1:4] == [f"{p.at['late_fusion', 'p_source_before']:.3f}", "->",
                                f"{p.at['late_fusion', 'p_source_after']:.3f}"]
    assert [line.split()[0] for line in lines[header + 1: header + 4]] == JUDGES
    assert lines[-1] == f"Wrote {out}/: restyled.mid, restyled.wav, restyled.mp4, probabilities.csv"


@pytest.mark.parametrize("i", [1, 2])
def test_the_clip_is_judged_by_the_fold_that_held_it_out(project, fake, tmp_path, i):
    fold = judging_fold(i)  # the only fold whose test part holds clip i
    donor = clip_id("fiddle_tune", 3)
    fake({"restyled": donor})
    params = project_params(project)
    result = restyle_request(params, RestyleRequest("fiddle_tune", clip=clip_id("chorale", i)), tmp_path / "out",
                             root=project)
    assert result.fold == fold and result.table["fold"].tolist() == [fold] * len(JUDGES)
    models = pd.read_pickle(project / "models" / DATASET / "late_fusion" / "fold_models.pkl")
    features = project / "data" / "processed" / DATASET / "features"
    X = {m: np.load(features / f"{m}.npz")["X"].astype(np.float64) for m in ("audio", "video", "score")}
    X["text"] = np.load(features / f"fold-{fold}" / "text.npz")["X"].astype(np.float64)
    ids = list(np.load(features / "audio.npz")["clip_ids"])
    row = result.table.set_index("judge").loc["late_fusion"]
    for clip, which in ((clip_id("chorale", i), "before"), (donor, "after")):
        j = ids.index(clip)
        x = {m: X[m][[j]] for m in MODALITIES}
        if which == "after":
            x["text"] = X["text"][[ids.index(clip_id("chorale", i))]]  # the source's words
        proba, classes = probabilities(models[fold]["style"], x, "style", ["style", "instrument"])
        expected = proba[0, list(classes).index("fiddle_tune")]
        assert row[f"p_target_{which}"] == pytest.approx(expected, abs=1e-6)
        other = models[(fold + 1) % N_FOLDS]["style"]
        assert row[f"p_target_{which}"] != pytest.approx(
            probabilities(other, x, "style", ["style"])[0][0, list(classes).index("fiddle_tune")], abs=1e-6)


def test_the_target_profile_is_learned_in_the_judging_fold_without_the_clip(project, fake, tmp_path):
    render = fake({"restyled": clip_id("chorale", 0)})
    params = project_params(project)
    source = clip_id("chinese_folk", 5)  # tested in fold 2
    result = restyle_request(params, RestyleRequest("chorale", clip=source, operators=("register", "texture")),
                             tmp_path / "out", root=project)
    fold_table = read_table(project / "data" / "processed" / DATASET / "features" / "fold-2" / "clips.csv")
    expected = fold_table[fold_table["split"].isin(["train", "validation"]) & (fold_table["style"] == "chorale")]
    assert result.fold == 2 and sorted(result.profile_clips) == sorted(expected["clip_id"])
    assert source not in result.profile_clips and len(result.profile_clips) == 4

    def notes_with(profile_clips):
        profile = learn_profile([style_notes("chorale", int(c[-4:])) for c in profile_clips],
                                params["style_transfer"]["profile"])
        transfer = Transfer(source, STYLE, "custom", "chorale", ("texture", "register"))
        return transferred_notes(style_notes("chinese_folk", 5), 0, transfer, profile, clip_quarters(CLIP_SECONDS),
                                 params["collect"]["max_repeats"])[0]

    from musicfusion.data.scores import read_score

    rendered = read_score(result.out / "restyled.mid", 1)
    assert np.allclose(rendered, notes_with(result.profile_clips), atol=1e-3)  # 1/480 of a quarter: a MIDI tick
    # Another fold's clips would give another profile (so which fold it is learned in matters).
    other = [clip_id("chorale", i) for i in (0, 3)]
    assert learn_profile([style_notes("chorale", int(c[-4:])) for c in other], params["style_transfer"]["profile"]) \
        != learn_profile([style_notes("chorale", int(c[-4:])) for c in result.profile_clips],
                         params["style_transfer"]["profile"])
    assert render.extracted[0]["items"][0][0] == "restyled"
    assert np.array_equal(render.extracted[0]["items"][0][1], notes_with(result.profile_clips))


def test_instrument_tempo_and_operator_sets(project, fake, tmp_path, capsys):
    render = fake({"restyled": clip_id("chorale", 1)})
    out = tmp_path / "out"
    assert run(project, "--clip", clip_id("fiddle_tune", 0), "--to", "chorale", "--operators", "scale, rhythm,scale",
               "--instrument", "flute", "--tempo", "0.5", "--out", str(out)) == 0
    params = project_params(project)
    assert render.rendered[0]["program"] == params["collect"]["instruments"]["flute"]
    notes = render.extracted[0]["items"][0][1]
    assert notes[:, 1].max() < clip_quarters(CLIP_SECONDS)
    assert np.median(np.diff(np.unique(notes[:, 1]))) == pytest.approx(0.25 / 0.5)  # sixteenths, half as fast
    assert "moved toward chorale with scale, rhythm; played by flute, 0.5 times as fast." in capsys.readouterr().out
    assert parse_operators(["all"], params["style_transfer"]["operator_sets"]) == ("texture", "scale", "register",
                                                                                  "rhythm")
    assert parse_operators(None, params["style_transfer"]["operator_sets"]) == parse_operators(
        ["rhythm", "register", "scale", "texture"], params["style_transfer"]["operator_sets"])


def test_a_score_file_is_judged_in_fold_0_against_its_own_rendering(project, fake, tmp_path, capsys):
    from musicfusion.symbolic.notes import NoteEvent

    score = tmp_path / "my tune.mid"
    # A tune in half notes: played at the middle of collect's pulse range, not at its notated tempo.
    write_midi([NoteEvent(60 + step, 2.0 * k, 2.0 * k + 2.0, 0) for k, step in enumerate([0, 2, 4, 5, 7, 5])], 0,
               score)
    render = fake({"original": clip_id("chorale", 2), "restyled": clip_id("fiddle_tune", 1)})
    out = tmp_path / "out"
    assert run(project, "--score", str(score), "--to", "fiddle_tune", "--instrument", "organ", "--out", str(out)) == 0
    assert sorted(p.name for p in out.iterdir()) == ["original.mid", "original.mp4", "original.wav",
                                                     "probabilities.csv", "restyled.mid", "restyled.mp4",
                                                     "restyled.wav"]
    params = project_params(project)
    instruments = params["collect"]["instruments"]
    assert [(r["name"], r["program"]) for r in render.rendered] == [("original", instruments["piano"]),
                                                                    ("restyled", instruments["organ"])]
    original = render.extracted[0]["items"][0][1]
    pulse = 60.0 / np.mean(params["collect"]["pulse_bpm"])  # seconds
    assert np.diff(original[:, 1])[0] * 0.5 == pytest.approx(pulse)
    table = pd.read_csv(out / "probabilities.csv")
    assert table["judge"].tolist() == ["audio_only", "late_fusion"]  # text_only has nothing to read
    assert (table["fold"] == 0).all() and table["p_source_before"].isna().all()
    row = table.set_index("judge").loc["late_fusion"]
    assert row["predicted_before"] == "chorale" and row["predicted_after"] == "fiddle_tune"
    printed = capsys.readouterr().out
    assert "a score file is in no fold: the models of fold 0 judge it" in printed
    assert "left out: text_only (a score file has no text)" in printed
    assert printed.splitlines()[0].startswith(f"Score file {score} (rendered as piano: original.*) moved toward "
                                              "fiddle_tune")


def test_a_failure_leaves_no_folder_behind(project, fake, tmp_path, capsys):
    fake({"restyled": clip_id("chorale", 0)}, fail=RuntimeError("fluidsynth failed (1): no audio\ndetails"))
    out = tmp_path / "parent" / "out"
    code = run(project, "--clip", clip_id("fiddle_tune", 0), "--to", "chorale", "--out", str(out))
    err = capsys.readouterr().err
    assert code == EXIT_ERROR and err == "musicfusion restyle: error: cannot render: fluidsynth failed (1): no audio\n"
    assert list(out.parent.iterdir()) == []  # the work folder, holding the rendered MIDI file, is gone


def test_a_failure_after_rendering_leaves_an_empty_out_folder_as_it_was(project, fake, tmp_path, capsys,
                                                                        monkeypatch):
    render = fake({"restyled": clip_id("chorale", 0)})
    original = render.render_and_extract

    def narrower(*args, **kwargs):  # features of another width than the workflow's
        return {m: frame.iloc[:, :3] for m, frame in original(*args, **kwargs).items()}

    monkeypatch.setattr(module, "render_and_extract", narrower)
    out = tmp_path / "out"
    out.mkdir()
    assert run(project, "--clip", clip_id("fiddle_tune", 0), "--to", "chorale", "--out", str(out)) == EXIT_ERROR
    assert "params.yaml features changed since" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == [out] and list(out.iterdir()) == []


def user_dataset_params(project: Path, tmp_path: Path) -> Path:
    params = project_params(project)
    params["datasets"] = {"mine": {"manifest": str(tmp_path / "manifest.csv"), "modalities": ["audio", "score"],
                                   "tasks": ["style"]}}
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(params, sort_keys=False), encoding="utf-8")
    return path


def garbage_score(tmp_path: Path) -> Path:
    path = tmp_path / "garbage.mid"
    path.write_bytes(b"MThd" + np.random.default_rng(0).bytes(200))
    return path


ERRORS = [
    (["--clip", "chorale-0001", "--to", "polka"], "unknown style 'polka'; the styles of dataset 'tiny': "
                                                  "chinese_folk, chorale, fiddle_tune"),
    (["--clip", "chorale-0099", "--to", "fiddle_tune"], "unknown clip id 'chorale-0099': dataset 'tiny' has 18 clips"),
    (["--clip", "chorale-0001", "--to", "chorale"], "clip chorale-0001 is already chorale; choose another style: "
                                                    "chinese_folk, fiddle_tune"),
    (["--clip", "chorale-0001", "--to", "fiddle_tune", "--operators", "scale,swing"], "unknown operator 'swing'"),
    (["--clip", "chorale-0001", "--to", "fiddle_tune", "--operators", "tempo"],
     "'tempo' is not a style operator: set it with --tempo"),
    (["--clip", "chorale-0001", "--to", "fiddle_tune", "--instrument", "kazoo"], "unknown instrument 'kazoo'; known: "),
    (["--clip", "chorale-0001", "--to", "fiddle_tune", "--tempo", "0"], "--tempo must be a positive factor"),
    (["--clip", "chorale-0001", "--to", "fiddle_tune", "--tempo", "-1.5"], "--tempo must be a positive factor"),
    (["--score", "{tmp}/nowhere.mid", "--to", "fiddle_tune"], "{tmp}/nowhere.mid: no such file"),
    (["--score", "{garbage}", "--to", "fiddle_tune"], "cannot read the score file: {garbage}: "),
]


@pytest.mark.parametrize("args, message", ERRORS)
def test_each_problem_is_one_line_and_exit_2(project, fake, tmp_path, capsys, args, message):
    render = fake({})
    names = {"tmp": str(tmp_path), "garbage": str(garbage_score(tmp_path))}
    out = tmp_path / "out"
    code = run(project, *[a.format(**names) for a in args], "--out", str(out))
    captured = capsys.readouterr()
    assert code == EXIT_ERROR and captured.out == ""
    assert captured.err.startswith("musicfusion restyle: error: ") and captured.err.count("\n") == 1
    assert message.format(**names) in captured.err
    assert not out.exists() and render.rendered == []


def test_project_problems_are_one_line_and_exit_2(project, fake, tmp_path, capsys):
    fake({})
    args = ["--clip", "chorale-0001", "--to", "fiddle_tune", "--out", str(tmp_path / "out")]

    def error(*extra: str) -> str:
        assert main(["restyle", *args, *extra]) == EXIT_ERROR
        captured = capsys.readouterr()
        assert captured.out == "" and captured.err.count("\n") == 1
        return captured.err

    # Nothing run yet: the first file missing is named.
    bare = tmp_path / "bare"
    bare.mkdir()
    shutil.copy(project / "params.yaml", bare / "params.yaml")
    assert error("--params", str(bare / "params.yaml")) == (
        f"musicfusion restyle: error: workflow not yet run: {bare}/data/raw/tiny/manifest.csv is missing; run "
        "`snakemake --cores all --config dataset=tiny` first\n")
    # One judge's models missing.
    partial = tmp_path / "partial"
    shutil.copytree(project, partial)
    (partial / "models" / "tiny" / "late_fusion" / "fold_models.pkl").unlink()
    assert error("--params", str(partial / "params.yaml")).endswith(
        f"{partial}/models/tiny/late_fusion/fold_models.pkl is missing; run `snakemake --cores all --config "
        "dataset=tiny` first\n")
    # A user dataset has no renderer settings.
    assert "dataset 'mine' is not a preset: style transfer renders as collect renders a preset" in error(
        "--params", str(user_dataset_params(project, tmp_path)), "--dataset", "mine")
    # An --out that holds something.
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "keep.txt").write_text("mine")
    assert error("--params", str(project / "params.yaml")) == (
        f"musicfusion restyle: error: {tmp_path / 'out'}: already exists and is not empty; choose another --out "
        "or remove it\n")
    assert (tmp_path / "out" / "keep.txt").read_text() == "mine"


def test_one_source_exactly(project):
    with pytest.raises(SystemExit) as exit_info:
        main(["restyle", "--clip", "a", "--score", "b.mid", "--to", "chorale", "--out", "x"])
    assert exit_info.value.code == EXIT_ERROR
    with pytest.raises(SystemExit):
        main(["restyle", "--to", "chorale", "--out", "x"])
    with pytest.raises(RestyleError, match="exactly one"):
        restyle_request(project_params(project), RestyleRequest("chorale"), "x", root=project)


def test_a_real_render_with_fluidsynth(project, tmp_path):
    import cv2
    import soundfile as sf

    from musicfusion.data.scores import read_score

    params = project_params(project)
    started = time.monotonic()
    result = restyle_request(params, RestyleRequest("chorale", clip=clip_id("fiddle_tune", 1), instrument="flute"),
                             tmp_path / "out", root=project)
    seconds = time.monotonic() - started
    audio, rate = sf.read(result.out / "restyled.wav")
    assert rate == params["collect"]["render_sample_rate"] and len(audio) == int(CLIP_SECONDS * rate)
    assert np.abs(audio).max() > 0.01  # it sounds
    video = cv2.VideoCapture(str(result.out / "restyled.mp4"))
    assert int(video.get(cv2.CAP_PROP_FRAME_COUNT)) == int(CLIP_SECONDS * params["collect"]["video"]["fps"])
    video.release()
    assert len(read_score(result.out / "restyled.mid", 2)) >= 2
    table = result.table
    assert table["judge"].tolist() == JUDGES and result.fold == 1
    assert table[["p_source_before", "p_source_after", "p_target_before", "p_target_after"]].apply(
        lambda column: column.between(0, 1)).all().all()
    assert seconds < 30, f"{seconds:.1f} s"  # about 3 s here; generous for a loaded machine
