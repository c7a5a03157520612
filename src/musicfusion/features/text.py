"""Text features: TF-IDF (scikit-learn), fitted on the training texts only."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.feature_extraction.text import TfidfVectorizer

from musicfusion.features.shards import feature_arrays


def fit(train_texts: list[str], params: dict) -> TfidfVectorizer:
    """Fit a TfidfVectorizer on the training texts; the caller passes the train split only,
    so neither the vocabulary nor the IDF weights see validation or test texts.

    ``params``: the ``features.text`` section (analyzer, ngram_range, min_df, max_features,
    sublinear_tf).
    """
    vectorizer = TfidfVectorizer(analyzer=params["analyzer"], ngram_range=tuple(params["ngram_range"]),
                                 min_df=params["min_df"], max_features=params["max_features"],
                                 sublinear_tf=params["sublinear_tf"], dtype=np.float32)
    return vectorizer.fit(train_texts)


def transform(vectorizer: TfidfVectorizer, texts: list[str]) -> tuple[np.ndarray, list[str]]:
    """Dense float32 ``(n_texts, vocabulary size)`` TF-IDF and the vocabulary, column by column.
    Words not in the fitted vocabulary are ignored."""
    names = vectorizer.get_feature_names_out().tolist()
    if len(texts) == 0:  # an empty shard or split; scikit-learn refuses zero samples
        return np.zeros((0, len(names)), dtype=np.float32), names
    X = vectorizer.transform(texts).toarray().astype(np.float32, copy=False)
    return X, names


def fit_on_split(text_shards: list[dict], split_table: pd.DataFrame, feature_params: dict,
                 where: str = "split table"):
    """TF-IDF fitted on the training split only, then applied to every clip.

    ``split_table`` is the manifest or a fold's clips.csv: any table with clip_id and split.
    Returns the feature npz content and the fitted vectorizer (kept to embed new text queries).
    """
    ids = np.concatenate([p["clip_ids"] for p in text_shards])
    docs = np.concatenate([p["text"] for p in text_shards])
    order = np.argsort(ids, kind="stable")
    ids, docs = ids[order], docs[order]
    split = split_table.set_index("clip_id").loc[ids, "split"].to_numpy()
    train_docs = [str(d) for d, s in zip(docs, split) if s == "train"]
    if not train_docs:
        raise ValueError(f"{where}: no training clip survived preprocessing; cannot fit TF-IDF")
    vectorizer = fit(train_docs, feature_params)
    X, names = transform(vectorizer, [str(d) for d in docs])
    return feature_arrays(ids, X, names), vectorizer
