"""Run-time report of one whole workflow run, optionally beside another ("before" and "after").

From a finished run's Snakemake benchmark files (results/benchmarks/<rule>/<dataset>/...tsv) and
its Snakemake log (.snakemake/log/*.snakemake.log), for one dataset:

1. per rule: jobs, summed job seconds (the benchmark's ``s``), the heaviest job and peak memory
   (max of ``max_rss``); with ``--before DIR``, one table of both runs and the change;
2. the run's wall time against the budget ``benchmark.wall_budget_minutes`` of params.yaml (the
   ``default`` run on 2 cores): from the log (its ``Elapsed time``, else its first and last time
   stamps), or ``--wall-seconds`` (e.g. from /usr/bin/time);
3. the critical path: the jobs' dependency graph, read from the same log (every job's rule,
   wildcards, benchmark file, input and output files: ``snakemake --dag`` labels a job only with
   the wildcards its inputs do not already fix, and ``--d3dag`` with its rule alone, so neither
   can be matched with benchmark files), a greedy list schedule of the measured job times on k
   cores (a job starts as soon as its inputs exist and enough cores are free; it takes its
   ``threads``, at most k, cores; jobs are chosen in the order the run started them), and the
   chains that set the makespan: the longest duration-weighted path (the bound with many cores)
   and, on k cores, the chain of jobs each of which waited for its last input or for a core.

    python benchmarks/run_time_report.py [RUN_DIR] [--before DIR] [--dataset default] [--markdown]

RUN_DIR (default: the working directory) is a project folder that ran the workflow. Job times
were measured on the run's own cores: with more cores a job may run faster (collect's threads) or
slower (jobs sharing memory bandwidth), which the simulation does not know.
"""

from __future__ import annotations

import argparse
import heapq
import os
import re
import sys
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import pandas as pd
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
import scale_report  # noqa: E402  (beside this script)

PROJECT = Path(__file__).resolve().parents[1]
BENCHMARKS = Path("results/benchmarks")
LOGS = Path(".snakemake/log")

_STAMP = re.compile(r"^\[(\w{3} \w{3} +\d{1,2} \d{2}:\d{2}:\d{2} \d{4})\]$")
_DATE = re.compile(r"^\s*Date: (\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2})")
_HEADER = re.compile(r"^(?:local)?(?:rule|checkpoint) ([A-Za-z_]\w*):$")
_FINISHED = re.compile(r"^Finished job(?:id:)? (\d+)")
_ELAPSED = re.compile(r"^Elapsed time: (?:(\d+) days?, )?(\d+):(\d{2}):(\d{2}(?:\.\d+)?)")
_CORES = re.compile(r"^Provided cores: (\d+)")
_PROPERTY = re.compile(r"^ {4}(\w+): (.*)$")


# --- the Snakemake log -------------------------------------------------------------------------

@dataclass
class LogJob:
    jobid: int
    rule: str
    wildcards: dict[str, str] = field(default_factory=dict)
    benchmark: str | None = None
    threads: int = 1
    inputs: list[str] = field(default_factory=list)
    outputs: list[str] = field(default_factory=list)
    start: datetime | None = None
    end: datetime | None = None


@dataclass
class RunLog:
    jobs: dict[int, LogJob]
    first: datetime | None  # the run's start (the log's Date), else its first time stamp
    last: datetime | None  # the log's last time stamp
    elapsed: float | None  # Snakemake's own "Elapsed time", seconds
    cores: int | None

    def wall_seconds(self) -> float | None:
        """Snakemake's elapsed time, else the seconds from the first to the last time stamp."""
        if self.elapsed is not None:
            return self.elapsed
        if self.first is None or self.last is None:
            return None
        return (self.last - self.first).total_seconds()


def _files(value: str) -> list[str]:
    return [part.strip() for part in value.split(", ") if part.strip()]


