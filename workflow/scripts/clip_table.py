"""Snakemake script for rule clip_table: split and labels in the feature matrices' row order."""

from musicfusion.featurestore import clip_table
from musicfusion.io import load_npz, write_csv
from musicfusion.manifest import read_manifest
from musicfusion.workflow import log_to

with log_to(snakemake.log[0]):
    table = clip_table({path: load_npz(path)["clip_ids"] for path in snakemake.input.features},
                       read_manifest(snakemake.input.manifest, require_all_splits=True))
    write_csv(snakemake.output[0], table)
    print(table.groupby("split").size().to_dict())
