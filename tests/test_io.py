"""io: every file the workflow reads or writes, written atomically."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from musicfusion.io import (atomic_path, load_npz, load_pickle, markdown_table, read_json, read_table, save_npz,
                            save_pickle, write_csv, write_json, write_markdown)


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
