"""Snakemake script for rule reproduce: fail with a readable diff when a number moved."""

import sys

from musicfusion.evaluation.reproduce import reproduce

problems = reproduce(list(snakemake.input), snakemake.params.reference_dir, snakemake.params.tolerance)
if problems:
    report = "\n".join(["Results differ from the reference in " + snakemake.params.reference_dir + ":", *problems])
else:
    report = (f"Reproduced: {len(snakemake.input)} table(s) match {snakemake.params.reference_dir} "
              f"within {snakemake.params.tolerance}.")
with open(snakemake.log[0], "w", encoding="utf-8") as fh:
    fh.write(report + "\n")
print(report, file=sys.stderr)
sys.exit(1 if problems else 0)
