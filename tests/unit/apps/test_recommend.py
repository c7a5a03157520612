"""musicfusion recommend: queries turned into features as the workflow does, ranked with the best mapping.

A small synthetic project (features in the processed-features layout, mappings fitted by run_pair) keeps
these tests fast; tests/e2e/test_workflow.py runs the command on the real tiny workflow outputs.
"""

from __future__ import annotations

import copy
import json
import pickle
import shutil
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import pytest
import yaml

from musicfusion.apps.cli import EXIT_ERROR, main
from musicfusion.apps.recommend import RecommendError, format_table, recommend
from musicfusion.crossmodal.experiment import run_pair
from musicfusion.features import text as text_features
from musicfusion.features import video as video_features
from musicfusion.features.matrices import load_features
from musicfusion.plumbing.files import save_npz, save_pickle

DATASET = "tiny"
STYLES = {  # style -> words of its texts and the image row band its videos light up
    "hymn": (["organ", "psalm", "choir", "amen", "glory"], 0),
    "dance": (["fiddle", "reel", "jig", "step", "turn"], 1),
    "song": (["river", "moon", "love", "night", "sing"], 2),
}
CLIPS_PER_STYLE = 20
SPLIT_OF_CLIP = ["train"] * 12 + ["validation"] * 4 + ["test"] * 4
AUDIO_DIM = 24
VIDEO_SIZE = (320, 240)  # width, height of the query videos written to disk (as the corpus renders)
VIDEO_FPS = 25


def style_frame(band: int, width: int, height: int, rng) -> np.ndarray:
    """A grey frame lit in one horizontal band per style, with noise."""
    frame = rng.integers(0, 40, size=(height, width), dtype=np.uint8)
    top = band * height // len(STYLES)
    frame[top: top + height // len(STYLES)] += 180
    return frame


@pytest.fixture(scope="module")
def project(params, tmp_path_factory) -> Path:
    """A project folder with params.yaml, the library's features and fitted transfer models."""
    root = tmp_path_factory.mktemp("recommend_project")
    p = copy.deepcopy(params)
    p["dataset"] = DATASET
    (root / "params.yaml").write_text(yaml.safe_dump(p, sort_keys=False), encoding="utf-8")
    features = root / "data" / "processed" / DATASET / "features"
    features.mkdir(parents=True)

    rng = np.random.default_rng(0)
    centroids = {style: rng.normal(size=AUDIO_DIM) * 3 for style in STYLES}
    v = p["preprocess"]["video"]
    n_frames = int(round(p["collect"]["presets"][DATASET]["clip_seconds"] * v["fps"]))
    rows, docs, audio, frames = [], [], [], []
    for style, (words, band) in STYLES.items():
        for i in range(CLIPS_PER_STYLE):
            clip_id = f"{style}-{i:04d}"
            rows.append({"clip_id": clip_id, "split": SPLIT_OF_CLIP[i], "style": style,
                         "instrument": ["piano", "flute"][i % 2], "title": f"{style.title()} no. {i}"})
            docs.append(" ".join(rng.choice(words, size=6)) + f" opus{i}")
            audio.append(centroids[style] + rng.normal(size=AUDIO_DIM))
            frames.append([style_frame(band, v["width"], v["height"], rng) for _ in range(n_frames)])
    clips = pd.DataFrame(rows).sort_values("clip_id", kind="stable")
    order = clips.index.to_numpy()
    clips = clips.reset_index(drop=True)
    ids = clips["clip_id"].to_numpy(dtype=str)
    clips.to_csv(features / "clips.csv", index=False)

    train_docs = [docs[i] for i in order if rows[i]["split"] == "train"]
    vectorizer = text_features.fit(train_docs, p["features"]["text"])
    with open(features / "text_vectorizer.pkl", "wb") as fh:
        pickle.dump(vectorizer, fh)
    X_text, text_names = text_features.transform(vectorizer, [docs[i] for i in order])
    X_video, video_names = video_features.extract(np.asarray(frames, dtype=np.uint8)[order], p["features"]["video"])
    X_audio = np.asarray(audio, dtype=np.float32)[order]
    for modality, X, names in (("text", X_text, text_names), ("video", X_video, video_names),
                               ("audio", X_audio, [f"a{j}" for j in range(AUDIO_DIM)])):
        save_npz(features / f"{modality}.npz", clip_ids=ids, X=X.astype(np.float32),
                 feature_names=np.array(names, dtype=str))

    for source, target in (("text", "audio"), ("video", "audio")):
        X, library = load_features(features, [source, target])
        result = run_pair(source, target, X, library, p["transfer"], p["seed"], label="style", dataset=DATASET)
        save_pickle(root / "models" / DATASET / "transfer" / f"{source}_to_{target}.pkl", result.bundle)
    return root


def project_params(project: Path) -> dict:
    return yaml.safe_load((project / "params.yaml").read_text(encoding="utf-8"))


def write_video(path: Path, band: int, seconds: float, seed: int = 1) -> Path:
    rng = np.random.default_rng(seed)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), VIDEO_FPS, VIDEO_SIZE)
    for _ in range(int(seconds * VIDEO_FPS)):
        grey = style_frame(band, *VIDEO_SIZE, rng)
        writer.write(cv2.cvtColor(grey, cv2.COLOR_GRAY2BGR))
    writer.release()
    return path


