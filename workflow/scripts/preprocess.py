"""Snakemake script for rule preprocess: validate and preprocess one shard of clips."""

from pathlib import Path

from musicfusion.data.manifest import read_manifest
from musicfusion.data.preprocess import preprocess_shard
from musicfusion.plumbing.files import PieceSpool, save_npz, write_csv
from musicfusion.plumbing.scriptlog import log_to

with log_to(snakemake.log[0]):
    params, dataset = snakemake.params.preprocess, snakemake.params.dataset
    manifest = read_manifest(snakemake.input.manifest, dataset["modalities"], dataset["tasks"])
    # Under on_bad_input: fail a bad clip raises before anything is written. Decoded media wait in
    # anonymous temporary files beside the outputs, not in memory.
    spool_dir = Path(snakemake.output.bad_clips).parent
    spool_dir.mkdir(parents=True, exist_ok=True)
    arrays, bad, absent = preprocess_shard(manifest, Path(snakemake.input.manifest).parent,
                                           int(snakemake.wildcards.shard), snakemake.params.n_shards,
                                           dataset["modalities"], params, spool_dir=spool_dir,
                                           shortest=snakemake.params.shortest)
    for modality, content in arrays.items():
        # Audio samples hardly compress (73 of 79 MB) and inflating them costs the extraction job
        # about a second per 100 clips; frames deflate 18x at zlib's fastest level (27x at the
        # default, which takes 3x longer).
        save_npz(snakemake.output[modality], compress=modality != "audio", compresslevel=1, **content)
        for value in content.values():
            if isinstance(value, PieceSpool):
                value.close()
    write_csv(snakemake.output.bad_clips, bad)
    write_csv(snakemake.output.absent, absent)
    print(f"shard {snakemake.wildcards.shard}: {len(bad)} bad clips skipped, {len(absent)} absent modalities")
