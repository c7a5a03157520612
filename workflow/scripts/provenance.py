"""Snakemake script for rule provenance: commit, data hash, params hash, package versions."""

from musicfusion.plumbing.files import read_json, write_json
from musicfusion.plumbing.scriptlog import log_to
from musicfusion.tracking.provenance import provenance

with log_to(snakemake.log[0]):
    record = provenance(snakemake.params.config, read_json(snakemake.input.fingerprint))
    write_json(snakemake.output[0], record)
    print(record)
