"""Snakemake script for rule paper_tunes: a paper's tunes of every corpus file in one table, grouped by tune."""

from musicfusion.data.presets.paper_tunes import join_tunes
from musicfusion.plumbing.files import read_table, write_csv
from musicfusion.plumbing.scriptlog import log_to

with log_to(snakemake.log[0]):
    tunes = join_tunes([read_table(path) for path in snakemake.input])
    write_csv(snakemake.output[0], tunes)
    print(f"{len(tunes)} tunes in {tunes['group'].nunique()} tune groups: {tunes['label'].value_counts().to_dict()}")
