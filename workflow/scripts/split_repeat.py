"""Snakemake script for rule split_repeat: a fresh stratified split of the same clips."""

from musicfusion.featurestore import resplit
from musicfusion.workflow import log_to

with log_to(snakemake.log[0]):
    clips = resplit(snakemake.input[0], snakemake.params.fractions, snakemake.params.seed, snakemake.output[0])
    print(clips.groupby("split").size().to_dict())
