"""The workflow through the SLURM profile (workflow/profiles/slurm/) on a real one-node cluster
started from Debian's packages by scripts/slurm_local.sh, against the local run, byte for byte.

Every SLURM job pays Snakemake's own start-up (5-6 s) and the plugin's status polling, so the whole
tiny workflow (about 130 jobs) would take many minutes on 2 cores. The test reruns a defined part
of it through SLURM instead: one method's features, its training and its evaluation (the audio
and video extraction of every shard, their gathers, and training with evaluation as one group
job: 5 SLURM jobs on `tiny`'s one shard), from the local run's preprocessed data, and compares
exactly those outputs with the local run's.
"""

from __future__ import annotations

import csv
import importlib.util
import io
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from support import PROJECT_ROOT, copy_run

SCRIPT = PROJECT_ROOT / "scripts/slurm_local.sh"
CONF = Path("/etc/slurm/slurm.conf")
MARKER = "# Written by musicfusion scripts/slurm_local.sh"
BIN = Path(sys.executable).parent

METHOD = "audio_only"
FEATURES = "data/processed/tiny/features"
# What the SLURM run makes again (removed from the copy of the local run), and its targets.
REBUILT = [f"{FEATURES}/audio.npz", f"{FEATURES}/video.npz", f"models/tiny/{METHOD}", f"results/tiny/methods/{METHOD}"]
TARGETS = [f"{FEATURES}/audio.npz", f"{FEATURES}/video.npz", f"results/tiny/methods/{METHOD}/metrics.json"]
# Compared byte for byte with the local run (trials.csv without its timing columns).
SAME_BYTES = [f"{FEATURES}/audio.npz", f"{FEATURES}/video.npz",
              f"models/tiny/{METHOD}/predictions.csv", f"models/tiny/{METHOD}/model.pkl",
              f"models/tiny/{METHOD}/fold_models.pkl", f"results/tiny/methods/{METHOD}/metrics.json"]
TIMINGS = {"seconds", "search_seconds"}
# Options only this local one-node cluster needs (the profile is what a real cluster uses):
# no slurmdbd, so squeue answers for job states and there are no accounts; status checks every
# second or two instead of the plugin's 40 s start; successful jobs' SLURM logs kept as evidence.
TEST_FLAGS = ["--slurm-status-command", "squeue", "--slurm-no-account",
              "--slurm-init-seconds-before-status-checks", "2", "--seconds-between-status-checks", "1",
              "--slurm-keep-successful-logs"]
TIMEOUT = 300  # seconds for the SLURM run (about 1 min on 2 cores)


def _why_not() -> str | None:
    if os.geteuid() != 0:
        return "needs root: scripts/slurm_local.sh writes /etc/slurm/slurm.conf and starts munged, slurmctld, slurmd"
    missing = [tool for tool in ("slurmctld", "slurmd", "sbatch", "squeue", "scontrol", "munged")
               if not (shutil.which(tool) or Path("/usr/sbin", tool).exists())]
    if missing:
        return f"no {', '.join(missing)}: apt-get install slurmctld slurmd slurm-client munge"
    if importlib.util.find_spec("snakemake_executor_plugin_slurm") is None:
        return 'no snakemake-executor-plugin-slurm: pip install -e ".[slurm]"'
    if CONF.exists() and not CONF.read_text().startswith(MARKER):
        return f"{CONF} belongs to another SLURM cluster: not replacing it"
    return None


pytestmark = [pytest.mark.workflow, pytest.mark.skipif(_why_not() is not None, reason=_why_not() or "")]


def _cluster_runs() -> bool:
    if not (CONF.exists() and CONF.read_text().startswith(MARKER)):
        return False
    return subprocess.run(["sinfo", "-h"], capture_output=True, check=False, timeout=30).returncode == 0


