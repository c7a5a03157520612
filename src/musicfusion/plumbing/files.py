"""Reading and writing the workflow's files.

Every writer is atomic: a failed step never leaves a half-written output behind. A file that
is truncated or corrupt on disk all the same is never read as data: :func:`load_npz` raises
:class:`CorruptFileError` naming it.
"""

from __future__ import annotations

import contextlib
import json
import os
import pickle
import shutil
import struct
import tempfile
import zipfile
import zlib
from pathlib import Path

import numpy as np


class CorruptFileError(OSError):
    """A file on disk is truncated or corrupt; the message names it and the way to rebuild it."""

    def __init__(self, path: str | Path, problem: str):
        super().__init__(f"{path} is {problem}: remove it and run Snakemake again to rebuild it")
        self.path, self.problem = str(path), problem

    def __reduce__(self):  # pickled across processes with its own arguments, not OSError's
        return type(self), (self.path, self.problem)


@contextlib.contextmanager
def atomic_path(path: str | Path, suffix: str | None = None):
    """Yield a temporary path beside ``path``; rename it into place only on success."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix or path.suffix, dir=path.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


@contextlib.contextmanager
def atomic_folder(out: str | Path):
    """Yield a new temporary folder beside ``out`` (a new or empty folder) to fill; when the block ends, it
    becomes ``out`` in one rename, so ``out`` holds every file or none. An exception removes it instead."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        yield work
        if out.is_dir():
            out.rmdir()  # empty: one that filled meanwhile makes this fail rather than be replaced
        umask = os.umask(0)
        os.umask(umask)
        work.chmod(0o777 & ~umask)  # a folder as mkdir makes it (mkdtemp's is private to its owner)
        os.rename(work, out)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise


def write_text(path: str | Path, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_json(path: str | Path, obj) -> None:
    write_text(path, json.dumps(obj, indent=2, sort_keys=True, ensure_ascii=False) + "\n")


def read_json(path: str | Path):
    with open(path, encoding="utf-8") as fh:
        return json.load(fh)


def read_table(path: str | Path):
    """A CSV the workflow wrote (or a manifest): every column as text, empty cells as ''."""
    import pandas as pd

    return pd.read_csv(path, dtype=str, keep_default_na=False)


def write_csv(path: str | Path, frame) -> None:
    with atomic_path(path) as tmp:
        frame.to_csv(tmp, index=False, lineterminator="\n")


def _markdown_cell(value, float_format: str) -> str:
    if isinstance(value, (float, np.floating)):
        return "" if np.isnan(value) else format(value, float_format)
    return str(value).replace("|", "\\|").replace("\n", " ")


def markdown_table(frame, float_format: str = ".4f") -> str:
    """A GitHub pipe table of ``frame`` (numeric columns right-aligned); no trailing newline."""
    import pandas as pd

    header = [_markdown_cell(c, float_format) for c in frame.columns]
    align = ["---:" if pd.api.types.is_numeric_dtype(frame[c]) else "---" for c in frame.columns]
    body = [[_markdown_cell(v, float_format) for v in row] for row in frame.itertuples(index=False)]
    return "\n".join(f"| {' | '.join(cells)} |" for cells in [header, align, *body])


def write_markdown(path: str | Path, frame) -> None:
    write_text(path, markdown_table(frame) + "\n")


def save_pickle(path: str | Path, obj) -> None:
    """A fitted model (or any Python object) pickled atomically."""
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        pickle.dump(obj, fh, protocol=pickle.HIGHEST_PROTOCOL)


def load_pickle(path: str | Path):
    with open(path, "rb") as fh:
        return pickle.load(fh)


def save_npz(path: str | Path, *, compress: bool = True, compresslevel: int | None = None, **arrays) -> None:
    """An npz (the format of np.savez) written atomically, deflated unless ``compress`` is False
    (what does not compress, such as audio samples, loads faster stored).

    A value may be a list of arrays that agree in all but their first axis, or a
    :class:`PieceSpool` of them: it is stored as their concatenation, written one piece at a time,
    so it is never held twice in memory. ``compresslevel`` is zlib's (1 is fastest).
    """
    method = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
    with atomic_path(path, suffix=".npz") as tmp, zipfile.ZipFile(tmp, "w", compression=method, compresslevel=compresslevel) as archive:
        for name, value in arrays.items():
            with archive.open(f"{name}.npy", "w", force_zip64=True) as member:
                if isinstance(value, (list, PieceSpool)):
                    _write_pieces(member, value)
                else:
                    np.lib.format.write_array(member, np.asanyarray(value), allow_pickle=False)


class PieceSpool:
    """The pieces of one array, written to a temporary file in ``folder`` as they come, so that
    building it holds one piece in memory; ``save_npz`` stores them as their concatenation."""

    COPY_BYTES = 1 << 24  # copied into the archive in blocks of this size

    def __init__(self, folder: str | Path, dtype, rest_shape: tuple = ()):
        self.dtype, self.rest_shape, self.rows = np.dtype(dtype), tuple(rest_shape), 0
        self._file = tempfile.TemporaryFile(dir=folder)  # gone when closed, or if the job dies

    def append(self, piece: np.ndarray) -> None:
        piece = np.ascontiguousarray(piece, dtype=self.dtype)
        if piece.shape[1:] != self.rest_shape:
            raise ValueError(f"pieces differ: {piece.shape[1:]} after {self.rest_shape}")
        self._file.write(piece.data)
        self.rows += len(piece)

    def write_to(self, out) -> None:
        """Copy the pieces, in order, to ``out``."""
        self._file.seek(0)
        while block := self._file.read(self.COPY_BYTES):
            out.write(block)

    def close(self) -> None:
        self._file.close()


def _write_pieces(out, pieces: list[np.ndarray] | PieceSpool) -> None:
    """Write the .npy of ``np.concatenate(pieces)`` without building it."""
    if isinstance(pieces, PieceSpool):
        header = {"descr": np.lib.format.dtype_to_descr(pieces.dtype), "fortran_order": False,
                  "shape": (pieces.rows, *pieces.rest_shape)}
        np.lib.format.write_array_header_1_0(out, header)
        pieces.write_to(out)
        return
    if not pieces:
        raise ValueError("a list of arrays to store needs at least one array (its dtype and shape)")
    dtype, rest = pieces[0].dtype, pieces[0].shape[1:]
    for piece in pieces:
        if piece.dtype != dtype or piece.shape[1:] != rest:
            raise ValueError(f"pieces differ: {piece.dtype}{piece.shape[1:]} after {dtype}{rest}")
    header = {"descr": np.lib.format.dtype_to_descr(dtype), "fortran_order": False,
              "shape": (sum(len(p) for p in pieces), *rest)}
    np.lib.format.write_array_header_1_0(out, header)
    for piece in pieces:
        out.write(np.ascontiguousarray(piece).tobytes())


# What numpy and zipfile raise on a damaged archive (a bad CRC, a cut deflate stream, ...).
_DAMAGED = (zipfile.BadZipFile, zlib.error, EOFError, ValueError, struct.error, NotImplementedError, OSError)


def load_npz(path: str | Path, keys=None) -> dict:
    """An npz file's arrays, or only ``keys`` of them (the others are never read).

    A truncated or corrupt file raises :class:`CorruptFileError` naming it (every member read
    is checked against its CRC); a missing file or key raises as usual.
    """
    try:
        with np.load(path, allow_pickle=False) as data:
            return {key: data[key] for key in (data.files if keys is None else keys)}
    except _DAMAGED as err:
        if isinstance(err, (FileNotFoundError, IsADirectoryError, PermissionError)):
            raise
        from musicfusion.plumbing.integrity import npz_problem

        problem = npz_problem(path)
        if problem is None:
            member = _damaged_member(path)  # reads every member, on this error path only
            if member is None and isinstance(err, ValueError):
                raise  # a sound archive holding what cannot be read without pickle
            problem = f"corrupt ({f'member {member!r}: ' if member else ''}{type(err).__name__}: {err})"
        raise CorruptFileError(path, problem) from err


def _damaged_member(path: str | Path) -> str | None:
    """The first member of a zip archive whose data does not decompress to its CRC, or None."""
    with zipfile.ZipFile(path) as archive:
        for name in archive.namelist():
            try:
                with archive.open(name) as member:
                    while member.read(1 << 20):
                        pass
            except (zipfile.BadZipFile, zlib.error, EOFError):
                return name
    return None