def parse_log(text: str) -> RunLog:
    """The jobs a Snakemake log started (rule, wildcards, benchmark file, threads, input and output
    files, start and finish time), the run's first and last time stamps, elapsed time and cores."""
    jobs: dict[int, LogJob] = {}
    stamp = first = last = None
    elapsed = cores = None
    block: dict | None = None

    def close() -> None:
        if block is not None and "jobid" in block["props"]:
            props = block["props"]
            jobid = int(props["jobid"])
            wildcards = dict(part.split("=", 1) for part in _files(props.get("wildcards", "")) if "=" in part)
            jobs[jobid] = LogJob(jobid, block["rule"], wildcards, props.get("benchmark"),
                                 int(props.get("threads", 1)), _files(props.get("input", "")),
                                 _files(props.get("output", "")), block["start"])

    for line in text.splitlines():
        if block is not None:
            match = _PROPERTY.match(line)
            if match:
                block["props"][match.group(1)] = match.group(2)
                continue
            close()
            block = None
        if match := _STAMP.match(line.strip()):
            stamp = datetime.strptime(" ".join(match.group(1).split()), "%a %b %d %H:%M:%S %Y")
            first = first or stamp
            last = stamp
        elif match := _DATE.match(line):
            first = datetime.strptime(match.group(1), "%Y-%m-%d %H:%M:%S")
        elif match := _HEADER.match(line):
            block = {"rule": match.group(1), "start": stamp, "props": {}}
        elif match := _FINISHED.match(line):
            job = jobs.get(int(match.group(1)))
            if job is not None:
                job.end = stamp
        elif match := _ELAPSED.match(line):
            days, hours, minutes, seconds = match.groups()
            elapsed = int(days or 0) * 86400 + int(hours) * 3600 + int(minutes) * 60 + float(seconds)
        elif match := _CORES.match(line):
            cores = int(match.group(1))
    close()
    return RunLog(jobs, first, last, elapsed, cores)


def ran_dataset(run: RunLog, dataset: str) -> bool:
    """Whether the log finished a job of ``dataset`` (by its benchmark file or its wildcard)."""
    pattern = re.compile(rf"/{re.escape(dataset)}(/|\.tsv$)")
    return any(job.end is not None and ((job.benchmark and pattern.search(job.benchmark))
                                        or job.wildcards.get("dataset") == dataset)
               for job in run.jobs.values())


def latest_log(log_dir: Path, dataset: str) -> tuple[Path, RunLog] | None:
    """The newest Snakemake log in ``log_dir`` that finished a job of ``dataset``."""
    for path in sorted(log_dir.glob("*.snakemake.log"), reverse=True):
        run = parse_log(path.read_text(encoding="utf-8", errors="replace"))
        if ran_dataset(run, dataset):
            return path, run
    return None


# --- benchmark files ---------------------------------------------------------------------------

def read_jobs(benchmarks: Path, dataset: str, run: RunLog | None = None, run_dir: Path | None = None) -> pd.DataFrame:
    """Every benchmark file of ``dataset``: rule, job (its path under the rule's folder, without
    the dataset), path (under ``benchmarks``), seconds, max_rss_mb, cpu_seconds. With the run's log, a job's
    rule is the one that wrote the file (two rules may share a folder: extract_text_fold writes
    under extract_text/)."""
    jobs = scale_report.job_times(benchmarks, dataset)
    jobs["path"] = jobs["rule"] + "/" + jobs["job"] + ".tsv"
    jobs["job"] = [job.removeprefix(f"{dataset}/") if job != dataset else "-" for job in jobs["job"]]
    if run is not None:
        rules = {bench_key(job.benchmark, benchmarks, run_dir): job.rule
                 for job in run.jobs.values() if job.benchmark}
        jobs["rule"] = [rules.get(path, rule) for path, rule in zip(jobs["path"], jobs["rule"])]
    return jobs[["rule", "job", "path", "seconds", "max_rss_mb", "cpu_seconds"]]


def bench_key(benchmark: str, benchmarks: Path, run_dir: Path | None) -> str:
    """A log's benchmark path (relative to the run's folder) as a path under ``benchmarks``."""
    if run_dir is None:
        path = Path(benchmark)
        parts = path.parts
        tail = parts[len(BENCHMARKS.parts):] if parts[:len(BENCHMARKS.parts)] == BENCHMARKS.parts else parts
        return "/".join(tail)
    return Path(os.path.relpath(Path(run_dir, benchmark).resolve(), benchmarks.resolve())).as_posix()


