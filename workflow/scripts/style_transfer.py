"""Snakemake script for rule style_transfer: style_transfer.csv and its heat map from every style's transfers."""

import pandas as pd

from musicfusion.apps.restyle import ROW_COLUMNS
from musicfusion.evaluation import plots
from musicfusion.evaluation.style_transfer import heatmap_values, summarize
from musicfusion.plumbing.files import read_table, write_csv
from musicfusion.plumbing.scriptlog import log_to

NUMERIC = ["fold", "p_source_before", "p_source_after", "p_target_before", "p_target_after", "chroma_similarity",
           "melody_kept", "query_rank", "query_rank_before", "gallery_size"]

with log_to(snakemake.log[0]):
    rows = pd.concat([read_table(path) for path in snakemake.input], ignore_index=True)[ROW_COLUMNS]
    rows[NUMERIC] = rows[NUMERIC].replace("", "nan").astype(float)
    table = summarize(rows, snakemake.params.confidence)
    write_csv(snakemake.output.csv, table)
    plots.save_png(plots.style_transfer(*heatmap_values(table)), snakemake.output.figure)
    pooled = table[table["source_style"] == "all"]
    print(pooled.drop(columns=["source_style", "target"]).to_string(index=False))
