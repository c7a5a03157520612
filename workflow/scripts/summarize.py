"""Snakemake script for rule summarize: the results table across methods."""

from pathlib import Path

from musicfusion.evaluation.evaluate import headline_scores, summarize
from musicfusion.evaluation.plots import save_png
from musicfusion.plumbing.files import read_json, read_table, write_csv, write_json, write_markdown
from musicfusion.plumbing.scriptlog import log_to

with log_to(snakemake.log[0]):
    summary = summarize({Path(path).parent.name: read_json(path) for path in snakemake.input.metrics},
                        snakemake.params.methods, snakemake.params.metric, snakemake.params.confidence,
                        {Path(path).parent.name: read_table(path) for path in snakemake.input.trials})
    write_csv(snakemake.output.csv, summary.table)
    write_markdown(snakemake.output.markdown, summary.readable)
    write_json(snakemake.output.metrics, summary.metrics)
    headline = headline_scores(summary.table, snakemake.params.metric)
    for path in snakemake.output.headline:  # results/<dataset>/headline/<method>.json, for DVC
        write_json(path, headline[Path(path).stem])
    save_png(summary.figure, snakemake.output.plot)
    write_csv(snakemake.output.tuning, summary.tuning)
    print(summary.table.to_string(index=False))
