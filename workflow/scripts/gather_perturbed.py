"""Snakemake script for rule gather_perturbed: one modality's perturbed features, rows sorted by clip id."""

from musicfusion.evaluation.perturbed_features import gather_perturbed
from musicfusion.plumbing.files import load_npz, save_npz
from musicfusion.plumbing.scriptlog import log_to

with log_to(snakemake.log[0]):
    perturbed = gather_perturbed([load_npz(path) for path in snakemake.input])
    save_npz(snakemake.output[0], **perturbed)
    print(f"{len(perturbed['clip_ids'])} clips, {len(perturbed) - 1} perturbed arrays")
