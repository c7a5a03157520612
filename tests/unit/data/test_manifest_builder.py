"""`musicfusion manifest`: a manifest built from a folder of media files (placeholder files: the builder
reads nothing, the command lists their headers as unreadable; real media: test_manifest_builder_media.py)."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pytest
import yaml

from musicfusion.apps.cli import EXIT_ERROR, main
from musicfusion.data.manifest_builder import EXTENSIONS, ManifestBuildError, build_manifest, dataset_entry, relocate


def make_tree(root: Path, files: list[str]) -> Path:
    for rel in files:
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"x")
    return root


def problems(build) -> dict[str, str]:
    return dict(zip(build.unpaired["path"], build.unpaired["problem"]))


@pytest.fixture()
def songs(tmp_path) -> Path:
    return make_tree(tmp_path / "songs", [
        "rock/song01.wav", "rock/song01.mp4", "rock/song01.txt",
        "rock/song02.flac", "rock/song02.MKV",                    # no text
        "jazz/live/take1.ogg", "jazz/live/take1.mov", "jazz/live/take1.txt",  # deeper in a class
        "jazz/blue.mp3", "jazz/blue.webm", "jazz/blue.txt",
    ])


def test_extensions_per_modality():
    assert EXTENSIONS == {"audio": ("wav", "flac", "ogg", "mp3", "aiff", "aif", "m4a"),
                          "video": ("mp4", "mkv", "avi", "mov", "webm", "m4v"), "text": ("txt",),
                          "score": ("mid", "midi", "xml", "musicxml", "mxl", "krn", "abc")}


def test_class_folders_pair_by_stem_and_label_by_folder(songs):
    build = build_manifest(songs, "genre", "class-folders")
    m = build.manifest
    assert list(m.columns) == ["clip_id", "genre", "audio_path", "video_path", "text_path"]
    assert m["clip_id"].tolist() == ["jazz__blue", "jazz__live__take1", "rock__song01", "rock__song02"]
    assert m["genre"].tolist() == ["jazz", "jazz", "rock", "rock"]
    row = m.set_index("clip_id").loc["jazz__live__take1"]
    assert (row["audio_path"], row["video_path"], row["text_path"]) == (
        "jazz/live/take1.ogg", "jazz/live/take1.mov", "jazz/live/take1.txt")
    assert m.set_index("clip_id").loc["rock__song02", "video_path"] == "rock/song02.MKV"  # any case
    assert build.modalities == ["audio", "video", "text"]
    assert build.classes == {"jazz": 2, "rock": 2}


def test_a_missing_modality_is_an_empty_path_and_reported(songs):
    build = build_manifest(songs, "genre", "class-folders")
    row = build.manifest.set_index("clip_id").loc["rock__song02"]
    assert row["text_path"] == "" and row["audio_path"] == "rock/song02.flac"
    assert problems(build) == {"rock/song02.MKV": "no text file with this stem"}


def test_modalities_are_those_found(tmp_path):
    root = make_tree(tmp_path / "d", ["a/x.txt", "a/x.wav", "b/y.wav"])
    build = build_manifest(root, "label", "class-folders")
    assert build.modalities == ["audio", "text"]
    assert list(build.manifest.columns) == ["clip_id", "label", "audio_path", "text_path"]
    assert problems(build) == {"b/y.wav": "no text file with this stem"}


def test_unknown_extension_files_in_the_root_and_hidden_files(tmp_path):
    root = make_tree(tmp_path / "d", ["pop/a.wav", "pop/cover.jpg", "pop/NOTES", "readme.wav",
                                      "pop/.DS_Store", ".cache/z.wav", "pop/.hidden.wav", "manifest.csv"])
    build = build_manifest(root, "label", "class-folders")
    assert build.manifest["clip_id"].tolist() == ["pop__a"]
    found = problems(build)
    assert set(found) == {"pop/cover.jpg", "pop/NOTES", "readme.wav"}  # hidden + manifest.csv silent
    assert found["pop/cover.jpg"].startswith("unknown extension '.jpg'")
    assert found["pop/NOTES"].startswith("no extension")
    assert "not in a class folder" in found["readme.wav"]


def test_ambiguous_stems_are_reported_and_not_used(tmp_path):
    root = make_tree(tmp_path / "d", ["pop/a.wav", "pop/a.flac", "pop/a.txt", "pop/b.wav", "pop/b.txt"])
    build = build_manifest(root, "label", "class-folders")
    m = build.manifest.set_index("clip_id")
    assert m.loc["pop__a", "audio_path"] == "" and m.loc["pop__a", "text_path"] == "pop/a.txt"
    found = problems(build)
    assert set(found) == {"pop/a.wav", "pop/a.flac"}
    assert all(p.startswith("ambiguous") for p in found.values())


def test_a_symlink_outside_the_root_is_refused_not_followed(tmp_path):
    outside = make_tree(tmp_path / "elsewhere", ["secret.wav", "more/x.wav"])
    root = make_tree(tmp_path / "d", ["pop/a.wav"])
    os.symlink(outside / "secret.wav", root / "pop" / "b.wav")
    os.symlink(outside / "more", root / "pop" / "linked")        # a folder: not walked
    os.symlink(outside / "more", root / "stolen")                 # a whole class folder
    os.symlink(root / "pop" / "a.wav", root / "pop" / "alias.wav")  # inside the root: fine
    os.symlink(root / "pop" / "gone.wav", root / "pop" / "broken.wav")
    build = build_manifest(root, "label", "class-folders")
    assert build.manifest["clip_id"].tolist() == ["pop__a", "pop__alias"]
    assert "elsewhere" not in "".join(build.manifest["audio_path"])
    found = problems(build)
    for rel in ("pop/b.wav", "pop/linked", "stolen"):
        assert found[rel].startswith("outside the data root"), rel
    assert found["pop/broken.wav"] == "broken symbolic link"


def test_a_symlink_loop_is_not_walked_twice(tmp_path):
    root = make_tree(tmp_path / "d", ["pop/a.wav"])
    os.symlink(root / "pop", root / "pop" / "again")
    build = build_manifest(root, "label", "class-folders")
    assert build.manifest["clip_id"].tolist() == ["pop__a"]
    assert "not scanned twice" in problems(build)["pop/again/"]


def test_flat_layout_has_no_label_column(tmp_path):
    root = make_tree(tmp_path / "d", ["x.wav", "x.txt", "sub/deeper/y.wav", "sub/deeper/y.txt"])
    build = build_manifest(root, None, "flat")
    assert list(build.manifest.columns) == ["clip_id", "audio_path", "text_path"]
    assert build.manifest["clip_id"].tolist() == ["sub__deeper__y", "x"]
    assert build.manifest["audio_path"].tolist() == ["sub/deeper/y.wav", "x.wav"]
    assert build.unpaired.empty and build.classes == {}
    with pytest.raises(ValueError, match="flat layout has no labels"):
        build_manifest(root, "genre", "flat")


def test_clip_ids_are_unique_even_ignoring_case(tmp_path):
    root = make_tree(tmp_path / "d", ["pop/Song.wav", "pop/song.wav", "a__b/c.wav", "a/b__c.wav"])
    ids = build_manifest(root, None, "flat").manifest["clip_id"].tolist()
    assert len({i.casefold() for i in ids}) == 4
    assert sorted(ids) == ids
    assert set(ids) == {"a__b__c", "a__b__c-2", "pop__Song", "pop__song-2"}


def test_the_same_tree_gives_the_same_manifest(tmp_path):
    files = ["b/z.wav", "a/y.mp4", "a/y.wav", "c/q.txt", "a/k.bin", "c/r.wav"]
    first = build_manifest(make_tree(tmp_path / "one", files), "label", "class-folders")
    second = build_manifest(make_tree(tmp_path / "two", list(reversed(files))), "label", "class-folders")
    pd.testing.assert_frame_equal(first.manifest, second.manifest)
    pd.testing.assert_frame_equal(first.unpaired, second.unpaired)
    assert first.manifest["clip_id"].is_monotonic_increasing


@pytest.mark.parametrize("layout, files, message", [
    ("class-folders", None, "no such folder"),
    ("class-folders", ["only_here.wav"], "no clip found in a class folder"),
    ("flat", ["notes.pdf"], "no clip found"),
])
def test_bad_roots_are_errors_naming_the_root(tmp_path, layout, files, message):
    root = tmp_path / "data"
    if files is not None:
        make_tree(root, files)
    label = "label" if layout == "class-folders" else None
    with pytest.raises(ManifestBuildError, match=message) as err:
        build_manifest(root, label, layout)
    assert str(root) in str(err.value)


def test_options_are_checked(tmp_path):
    root = make_tree(tmp_path / "d", ["a/x.wav", "f.wav"])
    with pytest.raises(ValueError, match="not a folder"):
        build_manifest(root / "f.wav", "label", "class-folders")
    with pytest.raises(ValueError, match="unknown layout"):
        build_manifest(root, "label", "nested")
    with pytest.raises(ValueError, match="needs a label column"):
        build_manifest(root, None, "class-folders")
    with pytest.raises(ValueError, match="column of the manifest format"):
        build_manifest(root, "split", "class-folders")
    with pytest.raises(ValueError, match="task name"):
        build_manifest(root, "music genre", "class-folders")


def test_relocate_prefixes_paths_only_for_a_containing_folder(tmp_path):
    root = make_tree(tmp_path / "d" / "media", ["a/x.wav", "a/x.txt", "a/y.wav"])
    manifest = build_manifest(root, "label", "class-folders").manifest
    moved = relocate(manifest, root, tmp_path / "d")
    assert moved["audio_path"].tolist() == ["media/a/x.wav", "media/a/y.wav"]
    assert moved["text_path"].tolist() == ["media/a/x.txt", ""]
    with pytest.raises(ValueError, match="or a folder containing it"):
        relocate(manifest, root, root / "a")


def test_dataset_entry_round_trips_through_yaml(tmp_path):
    text = dataset_entry("my_songs", tmp_path / "m" / "manifest.csv", ["audio", "text"], ["genre"])
    assert yaml.safe_load(text) == {"datasets": {"my_songs": {
        "manifest": str(tmp_path / "m" / "manifest.csv"), "modalities": ["audio", "text"], "tasks": ["genre"]}}}
    assert "modalities: [audio, text]" in text
    relative = yaml.safe_load(dataset_entry("x", "manifest.csv", ["audio"], []))
    assert Path(relative["datasets"]["x"]["manifest"]).is_absolute()
    with pytest.raises(ValueError, match="dataset name"):
        dataset_entry("my songs", "m.csv", ["audio"], [])


# --- the CLI ------------------------------------------------------------------------------------

def test_cli_writes_the_manifest_and_prints_the_entry(songs, capsys):
    assert main(["manifest", str(songs), "--name", "my_songs", "--label-column", "genre"]) == 0
    out, err = capsys.readouterr()
    written = pd.read_csv(songs / "manifest.csv", dtype=str, keep_default_na=False)
    assert list(written.columns) == ["clip_id", "genre", "audio_path", "video_path", "text_path"]
    assert len(written) == 4 and written.loc[written["clip_id"] == "rock__song02", "text_path"].item() == ""
    summary, entry = out.split("\n", 1)
    assert "4 clips, classes: jazz (2), rock (2), modalities: audio, video, text" in summary
    assert yaml.safe_load(entry) == {"datasets": {"my_songs": {
        "manifest": str((songs / "manifest.csv").absolute()), "modalities": ["audio", "video", "text"],
        "tasks": ["genre"]}}}
    lines = err.splitlines()
    assert lines[:2] == ["rock/song02.MKV: no text file with this stem",
                         "1 file(s) skipped or unpaired (listed above)"]
    # The placeholder media have no header: each is listed as the workflow would refuse it.
    media = ["jazz/blue.mp3", "jazz/blue.webm", "jazz/live/take1.mov", "jazz/live/take1.ogg",
             "rock/song01.mp4", "rock/song01.wav", "rock/song02.MKV", "rock/song02.flac"]
    assert [line.split(": ", 1)[0] for line in lines[2:-1]] == media
    assert all(": unreadable " in line for line in lines[2:-1])
    assert lines[-1].startswith("8 file(s) in the manifest that the workflow would refuse as bad clips")
    # a second run ignores the manifest it wrote, and the same tree gives the same file
    before = (songs / "manifest.csv").read_bytes()
    assert main(["manifest", str(songs), "--name", "my_songs", "--label-column", "genre", "--force"]) == 0
    assert (songs / "manifest.csv").read_bytes() == before


def test_cli_refuses_to_overwrite_without_force(songs, capsys):
    (songs / "manifest.csv").write_text("mine\n")
    assert main(["manifest", str(songs), "--name", "s"]) == EXIT_ERROR
    out, err = capsys.readouterr()
    assert out == "" and len(err.splitlines()) == 1 and "manifest.csv" in err and "--force" in err
    assert (songs / "manifest.csv").read_text() == "mine\n"
    assert main(["manifest", str(songs), "--name", "s", "--force"]) == 0
    assert pd.read_csv(songs / "manifest.csv")["label"].tolist() == ["jazz", "jazz", "rock", "rock"]


def test_cli_flat_layout_and_output_elsewhere(tmp_path, capsys):
    root = make_tree(tmp_path / "d" / "media", ["x.wav", "sub/y.wav"])
    output = tmp_path / "d" / "clips.csv"
    assert main(["manifest", str(root), "--name", "flat-1", "--layout", "flat", "--output", str(output)]) == 0
    out, err = capsys.readouterr()
    assert "classes: none" in out.splitlines()[0]
    assert "no labels" in err
    assert yaml.safe_load(out.split("\n", 1)[1])["datasets"]["flat-1"]["tasks"] == []
    assert pd.read_csv(output)["audio_path"].tolist() == ["media/sub/y.wav", "media/x.wav"]


@pytest.mark.parametrize("args, expected", [
    (["{root}/missing", "--name", "s"], "no such folder"),
    (["{root}/empty", "--name", "s"], "no clip found"),
    (["{root}", "--name", "s", "--layout", "flat", "--label-column", "genre"], "flat layout has no labels"),
    (["{root}", "--name", "my songs"], "dataset name"),
    (["{root}", "--name", "s", "--output", "{root}/pop/m.csv"], "folder containing it"),
])
def test_cli_bad_input_is_one_line_and_exit_2(tmp_path, capsys, args, expected):
    root = make_tree(tmp_path / "d", ["pop/a.wav"])
    (root / "empty").mkdir()
    code = main(["manifest", *(a.format(root=root) for a in args)])
    out, err = capsys.readouterr()
    assert code == EXIT_ERROR and out == ""
    assert len(err.splitlines()) == 1 and expected in err and "Traceback" not in err
    assert sorted(p.name for p in root.rglob("*.csv")) == []


def test_cli_missing_folder_names_it(tmp_path, capsys):
    missing = tmp_path / "nowhere"
    assert main(["manifest", str(missing), "--name", "s"]) == EXIT_ERROR
    err = capsys.readouterr().err
    assert err.splitlines() == [f"musicfusion manifest: error: {missing}: no such folder"]
    assert not missing.exists()
