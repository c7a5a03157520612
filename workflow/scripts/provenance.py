"""Snakemake script for rule provenance: commit, data hash, params hash, package versions."""

from musicfusion.io import read_json, write_json
from musicfusion.provenance import provenance
from musicfusion.workflow import log_to

with log_to(snakemake.log[0]):
    record = provenance(snakemake.params.config, read_json(snakemake.input.fingerprint))
    write_json(snakemake.output[0], record)
    print(record)
