"""What the evaluation of assist asks of held-out clips (musicfusion.apps.assist_eval)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from musicfusion.apps import assist_eval


class Prior:
    """A "model" whose style probability of class a is the first audio feature where the audio is present,
    0.5 where it is absent: what a fusion method does with an absent modality, in miniature."""

    multitask = False

    def predict_proba(self, X):
        p = np.where(np.isnan(X["audio"][:, 0]), 0.5, X["audio"][:, 0])
        return np.column_stack([p, 1 - p])

    classes_ = np.array(["a", "b"])


def test_queries_are_each_modality_then_all():
    assert assist_eval.queries(["text", "audio"]) == {"audio": ("audio",), "text": ("text",), "all": ("audio", "text")}
    X = {"audio": np.ones((2, 2)), "audio.pitch_cnn": np.ones((2, 1)), "text": np.ones((2, 3))}
    kept = assist_eval.absent_except(X, ["audio"])
    assert np.isnan(kept["text"]).all() and (kept["audio.pitch_cnn"] == 1).all()  # a feature set of the audio


def test_suggestions_see_only_the_query_modality(monkeypatch):
    monkeypatch.setattr("musicfusion.apps.restyle.probabilities",
                        lambda model, X, task, tasks: (model.predict_proba(X), model.classes_))
    clips = pd.DataFrame({"clip_id": ["c0", "c1", "c2", "c3"], "split": ["train", "validation", "test", "test"],
                          "style": ["a", "b", "a", "b"]})
    X = {"audio": np.array([[0.9], [0.1], [0.8], [0.3]]), "text": np.zeros((4, 1))}
    methods = {"late": {"modalities": ["audio", "text"]}}
    chosen = {"audio": {"style": "late"}, "text": {"style": "late"}}
    rows = assist_eval.suggestion_predictions([(X, clips)], {"late": [{"style": Prior()}]}, chosen, methods,
                                              ["style"]).set_index(["query", "clip_id"])
    assert rows.loc[("audio", "c2"), "predicted"] == "a" and rows.loc[("audio", "c3"), "predicted"] == "b"
    assert rows.loc[("audio", "c2"), "confidence"] == 0.8
    assert (rows.loc["text", "confidence"] == 0.5).all()  # the audio absent: the prior
    assert rows.loc[("audio", "c2"), "brier"] == pytest.approx(0.2 ** 2 + 0.2 ** 2)
    assert set(rows["n_test"]) == {2} and set(rows["n_train"]) == {2}