def rule_table(jobs: pd.DataFrame) -> pd.DataFrame:
    """Per rule: jobs, summed seconds, the heaviest job and its seconds, peak RSS (MB), summed CPU
    seconds; the slowest rule first."""
    heaviest = jobs.loc[jobs.groupby("rule")["seconds"].idxmax(), ["rule", "job", "seconds"]]
    heaviest = heaviest.rename(columns={"job": "heaviest_job", "seconds": "heaviest_s"})
    table = jobs.groupby("rule").agg(jobs=("seconds", "size"), seconds=("seconds", "sum"),
                                     peak_rss_mb=("max_rss_mb", "max"),
                                     cpu_s=("cpu_seconds", lambda s: s.sum(min_count=1))).reset_index()
    table = table.merge(heaviest, on="rule")
    table = table[["rule", "jobs", "seconds", "heaviest_job", "heaviest_s", "peak_rss_mb", "cpu_s"]]
    return table.sort_values(["seconds", "rule"], ascending=[False, True]).reset_index(drop=True)


def with_total(table: pd.DataFrame) -> pd.DataFrame:
    """``rule_table`` with a last row summing jobs and seconds (peak: the largest)."""
    total = {"rule": "all rules", "jobs": table["jobs"].sum(), "seconds": table["seconds"].sum(),
             "heaviest_job": "", "heaviest_s": float("nan"), "peak_rss_mb": table["peak_rss_mb"].max(),
             "cpu_s": table["cpu_s"].sum(min_count=1)}
    if len(table):
        top = table["heaviest_s"].idxmax()
        total["heaviest_job"] = f"{table.loc[top, 'rule']}: {table.loc[top, 'heaviest_job']}"
        total["heaviest_s"] = table.loc[top, "heaviest_s"]
    return pd.concat([table, pd.DataFrame([total])], ignore_index=True)


def compare_runs(before: pd.DataFrame, after: pd.DataFrame) -> pd.DataFrame:
    """Two ``rule_table``s side by side (a rule one run lacks has 0 jobs and 0 s there), the
    change in summed seconds (after - before, and in % of before), each run's heaviest job as
    ``name seconds``, and a total row; the rules by their seconds after, then before."""
    columns = ["rule", "jobs", "seconds", "heaviest_job", "heaviest_s", "peak_rss_mb"]
    both = before[columns].merge(after[columns], on="rule", how="outer", suffixes=("_before", "_after"))
    for when in ("before", "after"):
        both[f"jobs_{when}"] = both[f"jobs_{when}"].fillna(0).astype(int)
        both[f"seconds_{when}"] = both[f"seconds_{when}"].fillna(0.0)
        both[f"heaviest_{when}"] = [f"{job} {seconds:.1f}" if isinstance(job, str) else ""
                                    for job, seconds in zip(both[f"heaviest_job_{when}"], both[f"heaviest_s_{when}"])]
    both = both.sort_values(["seconds_after", "seconds_before", "rule"], ascending=[False, False, True])
    total = {"rule": "all rules", "heaviest_before": "", "heaviest_after": ""}
    for when in ("before", "after"):
        total[f"jobs_{when}"] = both[f"jobs_{when}"].sum()
        total[f"seconds_{when}"] = both[f"seconds_{when}"].sum()
        total[f"peak_rss_mb_{when}"] = both[f"peak_rss_mb_{when}"].max()
    both = pd.concat([both, pd.DataFrame([total])], ignore_index=True)
    both["change_s"] = both["seconds_after"] - both["seconds_before"]
    both["change_pct"] = 100 * both["change_s"] / both["seconds_before"].where(both["seconds_before"] > 0)
    order = ["rule", "jobs_before", "jobs_after", "seconds_before", "seconds_after", "change_s", "change_pct",
             "heaviest_before", "heaviest_after", "peak_rss_mb_before", "peak_rss_mb_after"]
    return both[order].reset_index(drop=True)


# --- wall time and budget ----------------------------------------------------------------------

def minutes_seconds(seconds: float) -> str:
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest} s"


def budget_line(wall_seconds: float, budget_minutes: float) -> str:
    """``wall time X min Y s = Z x the B-minute budget``."""
    return (f"wall time {minutes_seconds(wall_seconds)} = {wall_seconds / (60 * budget_minutes):.2f} x "
            f"the {budget_minutes:g}-minute budget")


# --- the job graph and its schedule ------------------------------------------------------------

