"""Snakemake script for rule collect: build a preset from the music21 corpus."""

from pathlib import Path

from musicfusion.collect import collect_dataset
from musicfusion.workflow import log_to

with log_to(snakemake.log[0]):
    frame = collect_dataset(snakemake.params.collect, snakemake.params.seed,
                            Path(snakemake.output.manifest).parent, workers=snakemake.threads)
    print(f"{len(frame)} clips", frame.groupby(["style"]).size().to_dict())
