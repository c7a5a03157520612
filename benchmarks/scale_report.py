"""Performance of the workflow at scale (tooling beside ``benchmarks/scale.py``, not the package): datasets of N clips, job times, throughput and targets.

``benchmarks/scale.py`` runs the workflow and the kernels; this module builds what it runs on
and turns Snakemake's benchmark files into the table of results/benchmark.csv. A speed benchmark
needs many clips, not many works: a dataset of N clips lists a rendered preset's clips again
under new ids (hard links to the same files), as often as N asks.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pandas as pd

from matplotlib.figure import Figure

from musicfusion import MODALITIES
from musicfusion.data.manifest import path_column
from musicfusion.evaluation.plots import OTHER_COLOUR, PANEL_HEIGHT, PANEL_WIDTH, new_figure

# The columns of results/benchmark.csv: one measurement per row.
COLUMNS = ["section", "measure", "n_clips", "value", "unit", "target", "met"]
# The rules of preprocessing and content extraction (what the in-process kernels do).
EXTRACTION_RULES = ("preprocess", "extract_shard", "gather_features")


def replicate_manifest(source: pd.DataFrame, n_clips: int) -> pd.DataFrame:
    """``n_clips`` rows cycling through ``source``: copy k of a clip gets the id ``<id>-copy<k>``
    (copy 0 keeps its id) and media paths ``clips/<new id>.<ext>``; ``source_<modality>_path``
    columns say which file each stands for. Labels, group and split are the source clip's."""
    if n_clips < 1 or source.empty:
        raise ValueError(f"need a non-empty source and n_clips >= 1, got {len(source)} rows and {n_clips}")
    index = np.arange(n_clips) % len(source)
    copies = np.arange(n_clips) // len(source)
    out = source.iloc[index].reset_index(drop=True).copy()
    out["clip_id"] = [cid if k == 0 else f"{cid}-copy{k}" for cid, k in zip(out["clip_id"], copies)]
    for modality in MODALITIES:
        column = path_column(modality)
        if column not in out:
            continue
        out[f"source_{column}"] = out[column]
        out[column] = [f"clips/{cid}{Path(p).suffix}" if p else "" for cid, p in zip(out["clip_id"], out[column])]
    return out


def link_media(manifest: pd.DataFrame, source_root: Path, root: Path) -> int:
    """Hard-link (or copy, across file systems) each row's source media to its path under
    ``root``; returns the number of files made. Existing files are kept."""
    made = 0
    for modality in MODALITIES:
        column = path_column(modality)
        if column not in manifest:
            continue
        for src, dst in zip(manifest[f"source_{column}"], manifest[column]):
            if not dst or (root / dst).exists():
                continue
            (root / dst).parent.mkdir(parents=True, exist_ok=True)
            try:
                os.link(source_root / src, root / dst)
            except OSError:
                shutil.copy2(source_root / src, root / dst)
            made += 1
    return made


def job_times(benchmarks: Path, dataset: str) -> pd.DataFrame:
    """Every job of ``dataset`` that wrote a Snakemake benchmark file under ``benchmarks``
    (results/benchmarks/<rule>/<dataset>/...): rule, job, seconds, peak RSS in MB, CPU seconds
    (NaN in a file without Snakemake's cpu_time column)."""
    rows = []
    for path in sorted(benchmarks.glob(f"*/{dataset}/**/*.tsv")) + sorted(benchmarks.glob(f"*/{dataset}.tsv")):
        rule = path.relative_to(benchmarks).parts[0]
        bench = pd.read_csv(path, sep="\t")
        rows.append({"rule": rule, "job": str(path.relative_to(benchmarks / rule)).removesuffix(".tsv"),
                     "seconds": float(bench["s"].iloc[0]),
                     "max_rss_mb": float(pd.to_numeric(bench["max_rss"], errors="coerce").iloc[0]),
                     "cpu_seconds": float(pd.to_numeric(bench["cpu_time"], errors="coerce").iloc[0])
                     if "cpu_time" in bench else float("nan")})
    return pd.DataFrame(rows, columns=["rule", "job", "seconds", "max_rss_mb", "cpu_seconds"])


def modality_jobs(jobs: pd.DataFrame, rule: str, modality: str) -> pd.DataFrame:
    """The jobs of ``rule`` for one modality (their job path holds the modality's folder)."""
    return jobs[(jobs["rule"] == rule) & jobs["job"].str.split("/").apply(lambda parts: modality in parts)]


