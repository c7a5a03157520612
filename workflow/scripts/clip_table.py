"""Snakemake script for rule clip_table: the clips that survived preprocessing, their modalities,
split, group and labels."""

from musicfusion.data.clip_table import clip_table
from musicfusion.data.manifest import read_manifest
from musicfusion.plumbing.files import load_npz, write_csv
from musicfusion.plumbing.scriptlog import log_to

with log_to(snakemake.log[0]):
    dataset = snakemake.params.dataset
    # The manifest gives files of `modalities`; the `derived` ones (a transcribed score) have shards too.
    shard_ids = {m: [load_npz(path, ["clip_ids"])["clip_ids"] for path in snakemake.input[m]]
                 for m in [*dataset["modalities"], *dataset["derived"]]}
    manifest = read_manifest(snakemake.input.manifest, dataset["modalities"], dataset["tasks"],
                             require_all_splits=True)
    table = clip_table(shard_ids, manifest, dataset["tasks"], snakemake.params.split_fractions, snakemake.params.seed)
    write_csv(snakemake.output[0], table)
    print(table.groupby("split").size().to_dict(),
          {column: int(table[column].sum()) for column in table.columns if column.startswith("has_")})
