"""The run-time report (benchmarks/run_time_report.py) on synthetic benchmark files, logs and job graphs."""

from __future__ import annotations

import sys

import pandas as pd
import pytest
import yaml
from support import PROJECT_ROOT  # noqa: E402

# benchmarks/ is tooling beside the package, not part of it.
sys.path.insert(0, str(PROJECT_ROOT / "benchmarks"))
import run_time_report as rtr  # noqa: E402

from musicfusion.plumbing.config import load_params  # noqa: E402

HEADER = "s\th:m:s\tmax_rss\tmax_vms\tmax_uss\tmax_pss\tio_in\tio_out\tmean_load\tcpu_time\n"


def write_benchmark(root, path: str, seconds: float, rss: float) -> None:
    file = root / "results" / "benchmarks" / path
    file.parent.mkdir(parents=True, exist_ok=True)
    file.write_text(HEADER + f"{seconds}\t0:00:00\t{rss}\t1\t1\t1\t0\t0\t50\t{seconds / 2}\n")


def job_block(stamp: str, rule: str, jobid: int, inputs=(), outputs=(), benchmark=None, wildcards=None,
              threads=1) -> str:
    lines = [f"[{stamp}]", f"localrule {rule}:"]
    if inputs:
        lines.append(f"    input: {', '.join(inputs)}")
    if outputs:
        lines.append(f"    output: {', '.join(outputs)}")
    lines.append(f"    jobid: {jobid}")
    if benchmark:
        lines.append(f"    benchmark: {benchmark}")
    lines.append("    reason: Missing output files")
    if wildcards:
        lines.append(f"    wildcards: {', '.join(f'{k}={v}' for k, v in wildcards.items())}")
    if threads > 1:
        lines.append(f"    threads: {threads}")
    lines += ["    resources: tmpdir=/tmp", "Shell command: None"]
    return "\n".join(lines)


def finished(stamp: str, jobid: int, rule: str) -> str:
    return f"[{stamp}]\nFinished jobid: {jobid} (Rule: {rule})\n1 of 4 steps (25%) done"


def synthetic_log(dataset: str = "toy", elapsed: str | None = "0:06:00.500000") -> str:
    """A 4-job run: collect (a folder of clips) -> preprocess (reads a clip in it) -> train (two
    methods), as Snakemake 9 writes it."""
    b = "results/benchmarks"
    parts = [
        "Config file params.yaml is extended by additional config specified via the command line.",
        "SNAKEMAKE", "=========", "  Date: 2026-12-06 10:00:00", "  Snakemake version: 9.27.1",
        "Building DAG of jobs...", "Provided cores: 2",
        job_block("Sun Dec  6 10:00:02 2026", "collect", 1, outputs=[f"data/raw/{dataset}/manifest.csv",
                  f"data/raw/{dataset}/clips"], benchmark=f"{b}/collect/{dataset}.tsv",
                  wildcards={"dataset": dataset}, threads=2),
        finished("Sun Dec  6 10:01:00 2026", 1, "collect"),
        job_block("Sun Dec  6 10:01:00 2026", "preprocess", 2,
                  inputs=[f"data/raw/{dataset}/manifest.csv", f"data/raw/{dataset}/clips/a.wav"],
                  outputs=[f"data/interim/{dataset}/shard-000.npz"],
                  benchmark=f"{b}/preprocess/{dataset}/shard-000.tsv", wildcards={"dataset": dataset, "shard": "000"}),
        finished("Sun Dec  6 10:02:00 2026", 2, "preprocess"),
        job_block("Sun Dec  6 10:02:00 2026", "train", 3, inputs=[f"data/interim/{dataset}/shard-000.npz"],
                  outputs=["models/a.pkl"], benchmark=f"{b}/train/{dataset}/a.tsv", wildcards={"method": "a"}),
        job_block("Sun Dec  6 10:02:01 2026", "train", 4, inputs=[f"data/interim/{dataset}/shard-000.npz"],
                  outputs=["models/b.pkl"], benchmark=f"{b}/train/{dataset}/b.tsv", wildcards={"method": "b"}),
        finished("Sun Dec  6 10:05:00 2026", 4, "train"),
        finished("Sun Dec  6 10:05:59 2026", 3, "train"),
        job_block("Sun Dec  6 10:05:59 2026", "all", 0, inputs=["models/a.pkl", "models/b.pkl"]),
        finished("Sun Dec  6 10:05:59 2026", 0, "all"),
    ]
    if elapsed:
        parts.append(f"Complete log(s): /x.snakemake.log\nElapsed time: {elapsed}")
    return "\n".join(parts) + "\n"


