"""Wall time and peak memory of each workflow step of one dataset, from Snakemake's benchmark files.

Every rule writes results/benchmarks/<rule>/<dataset>/...tsv (Snakemake's `benchmark:` directive).
This sums the jobs of each rule (their seconds of wall time; jobs of one rule may have run in
parallel) and prints a table: rule, jobs, summed seconds, peak RSS.

    python benchmarks/step_times.py [--dataset default] [results/benchmarks]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import scale_report  # noqa: E402  (beside this script)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root", nargs="?", default="results/benchmarks", type=Path)
    parser.add_argument("--dataset", default="default")
    args = parser.parse_args()
    jobs = scale_report.job_times(args.root, args.dataset)
    if jobs.empty:
        raise SystemExit(f"no benchmark files of {args.dataset} under {args.root}: run the workflow first")
    table = scale_report.per_rule(jobs).round(1)
    print(table.to_string(index=False))
    print(f"\nall jobs: {table['seconds'].sum():.1f} s")


if __name__ == "__main__":
    main()
