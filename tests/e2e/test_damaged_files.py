"""Damaged files in a finished run: truncated interim and feature files are named, removed and
rebuilt byte for byte before Snakemake plans the run, by the main process only
(musicfusion.plumbing.integrity)."""

from __future__ import annotations

from pathlib import Path

import pytest

from musicfusion.plumbing.integrity import npz_problem

from support import copy_run, snakemake

TARGET = "data/processed/tiny/features/audio.npz"
SHARD = "data/interim/tiny/audio/shard-000.npz"


@pytest.fixture(scope="module")
def built(tiny_run, tmp_path_factory) -> Path:
    """A private copy of the session's finished tiny run."""
    return copy_run(tiny_run, tmp_path_factory.mktemp("integrity") / "project")


@pytest.mark.workflow
def test_truncated_interim_and_feature_files_are_named_removed_and_rebuilt(built):
    shard_outputs = [f"data/interim/tiny/{m}/shard-000.npz" for m in ("audio", "video", "text")]
    originals = {name: (built / name).read_bytes() for name in [SHARD, TARGET, *shard_outputs]}
    for name in (SHARD, TARGET):
        (built / name).write_bytes(originals[name][: len(originals[name]) // 2])

    dry = snakemake(built, "-n", TARGET)
    dry_log = dry.stdout + dry.stderr
    for name in (SHARD, TARGET):
        assert f"{name} is truncated (" in dry_log and "dry run: left in place" in dry_log
        assert (built / name).stat().st_size == len(originals[name]) // 2

    run = snakemake(built, TARGET)
    log = run.stdout + run.stderr
    for name in (SHARD, TARGET):
        line = (f"{name} is truncated ({len(originals[name]) // 2:,} bytes, no zip end record): "
                "removed, Snakemake rebuilds it")
        assert log.count(line) == 1, log[-3000:]  # scanned once, by the main process
    assert "rule preprocess:" in log and "shard=000" in log and "rule gather_features:" in log
    # rebuilt, byte for byte what the first run made: the shard's whole preprocess job and the features
    for name, content in originals.items():
        assert npz_problem(built / name) is None
        assert (built / name).read_bytes() == content, name
    done = snakemake(built, "-n", TARGET)
    assert "Nothing to be done" in done.stdout + done.stderr


@pytest.mark.workflow
def test_only_the_main_snakemake_process_scans(built):
    """A job Snakemake spawns (--mode subprocess) or submits to a cluster (--mode remote) parses
    the workflow again: it must neither scan nor remove anything."""
    name = "data/interim/tiny/text/shard-000.npz"
    content = (built / name).read_bytes()
    (built / name).write_bytes(content[:500])
    try:
        for mode in ("subprocess", "remote"):
            snakemake(built, "--mode", mode, "--list-rules")
            assert (built / name).stat().st_size == 500, mode
        main = snakemake(built, "--list-rules")
        assert f"{name} is truncated (500 bytes" in main.stdout + main.stderr and not (built / name).exists()
    finally:
        (built / name).write_bytes(content)