def per_rule(jobs: pd.DataFrame) -> pd.DataFrame:
    """Jobs, summed seconds and peak RSS per rule, the slowest first."""
    table = jobs.groupby("rule").agg(jobs=("seconds", "size"), seconds=("seconds", "sum"),
                                     peak_rss_mb=("max_rss_mb", "max"))
    return table.sort_values("seconds", ascending=False).reset_index()


def fitted_slope(x, y) -> float:
    """The least-squares slope of y on x."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    if len(x) < 2:
        raise ValueError("a slope needs at least two points")
    return float(np.polyfit(x, y, 1)[0])


def row(section: str, measure: str, n_clips: int | None, value: float, unit: str,
        target: str = "", met: bool | None = None) -> dict:
    return {"section": section, "measure": measure, "n_clips": n_clips, "value": value, "unit": unit,
            "target": target, "met": "" if met is None else ("yes" if met else "no")}


def at_least(value: float, target: float, unit: str) -> tuple[str, bool]:
    return f">= {target:g} {unit}", value >= target


def at_most(value: float, target: float, unit: str) -> tuple[str, bool]:
    return f"<= {target:g} {unit}", value <= target


def throughput_rows(n_clips: int, jobs: pd.DataFrame, kernels: dict, media: dict, targets: dict,
                    cores: int) -> list[dict]:
    """Per modality, the workflow's extraction throughput per core (media per second of job time)
    beside the same kernels' in one process, their ratio, and preprocessing plus extraction
    against the kernels; ``jobs`` ran with ``--cores cores`` (parallel jobs slow each other down:
    with 1 the comparison is one core against one core).

    ``kernels``: in-process seconds of ``preprocess_audio``, ``preprocess_video``,
    ``preprocess_text``, ``extract_audio``, ``extract_video``. ``media``: ``audio_seconds`` and
    ``video_frames`` (preprocessed frames) of the clips, and ``source_frames`` (decoded frames).
    """
    rows = []
    audio_jobs = modality_jobs(jobs, "extract_shard", "audio")["seconds"].sum()
    video_jobs = modality_jobs(jobs, "extract_shard", "video")["seconds"].sum()
    specs = [("audio", media["audio_seconds"], audio_jobs, kernels["extract_audio"], "x real time",
              targets["audio_x_real_time"]),
             ("video", media["video_frames"], video_jobs, kernels["extract_video"], "frames/s",
              targets["video_frames_per_second"])]
    for modality, amount, job_seconds, kernel_seconds, unit, target in specs:
        workflow = amount / job_seconds
        text, met = at_least(workflow, target, unit)
        rows.append(row("throughput", f"{modality} extraction, workflow, per core, --cores {cores}", n_clips, workflow, unit, text, met))
        rows.append(row("throughput", f"{modality} extraction, kernel in one process", n_clips,
                        amount / kernel_seconds, unit))
        rows.append(row("throughput", f"{modality} extraction, workflow / kernel time, --cores {cores}", n_clips,
                        job_seconds / kernel_seconds, "ratio"))
    preprocess_jobs = jobs.loc[jobs["rule"] == "preprocess", "seconds"].sum()
    # The modalities whose preprocessing kernel the benchmark timed (benchmarks/scale.py).
    preprocess_kernels = sum(kernels[f"preprocess_{m}"] for m in MODALITIES if f"preprocess_{m}" in kernels)
    rows.append(row("throughput", f"preprocessing, workflow, per core, --cores {cores}", n_clips,
                    media["source_frames"] / preprocess_jobs, "source frames/s"))
    rows.append(row("throughput", "preprocessing, kernels in one process", n_clips,
                    media["source_frames"] / preprocess_kernels, "source frames/s"))
    workflow_seconds = jobs.loc[jobs["rule"].isin(EXTRACTION_RULES), "seconds"].sum()
    kernel_seconds = preprocess_kernels + kernels["extract_audio"] + kernels["extract_video"]
    ratio = workflow_seconds / kernel_seconds
    text, met = at_most(ratio, targets["workflow_over_kernels"], "x")
    rows.append(row("throughput", f"preprocessing + extraction, workflow job time, --cores {cores}", n_clips, workflow_seconds, "s"))
    rows.append(row("throughput", "preprocessing + extraction, kernels in one process", n_clips, kernel_seconds, "s"))
    rows.append(row("throughput", f"preprocessing + extraction, workflow / kernels, --cores {cores}", n_clips, ratio, "ratio",
                    text, met))
    return rows


def scaling_rows(runs: dict[int, dict], targets: dict) -> list[dict]:
    """Wall time and the largest job's peak memory per N, their slopes, and the memory target
    (every job under the limit, and flat: the largest N's peak within ``memory_flat_tolerance``
    of the smallest's at or above ``memory_flat_from``)."""
    sizes = sorted(runs)
    rows = []
    for n in sizes:
        rows.append(row("scaling", "wall time", n, runs[n]["wall_seconds"], "s"))
        peak = runs[n]["jobs"]["max_rss_mb"].max()
        text, met = at_most(peak, targets["peak_memory_mb"], "MB")
        rows.append(row("scaling", "peak memory of the largest job", n, peak, "MB", text, met))
        rows.append(row("scaling", "jobs", n, len(runs[n]["jobs"]), "jobs"))
    if len(sizes) >= 2:
        rows.append(row("scaling", "wall time slope", None,
                        1000 * fitted_slope(sizes, [runs[n]["wall_seconds"] for n in sizes]), "s per 1000 clips"))
        rows.append(row("scaling", "peak memory slope", None,
                        1000 * fitted_slope(sizes, [runs[n]["jobs"]["max_rss_mb"].max() for n in sizes]),
                        "MB per 1000 clips"))
        flat = [n for n in sizes if n >= targets["memory_flat_from"]]
        if len(flat) >= 2:
            low, high = (runs[n]["jobs"]["max_rss_mb"].max() for n in (flat[0], flat[-1]))
            growth = high / low
            text, met = at_most(growth, 1 + targets["memory_flat_tolerance"], "x")
            rows.append(row("scaling", f"peak memory at N={flat[-1]} / at N={flat[0]}", None, growth, "ratio",
                            text, met))
    return rows


def benchmark_figure(table: pd.DataFrame) -> Figure:
    """The benchmark (:data:`COLUMNS` rows) in three panels: wall time and the largest
    job's peak memory against N; workflow job time over the in-process kernels' per stage, with
    its target; seconds per rule of the largest run of the features."""
    fig = new_figure(3 * PANEL_WIDTH, PANEL_HEIGHT)
    scale_ax, ratio_ax, rules_ax = fig.subplots(1, 3)
    scaling = table[(table["section"] == "scaling") & table["n_clips"].notna()]
    wall = scaling[scaling["measure"] == "wall time"]
    memory = scaling[scaling["measure"] == "peak memory of the largest job"]
    scale_ax.plot(wall["n_clips"], wall["value"], "o-", color="tab:blue", label="wall time (s)")
    scale_ax.set_xlabel("clips")
    scale_ax.set_ylabel("wall time (s)", color="tab:blue")
    memory_ax = scale_ax.twinx()
    memory_ax.plot(memory["n_clips"], memory["value"], "s--", color="tab:orange")
    memory_ax.set_ylabel("peak memory of the largest job (MB)", color="tab:orange")
    memory_ax.set_ylim(bottom=0)
    scale_ax.set_ylim(bottom=0)
    scale_ax.set_title("scaling (2 cores)")
    ratios = table[(table["section"] == "throughput") & (table["unit"] == "ratio")]
    labels = [m.replace(", workflow / kernel time", "").replace(", workflow / kernels", "") for m in ratios["measure"]]
    labels = [label.replace(", --cores ", "\n--cores ") for label in labels]
    ratio_ax.barh(labels, ratios["value"], color=OTHER_COLOUR)
    targets = ratios[ratios["target"] != ""]
    for target in dict.fromkeys(targets["target"]):
        ratio_ax.axvline(float(target.split()[1]), color="tab:red", linestyle=":", label=f"target {target}")
    ratio_ax.axvline(1.0, color="black", linewidth=0.8)
    ratio_ax.set_xlabel("workflow job time / in-process kernels")
    ratio_ax.set_title("overhead of the workflow")
    if len(targets):
        ratio_ax.legend(loc="lower right", fontsize="small")
    rules = table[(table["section"] == "rules") & (table["unit"] == "s")]
    rules = rules[rules["measure"].str.endswith("(features)")]
    rules_ax.barh([m.removesuffix(" (features)") for m in rules["measure"]], rules["value"], color="tab:blue")
    rules_ax.invert_yaxis()
    rules_ax.set_xlabel("job seconds (summed over jobs)")
    n = rules["n_clips"].max() if len(rules) else ""
    rules_ax.set_title(f"where time goes, features of {n:.0f} clips" if len(rules) else "where time goes")
    return fig
