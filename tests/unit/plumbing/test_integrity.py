"""integrity: truncated npz files are found cheaply, named and removed before Snakemake plans a
run, so the rules that make them run again (the workflow doing so: tests/e2e/test_damaged_files.py)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from musicfusion.plumbing import integrity
from musicfusion.plumbing.files import save_npz
from musicfusion.plumbing.integrity import find_npz, npz_problem, remove_broken_npz, scan_npz

BIN = Path(sys.executable).parent


def write_npz(path: Path, rows: int = 200, seed: int = 0) -> bytes:
    rng = np.random.default_rng(seed)
    save_npz(path, X=rng.normal(size=(rows, 30)).astype(np.float32),
             clip_ids=np.array([f"clip-{i}" for i in range(rows)]), lengths=np.arange(rows))
    return path.read_bytes()


# --------------------------------------------------------------------------------------------
# the check


def test_complete_files_pass(tmp_path):
    write_npz(tmp_path / "a.npz")
    save_npz(tmp_path / "empty_arrays.npz", X=np.zeros((0, 3), np.float32), clip_ids=np.array([], dtype=str))
    np.savez(tmp_path / "stored.npz", X=np.ones(10))  # uncompressed members too
    np.savez(tmp_path / "no_members.npz")  # an archive with nothing in it is complete
    assert [npz_problem(p) for p in sorted(tmp_path.iterdir())] == [None] * 4


def test_every_truncation_is_found(tmp_path):
    raw = write_npz(tmp_path / "a.npz", rows=2)
    cut_file = tmp_path / "cut.npz"
    for size in range(len(raw)):  # every length short of the whole file
        cut_file.write_bytes(raw[:size])
        problem = npz_problem(cut_file)
        assert problem is not None and problem.startswith("truncated ("), (size, problem)
    assert npz_problem(tmp_path / "a.npz") is None
    cut_file.write_bytes(b"")
    assert npz_problem(cut_file) == "truncated (0 bytes)"
    cut_file.write_bytes(raw[:500])
    assert npz_problem(cut_file) == "truncated (500 bytes, no zip end record)"


def test_damaged_structure_is_found(tmp_path):
    raw = write_npz(tmp_path / "a.npz")
    broken = tmp_path / "broken.npz"
    broken.write_bytes(bytes(len(raw)))  # zeros: the size is right, the content is gone
    assert npz_problem(broken).startswith("corrupt (not a zip archive")
    # a piece cut out of the middle: the end record is there, its offsets point past the data
    broken.write_bytes(raw[:3000] + raw[6000:])
    assert npz_problem(broken).startswith("truncated")
    # the second member's local header overwritten
    import zipfile

    with zipfile.ZipFile(tmp_path / "a.npz") as archive:
        offset = archive.infolist()[1].header_offset
    damaged = bytearray(raw)
    damaged[offset:offset + 4] = b"\0\0\0\0"
    broken.write_bytes(bytes(damaged))
    assert npz_problem(broken) == f"corrupt (member 'clip_ids.npy': no local header at byte {offset:,} of {len(raw):,})"


class CountingFile:
    """A binary file that counts the bytes read from it."""

    read_bytes = 0

    def __init__(self, path, mode="rb"):
        self._fh = open(path, mode)  # noqa: SIM115 - closed by __exit__/close

    def read(self, n=-1):
        data = self._fh.read(n)
        CountingFile.read_bytes += len(data)
        return data

    def __getattr__(self, name):
        return getattr(self._fh, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._fh.close()


def test_the_check_reads_a_few_kilobytes_whatever_the_size(tmp_path, monkeypatch):
    path = tmp_path / "big.npz"
    np.savez(path, X=np.zeros(4_000_000), clip_ids=np.array(["a", "b"]))  # stored: 32 MB on disk
    assert path.stat().st_size > 32_000_000
    monkeypatch.setattr(integrity, "open", CountingFile, raising=False)
    assert npz_problem(path) is None
    assert 0 < CountingFile.read_bytes < 70_000  # at most the end record's search window


# --------------------------------------------------------------------------------------------
# the scan and the removal


def tree(root: Path) -> dict[str, Path]:
    """interim and processed files as the workflow lays them out, two of them truncated."""
    files = {
        "interim": root / "data/interim/ds/audio/shard-000.npz",
        "interim_cut": root / "data/interim/ds/audio/shard-001.npz",
        "features": root / "data/processed/ds/features/audio.npz",
        "fold_cut": root / "data/processed/ds/features/fold-3/text.npz",
    }
    for i, path in enumerate(files.values()):
        path.parent.mkdir(parents=True, exist_ok=True)
        raw = write_npz(path, seed=i)
        if path.name in ("shard-001.npz", "text.npz"):
            path.write_bytes(raw[: len(raw) // 2])
    # not scanned: an atomic writer's temporary, other kinds of file
    (root / "data/processed/ds/features/.audio.npz.x1y2z3.npz").write_bytes(b"PK\x03\x04half")
    (root / "data/processed/ds/features/clips.csv").write_text("clip_id\n")
    return files


def test_the_scan_finds_every_broken_npz_under_the_roots(tmp_path):
    files = tree(tmp_path)
    roots = [tmp_path / "data/interim/ds", tmp_path / "data/processed/ds", tmp_path / "data/interim/absent"]
    assert list(find_npz(roots)) == [files["interim"], files["interim_cut"], files["features"], files["fold_cut"]]
    found = scan_npz(roots)
    assert [path for path, _ in found] == [files["interim_cut"], files["fold_cut"]]
    assert all(problem.startswith("truncated (") for _, problem in found)


def test_broken_files_are_removed_and_named_one_line_each(tmp_path):
    files = tree(tmp_path)
    roots = [tmp_path / "data/interim/ds", tmp_path / "data/processed/ds"]
    lines = []
    removed = remove_broken_npz(roots, log=lines.append, dry_run=True)
    assert removed == [files["interim_cut"], files["fold_cut"]] and len(lines) == 2
    assert all(p.is_file() for p in files.values())  # a dry run changes nothing
    assert lines[0].startswith(f"{files['interim_cut']} is truncated (") and lines[0].endswith("(dry run: left in place)")

    lines = []
    removed = remove_broken_npz(roots, log=lines.append)
    assert removed == [files["interim_cut"], files["fold_cut"]]
    assert not files["interim_cut"].exists() and not files["fold_cut"].exists()
    assert files["interim"].is_file() and files["features"].is_file()
    # the lines say what was wrong, and what happens next
    assert len(lines) == 2 and lines[1].startswith(f"{files['fold_cut']} is truncated (")
    assert all(line.endswith("): removed, Snakemake rebuilds it") for line in lines)
    assert remove_broken_npz(roots, log=lines.append) == [] and len(lines) == 2
