"""Integrity of the workflow's npz files on disk, checked before Snakemake plans a run.

Snakemake decides what to rebuild from files' existence and modification times: a truncated
file (a full disk, a copy or a sync cut short) looks as complete as any other and would be read
as data. :func:`remove_broken_npz` finds every npz file under the dataset's folders that is not a
complete zip archive, names it in the log and removes it, so Snakemake runs the rules that make
it, and everything downstream, again.

The check is cheap whatever a file's size: it reads the zip end record and central directory at
the end of the file and each member's 30-byte local header, and checks that every member's data
lies within the file; it never reads the data itself (a damaged byte inside a complete archive
is found when the file is loaded, :func:`musicfusion.plumbing.files.load_npz`, by its CRC).
"""

from __future__ import annotations

import os
import struct
import zipfile
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

ZIP_LOCAL_HEADER = b"PK\x03\x04"
_ZIP_EMPTY = b"PK\x05\x06"  # an archive without members starts with its end record
_LOCAL_HEADER = struct.Struct("<4s22xHH")  # signature, ..., name length, extra length: 30 bytes
_DATA_DESCRIPTOR_MIN = 12  # crc, compressed and uncompressed size after the data (flag bit 3)


def npz_problem(path: str | Path) -> str | None:
    """What is wrong with the npz file at ``path``, as a phrase ("truncated (...)"), or None.

    Reads only the archive's end record, its central directory and one local header per
    member: the cost does not grow with the file's size.
    """
    path = Path(path)
    size = path.stat().st_size
    if size == 0:
        return "truncated (0 bytes)"
    with open(path, "rb") as fh:
        head = fh.read(4)
        if len(head) < 4 and ZIP_LOCAL_HEADER.startswith(head):
            return f"truncated ({size:,} bytes)"
        if head not in (ZIP_LOCAL_HEADER, _ZIP_EMPTY):
            return f"corrupt (not a zip archive: it starts with {head!r}, {size:,} bytes)"
        try:
            with zipfile.ZipFile(fh) as archive:
                members, data_end = archive.infolist(), archive.start_dir
        except zipfile.BadZipFile as err:
            if str(err) == "File is not a zip file":
                return f"truncated ({size:,} bytes, no zip end record)"
            return f"truncated or corrupt ({size:,} bytes: {err})"
        except (OSError, ValueError, struct.error) as err:
            return f"truncated or corrupt ({size:,} bytes: {err})"
        for member in members:
            if not 0 <= member.header_offset < data_end:
                return (f"truncated or corrupt (member {member.filename!r} would start at byte "
                        f"{member.header_offset:,}, outside the archive's data, {size:,} bytes)")
            fh.seek(member.header_offset)
            header = fh.read(_LOCAL_HEADER.size)
            if len(header) < _LOCAL_HEADER.size or header[:4] != ZIP_LOCAL_HEADER:
                return (f"corrupt (member {member.filename!r}: no local header at byte "
                        f"{member.header_offset:,} of {size:,})")
            _, name_length, extra_length = _LOCAL_HEADER.unpack(header)
            end = member.header_offset + _LOCAL_HEADER.size + name_length + extra_length + member.compress_size
            if member.flag_bits & 0x08:
                end += _DATA_DESCRIPTOR_MIN
            if end > data_end:
                return (f"truncated (member {member.filename!r} needs bytes up to {end:,}, "
                        f"the archive's data ends at byte {data_end:,})")
    return None


def find_npz(roots: Iterable[str | Path]) -> Iterator[Path]:
    """Every ``*.npz`` file under ``roots`` (missing roots are skipped), sorted, leaving out
    hidden files: the temporaries of :func:`musicfusion.plumbing.files.atomic_path` are not outputs."""
    for root in roots:
        for folder, dirs, files in os.walk(root):
            dirs.sort()
            for name in sorted(files):
                if name.endswith(".npz") and not name.startswith("."):
                    yield Path(folder) / name


def scan_npz(roots: Iterable[str | Path]) -> list[tuple[Path, str]]:
    """``(path, problem)`` of every broken npz file under ``roots``."""
    found = []
    for path in find_npz(roots):
        try:
            problem = npz_problem(path)
        except FileNotFoundError:  # removed meanwhile: nothing left to read as data
            continue
        if problem is not None:
            found.append((path, problem))
    return found


def remove_broken_npz(roots: Iterable[str | Path], log: Callable[[str], object] = print,
                      dry_run: bool = False) -> list[Path]:
    """Remove every broken npz file under ``roots``, one line each to ``log``; return them.

    With ``dry_run`` the files are named and left in place (a dry run changes nothing, so it
    does not show their rebuild either).
    """
    broken = scan_npz(roots)
    for path, problem in broken:
        if dry_run:
            log(f"{path} is {problem}: a real run removes it and Snakemake rebuilds it (dry run: left in place)")
            continue
        path.unlink(missing_ok=True)
        log(f"{path} is {problem}: removed, Snakemake rebuilds it")
    return [path for path, _ in broken]