@pytest.fixture()
def project(tmp_path):
    """A finished synthetic run of dataset ``toy``: benchmark files and its Snakemake log; a later
    log of another dataset beside it."""
    root = tmp_path / "run"
    write_benchmark(root, "collect/toy.tsv", 50.0, 900.0)
    write_benchmark(root, "preprocess/toy/shard-000.tsv", 60.0, 300.0)
    write_benchmark(root, "train/toy/a.tsv", 240.0, 700.0)
    write_benchmark(root, "train/toy/b.tsv", 180.0, 800.0)
    write_benchmark(root, "train/other/a.tsv", 999.0, 1.0)  # another dataset: left out
    logs = root / ".snakemake" / "log"
    logs.mkdir(parents=True)
    (logs / "2026-12-06T100000.000000.snakemake.log").write_text(synthetic_log("toy"))
    (logs / "2026-12-07T100000.000000.snakemake.log").write_text(synthetic_log("other"))
    return root


def test_the_log_gives_each_job_with_its_times_threads_files_and_the_run_s_wall_time():
    run = rtr.parse_log(synthetic_log())
    assert sorted(run.jobs) == [0, 1, 2, 3, 4]
    collect = run.jobs[1]
    assert (collect.rule, collect.threads, collect.wildcards) == ("collect", 2, {"dataset": "toy"})
    assert collect.outputs == ["data/raw/toy/manifest.csv", "data/raw/toy/clips"]
    assert collect.benchmark == "results/benchmarks/collect/toy.tsv"
    assert (run.jobs[3].end - run.jobs[3].start).total_seconds() == 239
    assert run.cores == 2
    assert run.wall_seconds() == pytest.approx(360.5)
    # without Snakemake's elapsed time: from the log's Date to its last time stamp
    assert rtr.parse_log(synthetic_log(elapsed=None)).wall_seconds() == 359


def test_the_dependencies_follow_outputs_into_the_inputs_that_use_them_even_inside_an_output_folder():
    preds = rtr.dependencies(rtr.parse_log(synthetic_log()).jobs)
    assert preds == {1: set(), 2: {1}, 3: {2}, 4: {2}, 0: {3, 4}}


def test_the_latest_log_that_ran_the_dataset_is_found(project):
    path, run = rtr.latest_log(project / ".snakemake" / "log", "toy")
    assert path.name.startswith("2026-12-06")
    assert rtr.latest_log(project / ".snakemake" / "log", "other")[0].name.startswith("2026-12-07")
    assert rtr.latest_log(project / ".snakemake" / "log", "missing") is None


def test_the_rule_table_counts_sums_and_names_the_heaviest_job_per_rule(project):
    jobs = rtr.read_jobs(project / "results" / "benchmarks", "toy")
    table = rtr.rule_table(jobs).set_index("rule")
    assert list(table.index) == ["train", "preprocess", "collect"]
    assert table.loc["train", "jobs"] == 2
    assert table.loc["train", "seconds"] == 420.0
    assert (table.loc["train", "heaviest_job"], table.loc["train", "heaviest_s"]) == ("a", 240.0)
    assert table.loc["train", "peak_rss_mb"] == 800.0
    assert table.loc["preprocess", "heaviest_job"] == "shard-000"
    assert table.loc["train", "cpu_s"] == 210.0  # cpu_time: half of each job's seconds
    total = rtr.with_total(rtr.rule_table(jobs)).iloc[-1]
    assert (total["jobs"], total["seconds"], total["peak_rss_mb"]) == (4, 530.0, 900.0)
    assert total["heaviest_job"] == "train: a"


def test_with_the_log_a_job_counts_under_the_rule_that_wrote_it_not_its_folder(tmp_path):
    write_benchmark(tmp_path, "extract_text/toy.tsv", 2.0, 10.0)
    write_benchmark(tmp_path, "extract_text/toy/fold-0.tsv", 3.0, 10.0)
    log = "\n".join([job_block("Sun Dec  6 10:00:00 2026", "extract_text", 1,
                               benchmark="results/benchmarks/extract_text/toy.tsv"),
                     job_block("Sun Dec  6 10:00:00 2026", "extract_text_fold", 2,
                               benchmark="results/benchmarks/extract_text/toy/fold-0.tsv")])
    benchmarks = tmp_path / "results" / "benchmarks"
    jobs = rtr.read_jobs(benchmarks, "toy", rtr.parse_log(log), tmp_path)
    assert dict(zip(jobs["job"], jobs["rule"])) == {"fold-0": "extract_text_fold", "-": "extract_text"}
    assert set(rtr.read_jobs(benchmarks, "toy")["rule"]) == {"extract_text"}