@dataclass
class JobGraph:
    """Jobs by id: label, seconds, threads, predecessors, and the priority order of the run."""
    labels: dict[int, str]
    seconds: dict[int, float]
    threads: dict[int, int]
    preds: dict[int, set[int]]
    order: list[int]


def job_label(rule: str, wildcards: dict[str, str]) -> str:
    """``rule(name=value, ...)`` without the dataset wildcard (the same for every job)."""
    shown = ", ".join(f"{k}={v}" for k, v in wildcards.items() if k != "dataset")
    return f"{rule}({shown})" if shown else rule


def dependencies(jobs: dict[int, LogJob]) -> dict[int, set[int]]:
    """Each job's predecessors: the jobs whose output is one of its inputs, or a folder holding one."""
    producer = {os.path.normpath(out): jobid for jobid, job in jobs.items() for out in job.outputs}
    preds: dict[int, set[int]] = {}
    for jobid, job in jobs.items():
        found = set()
        for path in job.inputs:
            path = os.path.normpath(path)
            while path and path not in producer and os.path.dirname(path) != path:
                path = os.path.dirname(path)
            if path in producer and producer[path] != jobid:
                found.add(producer[path])
        preds[jobid] = found
    return preds


def log_graph(run: RunLog, jobs: pd.DataFrame, benchmarks: Path, run_dir: Path | None) -> tuple[JobGraph, list[str]]:
    """The job graph of a run's log, each job timed by its benchmark file (``read_jobs``), else by
    its start and finish in the log (second resolution); and notes on jobs timed by the log."""
    measured = dict(zip(jobs["path"], jobs["seconds"]))
    labels, seconds, threads, notes = {}, {}, {}, []
    for jobid, job in run.jobs.items():
        labels[jobid] = job_label(job.rule, job.wildcards)
        threads[jobid] = job.threads
        key = bench_key(job.benchmark, benchmarks, run_dir) if job.benchmark else None
        if key in measured:
            seconds[jobid] = float(measured[key])
            continue
        span = (job.end - job.start).total_seconds() if job.start and job.end else 0.0
        seconds[jobid] = span
        if job.benchmark or span > 0:
            notes.append(f"{labels[jobid]}: no benchmark file, {span:.0f} s from the log")
    start = {jobid: (job.start or datetime.min, jobid) for jobid, job in run.jobs.items()}
    order = sorted(run.jobs, key=start.get)
    return JobGraph(labels, seconds, threads, dependencies(run.jobs), order), notes


def topological(preds: dict[int, set[int]]) -> list[int]:
    """The jobs with every job after its predecessors (Kahn's algorithm, ties by id)."""
    waiting = {job: len(p) for job, p in preds.items()}
    succs: dict[int, list[int]] = {job: [] for job in preds}
    for job, p in preds.items():
        for pred in p:
            succs[pred].append(job)
    ready = [job for job, n in waiting.items() if n == 0]
    heapq.heapify(ready)
    order = []
    while ready:
        job = heapq.heappop(ready)
        order.append(job)
        for succ in succs[job]:
            waiting[succ] -= 1
            if waiting[succ] == 0:
                heapq.heappush(ready, succ)
    if len(order) != len(preds):
        raise ValueError("the job graph has a cycle")
    return order


def longest_path(seconds: dict[int, float], preds: dict[int, set[int]]) -> tuple[float, list[int]]:
    """The longest duration-weighted chain of dependent jobs: its seconds and its jobs, first to last."""
    finish: dict[int, float] = {}
    via: dict[int, int | None] = {}
    for job in topological(preds):
        best = max(preds[job], key=lambda p: (finish[p], -p), default=None)
        finish[job] = seconds[job] + (finish[best] if best is not None else 0.0)
        via[job] = best
    if not finish:
        return 0.0, []
    job = max(finish, key=lambda j: (finish[j], -j))
    length, chain = finish[job], []
    while job is not None:
        chain.append(job)
        job = via[job]
    return length, chain[::-1]


def remaining_path(seconds: dict[int, float], preds: dict[int, set[int]]) -> dict[int, float]:
    """Each job's seconds plus the longest chain after it (a priority: the longest first)."""
    rest: dict[int, float] = {}
    succs: dict[int, list[int]] = {job: [] for job in preds}
    for job, p in preds.items():
        for pred in p:
            succs[pred].append(job)
    for job in reversed(topological(preds)):
        rest[job] = seconds[job] + max((rest[s] for s in succs[job]), default=0.0)
    return rest


