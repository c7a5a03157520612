"""Snakemake script for rule provenance: commit, data hash, params hash, package versions."""

import json

from musicfusion.io import write_json
from musicfusion.tracking import provenance
from musicfusion.workflow import log_to

with log_to(snakemake.log[0]):
    with open(snakemake.input.fingerprint, encoding="utf-8") as fh:
        record = provenance(snakemake.params.config, json.load(fh))
    write_json(snakemake.output[0], record)
    print(record)
