"""The benchmark's datasets and tables (benchmarks/scale.py runs them; here on synthetic inputs)."""

from __future__ import annotations

import sys

import pandas as pd
import pytest

from support import PROJECT_ROOT  # noqa: E402

# benchmarks/ is tooling beside the package, not part of it.
sys.path.insert(0, str(PROJECT_ROOT / "benchmarks"))
from musicfusion import MODALITIES
from musicfusion.data.manifest import read_manifest

import scale_report as bench  # noqa: E402

TARGETS = {"audio_x_real_time": 1000, "video_frames_per_second": 1500, "workflow_over_kernels": 1.3,
           "peak_memory_mb": 1500, "memory_flat_from": 400, "memory_flat_tolerance": 0.1, "noop_seconds": 3}


@pytest.fixture()
def source(tmp_path):
    root = tmp_path / "source"
    (root / "clips").mkdir(parents=True)
    rows = []
    for i in range(3):
        for ext in ("wav", "mp4", "txt", "mid"):
            (root / "clips" / f"c{i}.{ext}").write_bytes(f"{i}{ext}".encode())
        rows.append({"clip_id": f"c{i}", "split": "train", "group": f"g{i}", "style": "a", "instrument": "b",
                     "audio_path": f"clips/c{i}.wav", "video_path": f"clips/c{i}.mp4",
                     "text_path": "" if i == 2 else f"clips/c{i}.txt", "score_path": f"clips/c{i}.mid"})
    manifest = pd.DataFrame(rows)
    manifest.to_csv(root / "manifest.csv", index=False)
    return root, manifest.fillna("")


def test_a_dataset_of_n_clips_lists_the_source_again_under_new_ids_with_linked_media(source, tmp_path):
    root, manifest = source
    out = bench.replicate_manifest(manifest, 7)
    assert out["clip_id"].tolist() == ["c0", "c1", "c2", "c0-copy1", "c1-copy1", "c2-copy1", "c0-copy2"]
    assert out["group"].tolist() == ["g0", "g1", "g2"] * 2 + ["g0"]  # copies stay in their source's group
    assert out.loc[3, "audio_path"] == "clips/c0-copy1.wav" and out.loc[3, "source_audio_path"] == "clips/c0.wav"
    assert out.loc[5, "text_path"] == ""  # an absent modality stays absent
    target = tmp_path / "bench"
    assert bench.link_media(out, root, target) == 7 * 3 + 5
    assert (target / "clips/c0-copy2.mp4").read_bytes() == b"0mp4"
    assert (target / "clips/c0-copy2.mp4").stat().st_ino == (root / "clips/c0.mp4").stat().st_ino
    assert bench.link_media(out, root, target) == 0  # made once
    out.to_csv(target / "manifest.csv", index=False)
    assert len(read_manifest(target / "manifest.csv", MODALITIES, ("style", "instrument"))) == 7  # a valid manifest of unique ids
    with pytest.raises(ValueError, match="n_clips"):
        bench.replicate_manifest(manifest, 0)


def write_benchmark(root, rule, job, seconds, rss):
    path = root / rule / f"{job}.tsv"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("s\th:m:s\tmax_rss\tmax_vms\n" f"{seconds}\t0:00:01\t{rss}\t1\n")


@pytest.fixture()
def jobs(tmp_path):
    root = tmp_path / "benchmarks"
    for shard in ("000", "001"):
        write_benchmark(root, "preprocess", f"ds/shard-{shard}", 10.0, 900)
        write_benchmark(root, "extract_shard", f"ds/audio/shard-{shard}", 2.0, 500)
        write_benchmark(root, "extract_shard", f"ds/video/shard-{shard}", 1.0, 300)
    write_benchmark(root, "gather_features", "ds/audio", 0.5, 100)
    write_benchmark(root, "extract_shard", "other/audio/shard-000", 99.0, 9999)  # another dataset
    write_benchmark(root, "describe_dataset", "ds", 0.25, 120)
    return bench.job_times(root, "ds")


