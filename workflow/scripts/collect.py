"""Snakemake script for rule collect: build a preset from the music21 corpus."""

from pathlib import Path

from musicfusion.data.presets.collect import collect_dataset
from musicfusion.plumbing.files import write_csv
from musicfusion.plumbing.runtime import CORPUS_CACHE
from musicfusion.plumbing.scriptlog import log_to

with log_to(snakemake.log[0]):
    frame, duplicates = collect_dataset(snakemake.params.collect, snakemake.params.seed,
                                        Path(snakemake.output.manifest).parent, workers=snakemake.threads,
                                        corpus_cache=Path.cwd() / CORPUS_CACHE)  # the project folder
    write_csv(snakemake.output.duplicates, duplicates)
    print(f"{len(frame)} clips", frame.groupby(["style"]).size().to_dict())
    print(f"{frame['group'].nunique()} groups; largest:", frame["group"].value_counts().head(5).to_dict())
    print(f"{len(duplicates)} exact duplicate(s):", duplicates.to_dict("records"))