def simulate(seconds: dict[int, float], preds: dict[int, set[int]], cores: int,
             threads: dict[int, int] | None = None, order: list[int] | None = None) -> pd.DataFrame:
    """A greedy list schedule on ``cores`` cores: whenever a core is freed, the ready jobs (every
    predecessor finished) start in ``order`` (default: by id) as long as their threads (at most
    ``cores``) fit. One row per job: job, start, end, cores, and what it waited for: ``after`` is
    the job whose finish let it start and ``why`` is ``input`` (its last predecessor), ``core``
    (a core freed) or ``""`` (it started at 0)."""
    threads = threads or {}
    rank = {job: i for i, job in enumerate(order or sorted(seconds))}
    rank.update({job: len(rank) + job for job in seconds if job not in rank})
    need = {job: max(1, min(threads.get(job, 1), cores)) for job in seconds}
    waiting = {job: len(preds[job]) for job in seconds}
    succs: dict[int, list[int]] = {job: [] for job in seconds}
    for job in seconds:
        for pred in preds[job]:
            succs[pred].append(job)
    ready = sorted((job for job, n in waiting.items() if n == 0), key=rank.get)
    running: list[tuple[float, int, int]] = []
    rows, end = {}, {}
    now, free, just_finished = 0.0, cores, []
    while ready or running:
        for job in list(ready):
            if need[job] > free:
                continue
            ready.remove(job)
            free -= need[job]
            inputs_done = max((end[p] for p in preds[job]), default=0.0)
            if preds[job] and inputs_done == now:
                after, why = max(preds[job], key=lambda p: (end[p], -p)), "input"
            elif just_finished:
                after, why = just_finished[0], "core"
            else:
                after, why = None, ""
            end[job] = now + seconds[job]
            rows[job] = {"job": job, "start": now, "end": end[job], "cores": need[job], "after": after, "why": why}
            heapq.heappush(running, (end[job], rank[job], job))
        if not running:
            break
        now = running[0][0]
        just_finished = []
        while running and running[0][0] == now:
            _, _, job = heapq.heappop(running)
            free += need[job]
            just_finished.append(job)
            for succ in succs[job]:
                waiting[succ] -= 1
                if waiting[succ] == 0:
                    ready.append(succ)
        # the longest job freed the core first among equals: wait chains follow the heavier job
        just_finished.sort(key=lambda j: (-seconds[j], rank[j]))
        ready.sort(key=rank.get)
    if len(rows) != len(seconds):
        raise ValueError("the job graph has a cycle or a job needs more cores than there are")
    return pd.DataFrame([rows[job] for job in sorted(rows, key=lambda j: (rows[j]["start"], rank[j]))],
                        columns=["job", "start", "end", "cores", "after", "why"])


def schedule_chain(schedule: pd.DataFrame) -> list[dict]:
    """The chain that sets a schedule's makespan: from the job that finishes last, back through
    the job each one waited for (its last input or the core it got), first to last."""
    if schedule.empty:
        return []
    rows = schedule.set_index("job")
    last = rows["end"].max()
    job = rows[rows["end"] == last].sort_values("start").index[0]
    chain = []
    while job is not None and not pd.isna(job):
        row = rows.loc[job]
        chain.append({"job": int(job), "start": row["start"], "end": row["end"], "why": row["why"]})
        job = row["after"]
    return chain[::-1]


def bounds(graph: JobGraph, cores: int) -> dict:
    """Makespans on ``cores`` cores: the simulated greedy schedule in the run's order and with the
    longest remaining chain first, and the two lower bounds (the longest path; the core-seconds of
    all jobs / cores), with the one that binds."""
    need = {job: max(1, min(graph.threads.get(job, 1), cores)) for job in graph.seconds}
    path, _ = longest_path(graph.seconds, graph.preds)
    work = sum(graph.seconds[job] * need[job] for job in graph.seconds) / cores
    greedy = simulate(graph.seconds, graph.preds, cores, graph.threads, graph.order)
    rest = remaining_path(graph.seconds, graph.preds)
    critical_first = simulate(graph.seconds, graph.preds, cores, graph.threads,
                              sorted(graph.seconds, key=lambda j: (-rest[j], j)))
    return {"cores": cores, "simulated_s": greedy["end"].max(), "longest_first_s": critical_first["end"].max(),
            "longest_path_s": path, "work_per_core_s": work,
            "binding": "longest path" if path >= work else "work / cores", "schedule": greedy}


