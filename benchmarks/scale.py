"""Speed and memory of the workflow at scale; writes results/benchmark.csv and results/benchmark.png.

    .venv/bin/python benchmarks/scale.py [--sizes 100 400 1600] [--skip-rerun]

Settings and targets: params.yaml `benchmark`. On a clean clone it first renders the source
preset (`default`, about 2.5 min), then:

1. **Scaling**: datasets of N clips (the source's clips listed again under new ids, hard links
   to the same files) run from preprocessing through feature extraction with `--cores 2`: wall
   time, every job's time and peak memory (Snakemake's benchmark files), fitted slopes.
2. **Parallel efficiency**: the largest N again with `--cores 1`.
3. **Throughput**: the same kernels (preprocess.load_*, features.audio/video.extract) in one
   in-process loop over the largest N's clips, against the workflow's job time.
4. **Incremental cost**: a no-op run of the largest N's features; the whole workflow on
   `rerun_dataset` (built from its raw data), its no-op run, and a rerun after `rerun_change` (then the
   change is undone and rerun, untimed).
5. **Where time goes**: seconds and peak memory per rule, for the largest N and the whole
   workflow on `rerun_dataset`.

Each run starts from no built outputs of its dataset; raw data, once made, is reused.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import time
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT / "src"))

from musicfusion.plumbing.runtime import pin_job_environment  # noqa: E402

# The in-process loop runs under the same thread settings as the workflow's jobs.
pin_job_environment(PROJECT)

import pandas as pd  # noqa: E402
import yaml  # noqa: E402

import scale_report as bench  # noqa: E402  (beside this script)
from musicfusion import MODALITIES  # noqa: E402
from musicfusion.plumbing.config import load_params  # noqa: E402
from musicfusion.plumbing.files import markdown_table, write_csv  # noqa: E402
from musicfusion.plumbing.paths import Layout  # noqa: E402
from musicfusion.data.manifest import path_column, read_manifest  # noqa: E402

SNAKEMAKE = str(Path(sys.executable).parent / "snakemake")
BENCHMARKS = PROJECT / "results/benchmarks"
OUT = PROJECT / "results"
WORK = PROJECT / "data/benchmark"  # overlay configs of the benchmark datasets


def snakemake(*args: str, dataset: str, configfiles: tuple[Path, ...] = ()) -> float:
    """Run Snakemake in the project; returns its wall time. Fails loudly with its log's tail."""
    command = [SNAKEMAKE, *args]
    if configfiles:
        command += ["--configfile", *map(str, configfiles)]
    command += ["--config", f"dataset={dataset}"]
    started = time.perf_counter()
    proc = subprocess.run(command, cwd=PROJECT, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - started
    if proc.returncode:
        raise SystemExit(f"{' '.join(command)} failed:\n{proc.stderr[-4000:]}")
    return wall


def planned_jobs(*args: str, dataset: str, configfiles: tuple[Path, ...] = ()) -> int:
    command = [SNAKEMAKE, "-n", "--quiet", "rules", *args]
    if configfiles:
        command += ["--configfile", *map(str, configfiles)]
    out = subprocess.run([*command, "--config", f"dataset={dataset}"], cwd=PROJECT, capture_output=True,
                         text=True, check=True).stdout
    totals = [line.split() for line in out.splitlines() if line.startswith("total")]
    return int(totals[0][1]) if totals else 0


def clean(dataset: str) -> None:
    """Remove every built output of ``dataset`` but its raw data."""
    layout = Layout(dataset, str(PROJECT))
    for folder in [Path(layout.interim), Path(layout.processed), Path(layout.results), Path(layout.models),
                   *BENCHMARKS.glob(f"*/{dataset}"), *(PROJECT / "logs").glob(f"*/{dataset}")]:
        shutil.rmtree(folder, ignore_errors=True)
    for file in BENCHMARKS.glob(f"*/{dataset}.tsv"):
        file.unlink()


def build_dataset(source: str, n_clips: int) -> tuple[str, Path]:
    """The dataset ``bench_<n>``: its manifest under data/raw and the overlay config naming it."""
    name = f"bench_{n_clips}"
    source_root = Path(Layout(source, str(PROJECT)).raw)
    manifest = bench.replicate_manifest(pd.read_csv(source_root / "manifest.csv", dtype=str,
                                                    keep_default_na=False), n_clips)
    root = Path(Layout(name, str(PROJECT)).raw)
    root.mkdir(parents=True, exist_ok=True)
    bench.link_media(manifest, source_root, root)
    write_csv(root / "manifest.csv", manifest)
    overlay = WORK / f"{name}.yaml"
    overlay.parent.mkdir(parents=True, exist_ok=True)
    overlay.write_text(yaml.safe_dump({"datasets": {name: {"manifest": Layout(name).manifest}}}))
    return name, overlay


def feature_targets(dataset: str) -> list[str]:
    features = Layout(dataset).features
    return [f"{features}/{name}.npz" for name in ("audio", "video", "text", "control/audio", "control/video",
                                                  "control/text")]


def run_features(dataset: str, overlay: Path, cores: int) -> dict:
    clean(dataset)
    wall = snakemake("--cores", str(cores), *feature_targets(dataset), dataset=dataset, configfiles=(overlay,))
    return {"wall_seconds": wall, "jobs": bench.job_times(BENCHMARKS, dataset)}


def time_kernels(manifest_path: Path, params: dict) -> tuple[dict, dict]:
    """The preprocessing and content-extraction kernels over every clip in one process."""
    import cv2

    from musicfusion.features import audio, video
    from musicfusion.data.preprocess import load_audio, load_text, load_video, resolve_media

    pre, feats = params["preprocess"], params["features"]
    limits = {k: pre[k] for k in ("min_seconds", "max_seconds", "long_clips")}
    root = manifest_path.parent
    manifest = read_manifest(manifest_path, MODALITIES, params["tasks"])
    seconds = dict.fromkeys(["preprocess_audio", "preprocess_video", "preprocess_text", "extract_audio",
                             "extract_video"], 0.0)
    media = {"audio_seconds": 0.0, "video_frames": 0, "source_frames": 0}

    def clip(row, timed: bool) -> None:
        paths = {m: resolve_media(root, row.clip_id, m, getattr(row, path_column(m))) for m in ("audio", "video", "text")}
        marks = [time.perf_counter()]
        samples = load_audio(row.clip_id, paths["audio"], limits, pre["audio"])
        marks.append(time.perf_counter())
        frames = load_video(row.clip_id, paths["video"], limits, pre["video"])
        marks.append(time.perf_counter())
        load_text(row.clip_id, paths["text"], pre["text"])
        marks.append(time.perf_counter())
        audio.extract([samples], pre["audio"]["sample_rate"], feats["audio"])
        marks.append(time.perf_counter())
        video.extract([frames], feats["video"])
        marks.append(time.perf_counter())
        if timed:
            for key, (start, end) in zip(seconds, zip(marks, marks[1:])):
                seconds[key] += end - start
            media["audio_seconds"] += len(samples) / pre["audio"]["sample_rate"]
            media["video_frames"] += len(frames)
            capture = cv2.VideoCapture(str(paths["video"]))
            media["source_frames"] += int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
            capture.release()

    rows = list(manifest.itertuples(index=False))
    clip(rows[0], timed=False)  # warm-up: imports, numba's cached functions, OpenCV's first calls
    for row in rows:
        clip(row, timed=True)
    return seconds, media


def rerun_rows(params: dict) -> list[dict]:
    """No-op and incremental reruns of the whole workflow on the rerun dataset."""
    settings = params["benchmark"]
    dataset, targets = settings["rerun_dataset"], settings["targets"]
    # From its raw data, so that every rule's benchmark files are this build's.
    clean(dataset)
    build = snakemake("--cores", "2", dataset=dataset)
    n_clips = len(pd.read_csv(Layout(dataset, str(PROJECT)).manifest))
    noop = snakemake("--cores", "2", dataset=dataset)
    text, met = bench.at_most(noop, targets["noop_seconds"], "s")
    rows = [bench.row("incremental", f"whole workflow ({dataset}) from its raw data: wall time", n_clips, build, "s"),
            bench.row("incremental", f"no-op run of the whole workflow ({dataset})", n_clips, noop, "s", text, met)]
    change = WORK / "rerun_change.yaml"
    change.parent.mkdir(parents=True, exist_ok=True)
    change.write_text(yaml.safe_dump(settings["rerun_change"]))
    jobs = planned_jobs(dataset=dataset, configfiles=(change,))
    rerun = snakemake("--cores", "2", dataset=dataset, configfiles=(change,))
    described = yaml.safe_dump(settings["rerun_change"], default_flow_style=True, width=1000).strip()
    rows.append(bench.row("incremental", f"rerun after {described}: jobs", n_clips, jobs, "jobs"))
    rows.append(bench.row("incremental", f"rerun after {described}: wall time", n_clips, rerun, "s"))
    snakemake("--cores", "2", dataset=dataset)  # undo the change
    for rule in bench.per_rule(bench.job_times(BENCHMARKS, dataset)).itertuples():
        rows.append(bench.row("rules", f"{rule.rule} ({dataset}, whole workflow)", n_clips, rule.seconds, "s"))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", help="dataset sizes (default: params.yaml benchmark.sizes)")
    parser.add_argument("--skip-rerun", action="store_true", help="leave out the whole-workflow reruns")
    args = parser.parse_args()
    params = load_params(PROJECT / "params.yaml")
    settings = params["benchmark"]
    targets, sizes = settings["targets"], sorted(args.sizes or settings["sizes"])
    source = settings["source"]
    print(f"rendering {source} if needed ...", flush=True)
    snakemake("--cores", "2", Layout(source).manifest, dataset=source)

    runs, overlays = {}, {}
    for n in sizes:
        name, overlays[n] = build_dataset(source, n)
        runs[n] = run_features(name, overlays[n], cores=2)
        print(f"N={n}: {runs[n]['wall_seconds']:.1f} s wall, {len(runs[n]['jobs'])} jobs, "
              f"largest job {runs[n]['jobs']['max_rss_mb'].max():.0f} MB", flush=True)
    rows = bench.scaling_rows(runs, targets)
    largest = sizes[-1]
    name = f"bench_{largest}"
    noop = snakemake("--cores", "2", *feature_targets(name), dataset=name, configfiles=(overlays[largest],))
    text, met = bench.at_most(noop, targets["noop_seconds"], "s")
    rows.append(bench.row("incremental", "no-op run of the features", largest, noop, "s", text, met))
    for rule in bench.per_rule(runs[largest]["jobs"]).itertuples():
        rows.append(bench.row("rules", f"{rule.rule} (features)", largest, rule.seconds, "s"))
        rows.append(bench.row("rules", f"{rule.rule} (features) peak memory", largest, rule.peak_rss_mb, "MB"))

    print(f"N={largest} in one process ...", flush=True)
    kernels, media = time_kernels(Path(Layout(name, str(PROJECT)).manifest), params)
    rows += bench.throughput_rows(largest, runs[largest]["jobs"], kernels, media, targets, cores=2)

    print(f"N={largest} on one core ...", flush=True)
    one_core = run_features(name, overlays[largest], cores=1)
    rows += bench.throughput_rows(largest, one_core["jobs"], kernels, media, targets, cores=1)
    speedup = one_core["wall_seconds"] / runs[largest]["wall_seconds"]
    rows.append(bench.row("parallel", "wall time, --cores 1", largest, one_core["wall_seconds"], "s"))
    rows.append(bench.row("parallel", "wall time, --cores 2", largest, runs[largest]["wall_seconds"], "s"))
    rows.append(bench.row("parallel", "speed-up of --cores 2 over --cores 1", largest, speedup, "x"))
    rows.append(bench.row("parallel", "parallel efficiency on 2 cores", largest, speedup / 2, "fraction"))

    if not args.skip_rerun:
        print(f"whole workflow on {settings['rerun_dataset']} ...", flush=True)
        rows += rerun_rows(params)

    table = pd.DataFrame(rows, columns=bench.COLUMNS)
    table["value"] = table["value"].astype(float).round(3)
    write_csv(OUT / "benchmark.csv", table)
    from musicfusion.evaluation.plots import save_png

    save_png(bench.benchmark_figure(table), OUT / "benchmark.png")
    print(markdown_table(table.astype(object).where(table.notna(), ""), float_format=".3g"))
    print(f"\nwritten: {OUT / 'benchmark.csv'}, {OUT / 'benchmark.png'}")


if __name__ == "__main__":
    main()
