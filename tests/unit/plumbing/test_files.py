"""io: every file the workflow reads or writes, written atomically."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from musicfusion.plumbing.files import (
    CorruptFileError,
    atomic_folder,
    atomic_path,
    load_npz,
    load_pickle,
    markdown_table,
    read_json,
    read_table,
    save_npz,
    save_pickle,
    write_csv,
    write_json,
    write_markdown,
)


def test_a_failed_write_leaves_neither_the_file_nor_a_temporary(tmp_path):
    target = tmp_path / "out" / "table.csv"
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError("the step failed")
    assert list(target.parent.iterdir()) == []
    write_csv(target, pd.DataFrame({"a": [1]}))
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError("the step failed")
    assert target.read_text() == "a\n1\n"  # the previous complete file stays


def test_round_trips(tmp_path):
    write_json(tmp_path / "m.json", {"b": 1, "a": ["ü"]})
    assert read_json(tmp_path / "m.json") == {"a": ["ü"], "b": 1}
    assert (tmp_path / "m.json").read_text(encoding="utf-8").index('"a"') < (tmp_path / "m.json").read_text().index('"b"')
    save_npz(tmp_path / "f.npz", X=np.eye(2, dtype=np.float32), clip_ids=np.array(["x", "y"]))
    data = load_npz(tmp_path / "f.npz")
    assert data["X"].dtype == np.float32 and data["clip_ids"].tolist() == ["x", "y"]
    save_pickle(tmp_path / "p.pkl", {"k": [1, 2]})
    assert load_pickle(tmp_path / "p.pkl") == {"k": [1, 2]}


def test_read_table_keeps_every_cell_as_text(tmp_path):
    (tmp_path / "t.csv").write_text("clip_id,split,title\n007,train,\nNA,test,None\n", encoding="utf-8")
    table = read_table(tmp_path / "t.csv")
    assert table["clip_id"].tolist() == ["007", "NA"] and table["title"].tolist() == ["", "None"]


def test_markdown_escapes_pipes_and_right_aligns_numbers(tmp_path):
    frame = pd.DataFrame({"name": ["a|b"], "value": [0.123456], "missing": [np.nan]})
    assert markdown_table(frame).splitlines() == ["| name | value | missing |", "| --- | ---: | ---: |",
                                                  "| a\\|b | 0.1235 |  |"]
    write_markdown(tmp_path / "t.md", frame)
    assert (tmp_path / "t.md").read_text().endswith("|\n")


# --------------------------------------------------------------------------------------------
# a truncated or corrupt npz is never read as data


def _features(path):
    rng = np.random.default_rng(0)
    save_npz(path, X=rng.normal(size=(300, 40)).astype(np.float32), clip_ids=np.array([f"c{i}" for i in range(300)]))
    return path.read_bytes()


@pytest.mark.parametrize("keep", [0.0, 0.01, 0.5, 0.99, -1])
def test_a_truncated_npz_raises_an_error_naming_the_file(tmp_path, keep):
    import zipfile

    raw = _features(tmp_path / "features.npz")
    cut = len(raw) - 1 if keep == -1 else int(keep * len(raw))
    (tmp_path / "features.npz").write_bytes(raw[:cut])
    with pytest.raises(CorruptFileError) as err:
        load_npz(tmp_path / "features.npz")
    assert not isinstance(err.value, zipfile.BadZipFile)
    assert str(err.value).startswith(f"{tmp_path / 'features.npz'} is truncated (")
    assert "run Snakemake again" in str(err.value) and err.value.path == str(tmp_path / "features.npz")
    with pytest.raises(CorruptFileError):  # reading only some arrays does not read a broken file either
        load_npz(tmp_path / "features.npz", ["clip_ids"])


def test_damaged_array_data_raises_an_error_naming_the_file_and_the_array(tmp_path):
    raw = bytearray(_features(tmp_path / "features.npz"))
    middle = len(raw) // 3  # inside X's compressed data; the archive's structure is intact
    raw[middle:middle + 16] = bytes(16)
    (tmp_path / "features.npz").write_bytes(bytes(raw))
    with pytest.raises(CorruptFileError) as err:
        load_npz(tmp_path / "features.npz")
    assert err.value.problem.startswith("corrupt (member 'X.npy': ")
    assert str(tmp_path / "features.npz") in str(err.value)


def test_a_file_that_is_no_npz_at_all_is_named(tmp_path):
    size = len(_features(tmp_path / "features.npz"))
    (tmp_path / "features.npz").write_bytes(bytes(size))  # zeros, as a crash can leave a file
    with pytest.raises(CorruptFileError, match="features.npz is corrupt \\(not a zip archive"):
        load_npz(tmp_path / "features.npz")


def test_missing_files_keys_and_pickled_arrays_keep_their_own_errors(tmp_path):
    import pickle

    with pytest.raises(FileNotFoundError):
        load_npz(tmp_path / "absent.npz")
    _features(tmp_path / "features.npz")
    with pytest.raises(KeyError):
        load_npz(tmp_path / "features.npz", ["nope"])
    np.savez(tmp_path / "objects.npz", o=np.array([{"a": 1}], dtype=object))
    with pytest.raises(ValueError, match="allow_pickle") as err:  # a sound file, refused on purpose
        load_npz(tmp_path / "objects.npz")
    assert not isinstance(err.value, CorruptFileError)
    error = pickle.loads(pickle.dumps(CorruptFileError("a.npz", "truncated (3 bytes)")))
    assert (error.path, error.problem, str(error)) == ("a.npz", "truncated (3 bytes)",
                                                        str(CorruptFileError("a.npz", "truncated (3 bytes)")))


def test_a_list_of_pieces_is_stored_as_their_concatenation(tmp_path):
    rng = np.random.default_rng(0)
    pieces = [rng.random((n, 4, 3)).astype(np.float32) for n in (5, 0, 2)]
    save_npz(tmp_path / "pieces.npz", frames=pieces, lengths=np.array([5, 0, 2]))
    loaded = load_npz(tmp_path / "pieces.npz")
    assert loaded["frames"].dtype == np.float32
    np.testing.assert_array_equal(loaded["frames"], np.concatenate(pieces))
    np.testing.assert_array_equal(loaded["lengths"], [5, 0, 2])


def test_pieces_of_different_shapes_or_types_are_refused_and_leave_no_file(tmp_path):
    with pytest.raises(ValueError, match="pieces differ"):
        save_npz(tmp_path / "bad.npz", x=[np.zeros((2, 3)), np.zeros((2, 4))])
    with pytest.raises(ValueError, match="pieces differ"):
        save_npz(tmp_path / "bad.npz", x=[np.zeros(2, np.float32), np.zeros(2, np.float64)])
    assert not (tmp_path / "bad.npz").exists()


@pytest.mark.parametrize("compress", [True, False])
def test_stored_or_deflated_npz_round_trips(tmp_path, compress):
    import zipfile

    audio = np.sin(np.arange(10_000, dtype=np.float32))
    save_npz(tmp_path / "a.npz", compress=compress, audio=audio, clip_ids=np.array(["a", "b"]))
    with zipfile.ZipFile(tmp_path / "a.npz") as archive:
        methods = {info.compress_type for info in archive.infolist()}
    assert methods == {zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED}
    loaded = load_npz(tmp_path / "a.npz")
    np.testing.assert_array_equal(loaded["audio"], audio)
    assert loaded["clip_ids"].tolist() == ["a", "b"]


def test_a_spool_of_pieces_is_stored_as_their_concatenation(tmp_path):
    from musicfusion.plumbing.files import PieceSpool

    rng = np.random.default_rng(1)
    pieces = [rng.integers(0, 255, (n, 3, 2)).astype(np.uint8) for n in (4, 0, 3)]
    spool = PieceSpool(tmp_path, np.uint8, (3, 2))
    for piece in pieces:
        spool.append(piece)
    with pytest.raises(ValueError, match="pieces differ"):
        spool.append(np.zeros((1, 2, 3), np.uint8))
    assert spool.rows == 7 and list(tmp_path.iterdir()) == []  # an anonymous file: nothing left behind
    save_npz(tmp_path / "s.npz", frames=spool)
    spool.close()
    np.testing.assert_array_equal(load_npz(tmp_path / "s.npz")["frames"], np.concatenate(pieces))


def test_an_atomic_folder_is_whole_or_absent(tmp_path):
    out = tmp_path / "answer"
    with pytest.raises(RuntimeError):
        with atomic_folder(out) as work:
            (work / "half.txt").write_text("x")
            raise RuntimeError("stopped halfway")
    assert not out.exists() and list(tmp_path.iterdir()) == []  # nothing under its name, no temporary left
    out.mkdir()  # an empty folder given is filled in one rename
    with atomic_folder(out) as work:
        (work / "whole.txt").write_text("x")
        assert not (out / "whole.txt").exists()
    assert [p.name for p in out.iterdir()] == ["whole.txt"] and list(tmp_path.iterdir()) == [out]