def test_job_times_are_one_datasets_jobs(jobs):
    assert len(jobs) == 8 and jobs["max_rss_mb"].max() == 900
    assert set(jobs["rule"]) == {"preprocess", "extract_shard", "gather_features", "describe_dataset"}
    assert bench.modality_jobs(jobs, "extract_shard", "audio")["seconds"].sum() == 4.0
    rules = bench.per_rule(jobs)
    assert rules.iloc[0].tolist() == ["preprocess", 2, 20.0, 900.0]


def test_throughput_compares_job_time_with_the_kernels(jobs):
    kernels = {"preprocess_audio": 4.0, "preprocess_video": 8.0, "preprocess_text": 0.5, "extract_audio": 3.0,
               "extract_video": 0.5}
    media = {"audio_seconds": 6000.0, "video_frames": 3000, "source_frames": 15000}
    table = pd.DataFrame(bench.throughput_rows(600, jobs, kernels, media, TARGETS, cores=1)).set_index("measure")
    audio = table.loc["audio extraction, workflow, per core, --cores 1"]
    assert audio["value"] == 1500.0 and audio["met"] == "yes"  # 6000 s of audio in 4 s of jobs
    assert table.loc["audio extraction, kernel in one process", "value"] == 2000.0
    assert table.loc["video extraction, workflow, per core, --cores 1", "value"] == 1500.0
    assert table.loc["video extraction, workflow / kernel time, --cores 1", "value"] == 4.0
    overall = table.loc["preprocessing + extraction, workflow / kernels, --cores 1"]
    assert overall["value"] == pytest.approx(26.5 / 16.0) and overall["met"] == "no"


def test_scaling_fits_slopes_and_judges_memory_flat_from_the_set_size(jobs):
    runs = {n: {"wall_seconds": 10 + n / 100, "jobs": jobs.assign(max_rss_mb=jobs["max_rss_mb"] * factor)}
            for n, factor in ((100, 0.5), (400, 1.0), (1600, 1.05))}
    table = pd.DataFrame(bench.scaling_rows(runs, TARGETS)).set_index("measure")
    assert table.loc["wall time slope", "value"] == pytest.approx(10.0)
    flat = table.loc["peak memory at N=1600 / at N=400"]
    assert flat["value"] == pytest.approx(1.05) and flat["met"] == "yes"
    memory = table.loc["peak memory of the largest job"]
    assert memory["value"].tolist() == [450, 900, 945] and set(memory["met"]) == {"yes"}
    runs[1600]["jobs"] = jobs.assign(max_rss_mb=jobs["max_rss_mb"] * 2)
    table = pd.DataFrame(bench.scaling_rows(runs, TARGETS)).set_index("measure")
    assert table.loc["peak memory at N=1600 / at N=400", "met"] == "no"
    assert table.loc["peak memory of the largest job", "met"].tolist() == ["yes", "yes", "no"]


def test_the_benchmark_figure_draws_every_panel(jobs):
    runs = {n: {"wall_seconds": n / 10, "jobs": jobs} for n in (100, 400)}
    rows = bench.scaling_rows(runs, TARGETS)
    rows += bench.throughput_rows(400, jobs, dict.fromkeys(["preprocess_audio", "preprocess_video", "preprocess_text",
                                                            "extract_audio", "extract_video"], 1.0),
                                  {"audio_seconds": 10.0, "video_frames": 10, "source_frames": 10}, TARGETS, cores=2)
    rows += [bench.row("rules", f"{r.rule} (features)", 400, r.seconds, "s") for r in bench.per_rule(jobs).itertuples()]
    fig = bench.benchmark_figure(pd.DataFrame(rows, columns=bench.COLUMNS))
    scale_ax, ratio_ax, rules_ax = fig.axes[:3]
    assert len(scale_ax.lines[0].get_xdata()) == 2
    assert len(ratio_ax.patches) == 3 and len(rules_ax.patches) == 4
