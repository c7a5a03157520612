"""Snakemake script for rule dataset_fingerprint: SHA-256 of the manifest and its media."""

from musicfusion.io import write_json
from musicfusion.provenance import dataset_fingerprint
from musicfusion.workflow import log_to

with log_to(snakemake.log[0]):
    fingerprint = dataset_fingerprint(snakemake.input.manifest)
    write_json(snakemake.output[0], fingerprint)
    print(fingerprint)