def test_a_text_query_returns_top_k_clips_of_its_style(project):
    found = recommend(project_params(project), "text", "Organ psalm\tand  CHOIR, amen", top=5, root=project)
    assert list(found.table.columns) == ["rank", "score", "clip_id", "style", "instrument", "title"]
    assert found.table["rank"].tolist() == [1, 2, 3, 4, 5]
    assert found.table["score"].is_monotonic_decreasing
    assert (found.table["style"] == "hymn").sum() >= 4
    assert found.dataset == DATASET and found.method in project_params(project)["transfer"]["methods"]
    assert len(format_table(found).splitlines()) == 6  # header + 5 clips


@pytest.mark.parametrize("seconds", [1.0, 9.0])  # the dataset's clips last 4 s
def test_a_video_query_of_another_length_works(project, tmp_path, seconds):
    query = write_video(tmp_path / "query.mp4", band=STYLES["dance"][1], seconds=seconds)
    found = recommend(project_params(project), "video", str(query), top=3, root=project)
    assert len(found.table) == 3
    assert found.table["style"].iloc[0] == "dance"


def test_cli_prints_a_table_or_json(project, capsys):
    params = str(project / "params.yaml")
    assert main(["recommend", "--text", "fiddle reel", "--top", "4", "--params", params]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[1].split() == ["rank", "score", "clip_id", "style", "instrument", "title"]
    assert len(lines) == 2 + 4
    assert main(["recommend", "--text", "fiddle reel", "--params", params, "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["target"] == "audio" and len(out["results"]) == 5
    assert {"rank", "score", "clip_id", "style", "instrument", "title"} <= set(out["results"][0])


def missing_file(folder: Path) -> Path:
    return folder / "missing.mp4"


def empty_file(folder: Path) -> Path:
    path = folder / "empty.mp4"
    path.write_bytes(b"")
    return path


def garbage_file(folder: Path) -> Path:
    path = folder / "garbage.mp4"
    path.write_bytes(np.random.default_rng(0).bytes(4096))
    return path


@pytest.mark.parametrize("make_query, problem", [(missing_file, "file not found"), (empty_file, "empty file"),
                                                 (garbage_file, "unreadable video")])
def test_an_unreadable_video_is_one_line_naming_the_file_and_exit_2(project, tmp_path, capsys, make_query,
                                                                     problem):
    query = make_query(tmp_path)
    code = main(["recommend", "--video", str(query), "--params", str(project / "params.yaml")])
    captured = capsys.readouterr()
    assert code == EXIT_ERROR and captured.out == ""
    assert captured.err.count("\n") == 1 and str(query) in captured.err and problem in captured.err


def test_project_problems_are_explained(project, tmp_path):
    params = project_params(project)
    with pytest.raises(RecommendError, match=r"text->video is not in params.yaml transfer.pairs"):
        recommend(params, "text", "organ", target="video", root=project)
    with pytest.raises(RecommendError, match="transfer model not found; run the workflow first"):
        recommend(params, "text", "organ", root=tmp_path)
    # Models live per dataset; a bundle of another dataset under this one's folder is refused.
    elsewhere = tmp_path / "models" / "default" / "transfer" / "text_to_audio.pkl"
    elsewhere.parent.mkdir(parents=True)
    shutil.copyfile(project / "models" / DATASET / "transfer" / "text_to_audio.pkl", elsewhere)
    with pytest.raises(RecommendError, match="fitted on dataset 'tiny' but 'default' is selected"):
        recommend(params, "text", "organ", root=tmp_path, dataset="default")
    with pytest.raises(RecommendError, match="is in the vocabulary"):
        # Shares no word and no character n-gram with the training texts, whatever the analyzer.
        recommend(params, "text", "☃☃☃ ✓✓✓", root=project)
    with pytest.raises(RecommendError, match="empty"):
        recommend(params, "text", " \n\t ", root=project)


def test_cli_refuses_bad_arguments(project, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["recommend", "--text", "organ", "--video", "x.mp4"])
    assert exit_info.value.code == EXIT_ERROR
    with pytest.raises(SystemExit):
        main(["recommend", "--text", "organ", "--top", "0"])
    assert main(["recommend", "--text", "organ", "--params", str(project / "nowhere.yaml")]) == EXIT_ERROR
    assert "params file not found" in capsys.readouterr().err
