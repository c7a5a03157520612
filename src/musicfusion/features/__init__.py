"""Per-modality feature extractors, pure functions of arrays and a params section.

- :mod:`musicfusion.features.audio`: MFCCs and their deltas, pooled over time;
- :mod:`musicfusion.features.video`: one HOG descriptor per frame, pooled over time;
- :mod:`musicfusion.features.text`: TF-IDF fitted on the training texts only.

Every extractor returns ``(X, names)``: float32 ``(n_clips, d)`` and the ``d`` column names.
Pooled columns are grouped by statistic: all ``*_mean`` columns, then all ``*_std``...
"""

from __future__ import annotations

import numpy as np

# Statistics over time a params file may ask for, by name.
POOLING_FUNCTIONS = {"mean": np.mean, "std": np.std, "max": np.max}


def check_pooling(pooling: list[str]) -> None:
    """Raise ValueError for an empty, repeated or unknown pooling name (before any work is done)."""
    if not pooling:
        raise ValueError(f"pooling is empty; choose from {sorted(POOLING_FUNCTIONS)}")
    unknown = [name for name in pooling if name not in POOLING_FUNCTIONS]
    if unknown:
        raise ValueError(f"unknown pooling {unknown}; choose from {sorted(POOLING_FUNCTIONS)}")
    if len(set(pooling)) != len(pooling):
        raise ValueError(f"pooling lists a statistic twice: {pooling}")


def pool(series: np.ndarray, pooling: list[str]) -> np.ndarray:
    """Pool a ``(n_steps, d)`` time series into one float32 vector of ``d * len(pooling)`` values."""
    # float64 so that a constant series has a standard deviation of exactly zero.
    series = np.asarray(series, dtype=np.float64)
    return np.concatenate([POOLING_FUNCTIONS[name](series, axis=0) for name in pooling]).astype(np.float32)


def pooled_names(names: list[str], pooling: list[str]) -> list[str]:
    """Column names matching :func:`pool`: grouped by statistic, then by feature."""
    return [f"{name}_{stat}" for stat in pooling for name in names]
