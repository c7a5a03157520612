"""Interrupted runs: Snakemake killed (SIGKILL of its whole process group) in the middle of
feature extraction, or of training, then run again, ends with the results of an uninterrupted
run, byte for byte, and never takes a partial file for a complete one.

Each test works in its own private copy of the session's finished `tiny` run with one method's
chain removed, with the project's default profile (rerun-incomplete) as in the repository; the
finished run is the uninterrupted reference.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from musicfusion.plumbing.integrity import scan_npz

from support import copy_run, project_environment, snakemake, snakemake_command

pytestmark = pytest.mark.workflow
BIN = Path(sys.executable).parent
TARGET = "models/tiny/audio_only/predictions.csv"  # audio features, then one method
FINAL = "models/tiny/audio_only/final_model.pkl"  # the method's final model, built after the rerun
COMPARED = ["data/interim/tiny", "data/processed/tiny", "models/tiny"]
TIMING = "seconds"  # trials.csv records how long each trial and search took: the *seconds columns


def without(run: Path, tmp_path_factory, name: str, removed: list[str]) -> Path:
    """A private copy of the finished run without ``removed`` (outputs and the logs of their jobs)."""
    work = copy_run(run, tmp_path_factory.mktemp(name) / "project")
    for relative in removed:
        path = work / relative
        shutil.rmtree(path) if path.is_dir() else path.unlink()
    return work


def kill_when(work: Path, pattern: str, timeout: float = 300.0) -> list[Path]:
    """Run the target and SIGKILL Snakemake's whole process group as soon as a file matching
    ``pattern`` (a job's log, opened when its script starts its work) appears; return them."""
    with open(work / "killed-run.txt", "w") as out:
        proc = subprocess.Popen(snakemake_command(TARGET), cwd=work, stdout=out, stderr=subprocess.STDOUT, env=project_environment(),
                                start_new_session=True)  # its own process group: the jobs' processes too
    deadline = time.monotonic() + timeout
    try:
        while not (started := sorted(p for p in work.glob(pattern) if p.is_file())):
            assert proc.poll() is None, f"the run ended before {pattern}:\n" + (work / "killed-run.txt").read_text()
            assert time.monotonic() < deadline, f"no {pattern} after {timeout} s"
            time.sleep(0.02)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    for _ in range(100):  # every process of the group is gone, the jobs' scripts included
        try:
            os.killpg(proc.pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.05)
    else:
        raise AssertionError("processes of the killed run are still alive")
    return started


def outputs(work: Path) -> dict[str, bytes]:
    """Every output file of the chain, by path; an atomic writer's hidden temporaries aside."""
    files = {}
    for root in COMPARED:
        for path in sorted((work / root).rglob("*")):
            if path.is_file() and not path.name.startswith("."):
                files[str(path.relative_to(work))] = path.read_bytes()
    return files


def assert_same_results(work: Path, reference: Path) -> None:
    got, expected = outputs(work), outputs(reference)
    assert sorted(got) == sorted(expected)
    trials = [name for name in expected if name.endswith("trials.csv")]
    differ = [name for name in expected if name not in trials and got[name] != expected[name]]
    assert not differ, f"differ from the uninterrupted run: {differ}"
    for name in trials:  # all but the measured times
        a, b = pd.read_csv(work / name), pd.read_csv(reference / name)
        timing = [c for c in b.columns if c.endswith(TIMING)]
        assert timing and list(a.columns) == list(b.columns)
        pd.testing.assert_frame_equal(a.drop(columns=timing), b.drop(columns=timing))


def rerun_after_kill(work: Path) -> str:
    """What a user does after a kill -9: the lock is left, so unlock, then run again."""
    locked = snakemake(work, TARGET, expect_success=False)
    assert locked.returncode != 0 and "--unlock" in locked.stdout + locked.stderr
    snakemake(work, "--unlock")
    rerun = snakemake(work, TARGET)
    snakemake(work, FINAL)  # the rest of the method's outputs, so that every file can be compared
    return locked.stdout + locked.stderr + rerun.stdout + rerun.stderr


@pytest.fixture(scope="module")
def reference(tiny_run) -> Path:
    """The uninterrupted run (read only)."""
    return tiny_run


def test_killed_during_feature_extraction_the_rerun_gives_the_same_results(reference, tmp_path_factory):
    work = without(reference, tmp_path_factory, "killed_extraction",
                   ["data/processed/tiny/features/audio.npz", "models/tiny/audio_only", "logs/extract_shard",
                    "logs/gather_features", "logs/train"])
    started = kill_when(work, "logs/extract_shard/tiny/audio/shard-*.log")
    features = work / "data/processed/tiny/features"
    assert not (features / "audio.npz").exists() and not (work / TARGET).exists()
    # Nothing half-written under an output's name: every file is written beside it, then renamed.
    assert scan_npz([work / "data"]) == []
    # A writer killed halfway, were it not atomic: a partial file at a running job's output, and
    # newer than its input. The rerun must not take it for the shard's features.
    partial = features / "audio" / started[0].name.replace(".log", ".npz")
    partial.parent.mkdir(parents=True, exist_ok=True)
    partial.write_bytes((reference / "data/processed/tiny/features/audio.npz").read_bytes()[:4096])

    log = rerun_after_kill(work)
    assert f"{partial.relative_to(work)} is truncated (4,096 bytes" in log
    assert_same_results(work, reference)


def test_killed_during_training_the_rerun_gives_the_same_results(reference, tmp_path_factory):
    # Training is the chain's last job: with the method's results removed, the run does nothing but train.
    work = without(reference, tmp_path_factory, "killed_training",
                   ["models/tiny/audio_only", "logs/train/tiny/audio_only.log"])
    kill_when(work, "logs/train/tiny/audio_only.log")
    predictions = work / TARGET
    assert (work / "data/processed/tiny/features/audio.npz").is_file() and not predictions.exists()
    # A partial table where the killed job writes, newer than every input: only Snakemake's own
    # record of the unfinished job (rerun-incomplete, the default profile) tells it apart.
    complete = (reference / TARGET).read_bytes()
    predictions.parent.mkdir(parents=True, exist_ok=True)
    predictions.write_bytes(complete[: len(complete) // 2])

    rerun_after_kill(work)
    assert predictions.read_bytes() == complete
    assert_same_results(work, reference)
