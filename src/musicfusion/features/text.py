"""Text features: TF-IDF (scikit-learn), fitted on the training texts only."""

from __future__ import annotations

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer


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
