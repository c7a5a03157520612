"""Snakemake script for rule dataset_fingerprint: SHA-256 of the manifest and its media."""

from musicfusion.plumbing.files import write_json
from musicfusion.plumbing.scriptlog import log_to
from musicfusion.tracking.provenance import dataset_fingerprint

with log_to(snakemake.log[0]):
    fingerprint = dataset_fingerprint(snakemake.input.manifest)
    write_json(snakemake.output[0], fingerprint)
    print(fingerprint)