def test_a_benchmark_file_without_cpu_time_has_no_cpu_seconds(tmp_path):
    file = tmp_path / "train" / "toy" / "a.tsv"
    file.parent.mkdir(parents=True)
    file.write_text("s\th:m:s\tmax_rss\n3.0\t0:00:03\t100\n")
    jobs = rtr.read_jobs(tmp_path, "toy")
    assert jobs["cpu_seconds"].isna().all()
    assert pd.isna(rtr.rule_table(jobs).loc[0, "cpu_s"])


def test_before_and_after_are_joined_per_rule_with_the_change():
    before = pd.DataFrame({"rule": ["train", "track", "gone"], "jobs": [2, 1, 1], "seconds": [400.0, 100.0, 5.0],
                           "heaviest_job": ["a", "-", "-"], "heaviest_s": [300.0, 100.0, 5.0],
                           "peak_rss_mb": [800.0, 400.0, 10.0]})
    after = pd.DataFrame({"rule": ["train", "track", "new"], "jobs": [2, 1, 3], "seconds": [200.0, 150.0, 6.0],
                          "heaviest_job": ["b", "-", "x"], "heaviest_s": [120.0, 150.0, 3.0],
                          "peak_rss_mb": [600.0, 500.0, 20.0]})
    table = rtr.compare_runs(before, after).set_index("rule")
    assert list(table.index) == ["train", "track", "new", "gone", "all rules"]
    assert table.loc["train", "change_s"] == -200.0
    assert table.loc["train", "change_pct"] == pytest.approx(-50.0)
    assert table.loc["track", "change_pct"] == pytest.approx(50.0)
    assert (table.loc["train", "heaviest_before"], table.loc["train", "heaviest_after"]) == ("a 300.0", "b 120.0")
    assert (table.loc["new", "jobs_before"], table.loc["new", "jobs_after"]) == (0, 3)
    assert pd.isna(table.loc["new", "change_pct"])  # nothing before: no percentage
    assert (table.loc["gone", "seconds_after"], table.loc["gone", "change_s"]) == (0.0, -5.0)
    total = table.loc["all rules"]
    assert (total["seconds_before"], total["seconds_after"], total["change_s"]) == (505.0, 356.0, -149.0)
    assert (total["peak_rss_mb_before"], total["peak_rss_mb_after"]) == (800.0, 600.0)


def test_the_wall_time_is_said_as_a_multiple_of_the_budget():
    assert rtr.budget_line(360.4, 8) == "wall time 6 min 0 s = 0.75 x the 8-minute budget"
    assert rtr.budget_line(657, 8) == "wall time 10 min 57 s = 1.37 x the 8-minute budget"


def test_params_yaml_has_a_valid_wall_budget():
    params = load_params(PROJECT_ROOT / "params.yaml")
    assert params["benchmark"]["wall_budget_minutes"] > 0


# A small graph: a(4) -> e(2) <- c(1); b(1) -> d(3). Ids: a=0, b=1, c=2, d=3, e=4.
SECONDS = {0: 4.0, 1: 1.0, 2: 1.0, 3: 3.0, 4: 2.0}
PREDS = {0: set(), 1: set(), 2: set(), 3: {1}, 4: {0, 2}}


def test_the_longest_path_is_the_heaviest_chain_of_dependent_jobs():
    assert rtr.longest_path(SECONDS, PREDS) == (6.0, [0, 4])
    assert rtr.longest_path({0: 1.0, 1: 5.0, 2: 1.0}, {0: set(), 1: {0}, 2: {0}}) == (6.0, [0, 1])
    assert rtr.remaining_path(SECONDS, PREDS) == {0: 6.0, 1: 4.0, 2: 3.0, 3: 3.0, 4: 2.0}
    with pytest.raises(ValueError, match="cycle"):
        rtr.longest_path({0: 1.0, 1: 1.0}, {0: {1}, 1: {0}})


