"""A small clip table and the text settings shared by the clip-table, shard and text tests."""

from __future__ import annotations

import pandas as pd

# features.text of params.yaml, with min_df 1 so that a word seen once in training is kept
TEXT_PARAMS = {"analyzer": "char_wb", "ngram_range": [2, 4], "min_df": 1, "max_features": 5000,
               "sublinear_tf": True}


def make_manifest() -> pd.DataFrame:
    """Six clips in no particular order, with paths the clip table must leave out."""
    return pd.DataFrame({
        "clip_id": ["c05", "c02", "c04", "c01", "c03", "c06"],
        "split": ["test", "train", "validation", "train", "train", "test"],
        "style": ["folk", "chorale", "folk", "chorale", "folk", "chorale"],
        "instrument": ["piano", "organ", "organ", "piano", "piano", "organ"],
        "title": ["Reel 5", "Chorale 2", "Ballad 4", "Chorale 1", "Song 3", "Chorale 6"],
        "audio_path": [f"audio/c0{i}.wav" for i in (5, 2, 4, 1, 3, 6)],
    })