# --- output ------------------------------------------------------------------------------------

@dataclass
class Run:
    name: str
    directory: Path
    jobs: pd.DataFrame
    log_path: Path | None
    log: RunLog | None
    wall_seconds: float | None
    wall_source: str


def load_run(name: str, directory: Path, dataset: str, log: Path | None, wall_seconds: float | None) -> Run:
    benchmarks = directory / BENCHMARKS
    found = (log, parse_log(log.read_text(encoding="utf-8", errors="replace"))) if log else \
        latest_log(directory / LOGS, dataset)
    log_path, run = found if found else (None, None)
    jobs = read_jobs(benchmarks, dataset, run, directory)
    if wall_seconds is not None:
        source = "given"
    elif run is not None and run.wall_seconds() is not None:
        wall_seconds = run.wall_seconds()
        source = f"log {log_path.name}" + (" (Elapsed time)" if run.elapsed is not None else " (time stamps)")
    else:
        source = "unknown"
    return Run(name, directory, jobs, log_path, run, wall_seconds, source)


def table_text(table: pd.DataFrame, markdown: bool) -> str:
    table = table.round(1)
    if markdown:
        return "\n" + table.to_markdown(index=False, floatfmt=".1f") + "\n"
    return table.to_string(index=False, na_rep="")


def report(runs: list[Run], dataset: str, budget_minutes: float, cores: list[int], markdown: bool) -> str:
    """The whole report as text: per-rule table (or before/after table), wall time against the
    budget, simulated makespans and critical chains."""
    out: list[str] = []

    def heading(text: str) -> None:
        out.append(("\n## " if markdown else "\n") + text + ("" if markdown else "\n" + "-" * len(text)))

    names = " vs ".join(f"{run.name} ({run.directory})" for run in runs)
    out.append(("# " if markdown else "") + f"Run time of dataset {dataset}: {names}")
    heading("Jobs per rule (seconds: summed job time from the benchmark files; peak: max_rss, MB"
            + ("; change: after - before)" if len(runs) == 2 else "; cpu_s: summed cpu_time)"))
    tables = [rule_table(run.jobs) for run in runs]
    table = compare_runs(*tables) if len(runs) == 2 else with_total(tables[0])
    out.append(table_text(table, markdown))

    heading("Wall time")
    for run in runs:
        if run.wall_seconds is None:
            out.append(f"{run.name}: wall time unknown (no log of {dataset}; give --wall-seconds)")
            continue
        cores_used = f", {run.log.cores} cores" if run.log and run.log.cores else ""
        note = "" if dataset == "default" else " (the budget is for `default` on 2 cores)"
        out.append(f"{run.name}: {budget_line(run.wall_seconds, budget_minutes)}{note} "
                   f"[{run.wall_source}{cores_used}]")
        job_s, cpu_s = run.jobs["seconds"].sum(), run.jobs["cpu_seconds"].sum(min_count=1)
        if not pd.isna(cpu_s) and job_s > 0:
            share = cpu_s / job_s
            out.append(f"  jobs: {job_s:.0f} s of job time, {cpu_s:.0f} s of CPU time: a job had {share:.2f} of a "
                       f"core on average" + (" (well under 1: jobs waited for the CPU or for I/O)" if share < 0.8 else ""))
    if len(runs) == 2 and all(run.wall_seconds for run in runs):
        change = runs[1].wall_seconds - runs[0].wall_seconds
        out.append(f"change: {change:+.0f} s ({100 * change / runs[0].wall_seconds:+.1f} %)")

    for run in runs:
        heading(f"Critical path, {run.name}")
        if run.log is None:
            out.append(f"no Snakemake log of {dataset} in {run.directory / LOGS}: no job graph")
            continue
        graph, notes = log_graph(run.log, run.jobs, run.directory / BENCHMARKS, run.directory)
        out.append(f"job graph: {len(graph.seconds)} jobs, {sum(map(len, graph.preds.values()))} dependencies "
                   f"(from {run.log_path}); job times from the benchmark files, measured on "
                   f"{run.log.cores or '?'} cores")
        out.extend(f"  note: {note}" for note in notes)
        results = [bounds(graph, k) for k in cores]
        summary = pd.DataFrame([{key: r[key] for key in ("cores", "simulated_s", "longest_first_s", "longest_path_s",
                                                         "work_per_core_s", "binding")} for r in results])
        summary = summary.rename(columns={"simulated_s": "simulated_s (run's order)",
                                          "longest_first_s": "simulated_s (longest chain first)",
                                          "work_per_core_s": "work_s / cores", "binding": "binding bound"})
        out.append(table_text(summary, markdown))
        if run.wall_seconds is not None and run.log.cores in cores:
            sim = next(r for r in results if r["cores"] == run.log.cores)["simulated_s"]
            out.append(f"measured wall {run.wall_seconds:.0f} s on {run.log.cores} cores - simulated {sim:.0f} s = "
                       f"{run.wall_seconds - sim:.0f} s of Snakemake start-up, DAG building and scheduling between jobs")
        length, path = longest_path(graph.seconds, graph.preds)
        out.append(f"\nlongest path ({length:.0f} s; no number of cores finishes sooner):")
        out.append(chain_text([{"job": job} for job in path], graph, markdown))
        for result in results:
            chain = schedule_chain(result["schedule"])
            out.append(f"\nchain that sets the simulated {result['cores']}-core makespan ({result['simulated_s']:.0f} s): "
                       f"each job started when the job before it finished (input: it needed its output; "
                       f"core: it freed the core)")
            out.append(chain_text(chain, graph, markdown))
            by_why = {why: sum(graph.seconds[step["job"]] for step in chain if step["why"] == why)
                      for why in ("input", "core")}
            out.append(f"{len(chain)} jobs: {by_why['input']:.0f} s of them started on an input, "
                       f"{by_why['core']:.0f} s on a freed core")
    return "\n".join(out) + "\n"


