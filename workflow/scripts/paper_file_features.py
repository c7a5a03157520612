"""Snakemake script for rule paper_file_features: one corpus file's tunes of a paper, with their features."""

from musicfusion.data.presets.paper_tunes import read_corpus_file
from musicfusion.plumbing.files import write_csv
from musicfusion.plumbing.scriptlog import log_to

with log_to(snakemake.log[0]):
    params = snakemake.params
    tunes = read_corpus_file(params.corpus_file, params.label, params.features, params.melody_intervals)
    write_csv(snakemake.output[0], tunes)
    print(f"{params.corpus_file}: {len(tunes)} tunes of class {params.label}, {tunes.shape[1]} columns")