def test_the_greedy_two_core_schedule_and_the_chain_that_sets_its_makespan():
    schedule = rtr.simulate(SECONDS, PREDS, cores=2).set_index("job")
    # t=0: a, b; t=1: b ends, c starts (the core b freed); t=2: c ends, d starts (d's input b
    # ended at 1: it waited for the core c freed); t=4: a ends, e starts (its last input).
    assert schedule["start"].to_dict() == {0: 0.0, 1: 0.0, 2: 1.0, 3: 2.0, 4: 4.0}
    assert schedule["end"].max() == 6.0
    assert (schedule.loc[2, "after"], schedule.loc[2, "why"]) == (1, "core")
    assert (schedule.loc[3, "after"], schedule.loc[3, "why"]) == (2, "core")
    assert (schedule.loc[4, "after"], schedule.loc[4, "why"]) == (0, "input")
    assert [(step["job"], step["why"]) for step in rtr.schedule_chain(schedule.reset_index())] == [(0, ""), (4, "input")]
    # one core: everything in a row, in id order as ready
    assert rtr.simulate(SECONDS, PREDS, cores=1)["end"].max() == 11.0


def test_a_job_takes_its_threads_in_cores_up_to_all_of_them():
    seconds, preds, threads = {0: 2.0, 1: 1.0, 2: 1.0}, {0: set(), 1: set(), 2: set()}, {0: 2}
    two = rtr.simulate(seconds, preds, cores=2, threads=threads).set_index("job")
    assert two["start"].to_dict() == {0: 0.0, 1: 2.0, 2: 2.0}
    assert two["end"].max() == 3.0
    assert [(s["job"], s["why"]) for s in rtr.schedule_chain(two.reset_index())] == [(0, ""), (1, "core")]
    assert rtr.simulate(seconds, preds, cores=16, threads=threads)["end"].max() == 2.0
    # 8 threads on 2 cores take both, as Snakemake scales them down
    assert rtr.simulate(seconds, preds, cores=2, threads={0: 8})["end"].max() == 3.0


def test_the_order_of_the_ready_jobs_decides_the_greedy_makespan():
    # three ready jobs on two cores: the long one first finishes at 3, last at 4
    seconds, preds = {0: 1.0, 1: 1.0, 2: 3.0}, {0: set(), 1: set(), 2: set()}
    assert rtr.simulate(seconds, preds, cores=2, order=[0, 1, 2])["end"].max() == 4.0
    assert rtr.simulate(seconds, preds, cores=2, order=[2, 0, 1])["end"].max() == 3.0


def test_the_bounds_say_which_one_binds():
    graph = rtr.JobGraph({j: str(j) for j in SECONDS}, SECONDS, {}, PREDS, sorted(SECONDS))
    two, many = rtr.bounds(graph, 2), rtr.bounds(graph, 16)
    assert (two["simulated_s"], two["longest_path_s"], two["work_per_core_s"]) == (6.0, 6.0, 5.5)
    assert two["binding"] == "longest path"
    assert rtr.bounds(graph, 1)["binding"] == "work / cores"
    assert many["simulated_s"] == 6.0


def test_the_report_of_a_run_and_of_two(project, tmp_path, capsys, monkeypatch):
    params = tmp_path / "params.yaml"
    params.write_text(yaml.safe_dump({"benchmark": {"wall_budget_minutes": 8}}))
    monkeypatch.setattr(sys, "argv", ["run_time_report.py", str(project), "--dataset", "toy", "--params", str(params)])
    rtr.main()
    out = capsys.readouterr().out
    assert "wall time 6 min 0 s = 0.75 x the 8-minute budget" in out
    # collect 50 s (2 threads) -> preprocess 60 s -> train a 240 s; train b beside it on 2 cores
    assert "longest path (350 s" in out
    assert "train(method=a)" in out and "preprocess(shard=000)" in out
    assert "measured wall 360 s on 2 cores - simulated 350 s" in out
    assert "530 s of job time, 265 s of CPU time: a job had 0.50 of a core" in out

    before = tmp_path / "before"
    write_benchmark(before, "collect/toy.tsv", 50.0, 900.0)
    write_benchmark(before, "train/toy/a.tsv", 300.0, 700.0)
    monkeypatch.setattr(sys, "argv", ["run_time_report.py", str(project), "--dataset", "toy", "--params", str(params),
                                      "--before", str(before), "--before-wall-seconds", "480", "--markdown"])
    rtr.main()
    out = capsys.readouterr().out
    assert "before: wall time 8 min 0 s = 1.00 x the 8-minute budget" in out
    assert "change: -120 s (-24.9 %)" in out
    assert "| train " in out and "no Snakemake log of toy" in out