@pytest.fixture(scope="module")
def slurm_cluster():
    """A one-node SLURM cluster on this machine; stopped at the end unless it ran before."""
    ran_before = _cluster_runs()
    proc = subprocess.run(["bash", str(SCRIPT), "start"], capture_output=True, text=True, check=False, timeout=180)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    yield
    if not ran_before:
        subprocess.run(["bash", str(SCRIPT), "stop"], capture_output=True, text=True, check=False, timeout=180)


def _without_timings(path: Path) -> list[dict]:
    rows = list(csv.DictReader(io.StringIO(path.read_text())))
    assert rows and TIMINGS <= set(rows[0]), path
    return [{k: v for k, v in row.items() if k not in TIMINGS} for row in rows]


def _slurm_job(job_id: str) -> dict[str, str]:
    """``scontrol show job`` as a dict (finished jobs stay known for MinJobAge, 300 s)."""
    out = subprocess.run(["scontrol", "show", "job", job_id, "--oneliner"], capture_output=True, text=True,
                         check=True, timeout=30).stdout
    return dict(field.split("=", 1) for field in out.split() if "=" in field)


def test_the_slurm_profile_reproduces_the_local_run_bit_for_bit(slurm_cluster, tiny_run, tmp_path, params):
    work = copy_run(tiny_run, tmp_path / "work")
    for rel in REBUILT:
        path = work / rel
        shutil.rmtree(path) if path.is_dir() else path.unlink()

    env = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}  # the project's own store
    cmd = ["timeout", "-k", "30", str(TIMEOUT), str(BIN / "snakemake"), "--profile", "workflow/profiles/slurm",
           *TEST_FLAGS, *TARGETS, "--config", "dataset=tiny"]
    start = time.monotonic()
    proc = subprocess.run(cmd, cwd=work, capture_output=True, text=True, env=env, check=False,
                          timeout=TIMEOUT + 60)
    seconds = time.monotonic() - start
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, f"rc {proc.returncode} after {seconds:.0f} s\n" + output[-6000:]
    print(f"SLURM run: {seconds:.0f} s")

    # Every job went through sbatch: the plugin's log of each SLURM job, named by rule (or group),
    # wildcards and SLURM job id.
    logs = work / ".snakemake/slurm_logs"
    jobs = {p.parent.relative_to(logs).as_posix(): p.stem for p in logs.rglob("*.log")}
    shards = [p.name.removeprefix("shard-").removesuffix(".npz")
              for p in (work / "data/interim/tiny/audio").glob("shard-*.npz")]
    assert shards
    expected = {f"rule_extract_shard/tiny_{m}_{shard}" for m in ("audio", "video") for shard in shards}
    expected |= {"rule_gather_features/tiny_audio", "rule_gather_features/tiny_video",
                 "group_method_evaluate_train"}  # the profile's group: training and evaluation in one job
    assert set(jobs) == expected, output[-3000:]
    assert len(set(jobs.values())) == len(expected)
    assert output.count("has been submitted with SLURM jobid") == len(expected)

    # SLURM ran them, with the profile's resources: train's set-resources (2500 MB), runtime summed
    # over the group (120 + 30 min), one CPU; the default 1000 MB and 30 min elsewhere.
    group = _slurm_job(jobs["group_method_evaluate_train"])
    assert group["JobState"] == "COMPLETED" and group["ExitCode"] == "0:0"
    assert "mem=2500M" in group["TRES"] and "cpu=1," in group["TRES"] and group["TimeLimit"] == "02:30:00"
    shard = _slurm_job(jobs[f"rule_extract_shard/tiny_audio_{shards[0]}"])
    assert shard["JobState"] == "COMPLETED" and "mem=1000M" in shard["TRES"] and shard["TimeLimit"] == "00:30:00"

    # The results are the local run's, byte for byte.
    same_bytes = SAME_BYTES + [f"results/tiny/methods/{METHOD}/confusion_{task}.png" for task in params["tasks"]]
    differ = [rel for rel in same_bytes if (work / rel).read_bytes() != (tiny_run / rel).read_bytes()]
    assert differ == []
    trials = f"models/tiny/{METHOD}/trials.csv"
    assert _without_timings(work / trials) == _without_timings(tiny_run / trials)
