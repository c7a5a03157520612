"""Wall time and peak memory of each workflow step, from Snakemake's benchmark files.

Every rule writes results/benchmarks/<rule>/...tsv (Snakemake's `benchmark:` directive). This
sums the jobs of each rule (their CPU-seconds of wall time; jobs of one rule may have run in
parallel) and prints a table: rule, jobs, summed seconds, longest job, peak RSS.

    python benchmarks/step_times.py [results/benchmarks]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd


def step_times(root: Path) -> pd.DataFrame:
    rows = []
    for path in sorted(root.rglob("*.tsv")):
        rule = path.relative_to(root).parts[0].removesuffix(".tsv")
        bench = pd.read_csv(path, sep="\t")
        rows.append({"rule": rule, "seconds": float(bench["s"].iloc[0]),
                     "max_rss_mb": float(pd.to_numeric(bench["max_rss"], errors="coerce").iloc[0])})
    if not rows:
        raise SystemExit(f"no benchmark files under {root}: run the workflow first")
    frame = pd.DataFrame(rows)
    table = frame.groupby("rule", sort=False).agg(jobs=("seconds", "size"), seconds=("seconds", "sum"),
                                                  longest_job_s=("seconds", "max"),
                                                  peak_rss_mb=("max_rss_mb", "max"))
    return table.round(1).sort_values("seconds", ascending=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root", nargs="?", default="results/benchmarks", type=Path)
    table = step_times(parser.parse_args().root)
    print(table.to_string())
    print(f"\nall jobs: {table['seconds'].sum():.1f} s")


if __name__ == "__main__":
    main()
