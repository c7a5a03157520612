"""Snakemake script for rule collect: build a preset from the music21 corpus."""

from musicfusion.collect import collect_dataset
from musicfusion.workflow import log_to

with log_to(snakemake.log[0]):
    params = dict(snakemake.params.collect, presets={snakemake.wildcards.dataset: snakemake.params.preset})
    frame = collect_dataset(params, snakemake.wildcards.dataset, snakemake.params.seed,
                            snakemake.output.manifest.rsplit("/", 1)[0], workers=snakemake.threads)
    print(f"{len(frame)} clips", frame.groupby(["style"]).size().to_dict())
