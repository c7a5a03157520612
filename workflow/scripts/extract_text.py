"""Snakemake script for rules extract_text / extract_text_repeat: TF-IDF fitted on train only."""

from musicfusion.featurestore import extract_text
from musicfusion.workflow import log_to

with log_to(snakemake.log[0]):
    split_table = snakemake.input.get("manifest") or snakemake.input.clips
    n = extract_text(list(snakemake.input.shards), split_table, snakemake.output.features,
                     snakemake.params.features, snakemake.output.get("vectorizer"))
    print(f"text: {n} clips")
