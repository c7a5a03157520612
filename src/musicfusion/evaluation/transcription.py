"""Transcription scored per clip, summarised over the clips: all of them, per instrument and per style.

Each clip's note precision, recall and F-measure (musicfusion.crossmodal.transcription, with
mir_eval) are averaged over the clips of a group, with a t interval of the mean: the clips are
independent here (the network is pretrained and nothing is fitted on the dataset), so no fold
correction applies.
"""

from __future__ import annotations

import pandas as pd

from musicfusion.crossmodal.transcription import SCORE_KEYS
from musicfusion.evaluation.stats import mean_t_interval

ALL = "all"
KEYS = ["group_by", "group"]
# The scores averaged over clips (mir_eval's, with and without offsets), and the note counts summed.
SCORES = tuple(key for key in SCORE_KEYS if not key.startswith("n_"))
COUNTS = ("n_reference", "n_estimate")
SUMMARY_COLUMNS = [*KEYS, "n_clips", *[f"{s}{suffix}" for s in SCORES for suffix in ("", "_ci_low", "_ci_high")],
                   *COUNTS]
DECIMALS = 4


def summarize(per_clip: pd.DataFrame, clips: pd.DataFrame, by: list[str], confidence: float) -> pd.DataFrame:
    """One row for every clip together (``group_by`` = ``group`` = all), then one per value of each
    column of ``by`` (e.g. instrument, style) in ``clips``: the number of clips, each score's mean
    and interval, and the notes played and found."""
    table = per_clip.merge(clips[["clip_id", *by]], on="clip_id", how="left", validate="one_to_one")
    groups = [(ALL, ALL, table)]
    groups += [(column, str(value), part) for column in by for value, part in table.groupby(column, sort=True)]
    rows = []
    for group_by, group, part in groups:
        row = {"group_by": group_by, "group": group, "n_clips": len(part)}
        for score in SCORES:
            values = part[score].to_numpy(dtype=float)
            low, high = mean_t_interval(values, confidence)
            row.update({score: values.mean(), f"{score}_ci_low": low, f"{score}_ci_high": high})
        row.update({count: int(part[count].sum()) for count in COUNTS})
        rows.append(row)
    return pd.DataFrame(rows, columns=SUMMARY_COLUMNS).round(DECIMALS)