def chain_text(chain: list[dict], graph: JobGraph, markdown: bool) -> str:
    rows = []
    for step in chain:
        job = step["job"]
        row = {"job": graph.labels[job], "seconds": graph.seconds[job]}
        if "start" in step:
            row.update({"start_s": step["start"], "end_s": step["end"], "waited for": step["why"] or "-"})
        rows.append(row)
    return table_text(pd.DataFrame(rows), markdown)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", nargs="?", default=Path("."), type=Path,
                        help="project folder of the run (its results/benchmarks and .snakemake/log)")
    parser.add_argument("--before", type=Path, help="project folder of the run to compare with")
    parser.add_argument("--dataset", default="default")
    parser.add_argument("--log", type=Path, help="the run's Snakemake log (default: the newest that ran the dataset)")
    parser.add_argument("--before-log", type=Path, help="the before run's Snakemake log")
    parser.add_argument("--wall-seconds", type=float, help="the run's wall time (default: from its log)")
    parser.add_argument("--before-wall-seconds", type=float, help="the before run's wall time")
    parser.add_argument("--cores", type=int, nargs="+", default=[2, 16], help="cores to simulate (default: 2 16)")
    parser.add_argument("--params", type=Path, default=PROJECT / "params.yaml",
                        help="params.yaml with benchmark.wall_budget_minutes (default: this project's)")
    parser.add_argument("--markdown", action="store_true", help="markdown tables")
    args = parser.parse_args()
    budget = yaml.safe_load(args.params.read_text(encoding="utf-8"))["benchmark"]["wall_budget_minutes"]
    runs = []
    if args.before is not None:
        runs.append(load_run("before", args.before, args.dataset, args.before_log, args.before_wall_seconds))
    runs.append(load_run("after" if args.before is not None else "run", args.run, args.dataset, args.log,
                         args.wall_seconds))
    for run in runs:
        if run.jobs.empty:
            raise SystemExit(f"no benchmark files of {args.dataset} under {run.directory / BENCHMARKS}")
    print(report(runs, args.dataset, budget, args.cores, args.markdown), end="")


if __name__ == "__main__":
    main()
