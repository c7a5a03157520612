"""Style transfer in the finished tiny run: the table, its controls, its judges and its MLflow runs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from musicfusion.plumbing.files import read_table

pytestmark = pytest.mark.workflow


@pytest.fixture(scope="module")
def rows(tiny_run) -> pd.DataFrame:
    parts = sorted((tiny_run / "results/tiny/style_transfer").glob("*.csv"))
    assert parts, "no style transfer rows"
    return pd.concat([pd.read_csv(path) for path in parts], ignore_index=True)


def test_the_table_has_every_operator_set_and_control_for_every_judge(tiny_run, params):
    table = pd.read_csv(tiny_run / "results/tiny/style_transfer.csv")
    pooled = table[(table["source_style"] == "all") & (table["target"] == "all")]
    judges = set(params["style_transfer"]["judges"])
    styled = pooled[pooled["kind"] == "style"]
    assert set(zip(styled["operator_set"], styled["judge"])) == {
        (name, judge) for name in params["style_transfer"]["operator_sets"] for judge in judges}
    assert set(styled["task"]) == {"style"}
    controls = pooled[pooled["kind"] != "style"]
    assert set(zip(controls["operator_set"], controls["task"])) == {
        ("instrument", "instrument"), ("instrument", "style"), ("tempo", "style")}
    # Rows per source and target beside the pooled ones, each level with its own correction (on tiny,
    # one clip per style: only the pooled rows have intervals).
    assert (table["source_style"] != "all").any() and (pooled["family_size"] > 0).all()
    assert (tiny_run / "results/tiny/style_transfer.png").stat().st_size > 0


def test_the_kept_text_never_moves_its_judge_and_an_instrument_swap_keeps_the_notes(rows):
    text = rows[rows["judge"] == "text_only"]
    assert (text["p_source_after"] == text["p_source_before"]).all()
    assert (text["p_target_after"] == text["p_target_before"]).all()
    swaps = rows[rows["kind"] == "instrument"]
    # (cosine similarity of a histogram with itself: 1 up to rounding)
    assert np.allclose(swaps["chroma_similarity"], 1.0, rtol=0, atol=1e-12) and (swaps["melody_kept"] == 1).all()
    # Video and score are the source's own when only the instrument changed.
    unmoved = swaps[swaps["judge"].isin(["video_only", "score_only"])]
    assert (unmoved["p_source_after"] == unmoved["p_source_before"]).all()
    # Style operators do change the notes.
    styled = rows[(rows["kind"] == "style") & (rows["operator_set"] == "all")]
    assert (styled["chroma_similarity"] < 1).any()


def test_each_clip_is_judged_by_the_fold_model_that_held_it_out(tiny_run, rows):
    """The judge's prediction of a source before any transfer is the prediction its method made for
    that clip when it was a test clip of the judging fold."""
    predictions = read_table(tiny_run / "models/tiny/audio_only/predictions.csv")
    tested = predictions[(predictions["split"] == "test") & (predictions["configuration"] == "tuned")]
    tested = tested.astype({"fold": int}).set_index(["fold", "clip_id", "task"])["predicted"]
    judged = rows[(rows["judge"] == "audio_only") & (rows["kind"] == "style")].drop_duplicates("clip_id")
    assert len(judged)
    for row in judged.itertuples(index=False):
        assert tested.loc[(row.fold, row.clip_id, "style")] == row.predicted_before
    features = tiny_run / "data/processed/tiny/features"
    folds = {fold: read_table(features / f"fold-{fold}/clips.csv") for fold in judged["fold"]}
    for row in judged.itertuples(index=False):
        split = folds[row.fold].set_index("clip_id").loc[row.clip_id, "split"]
        assert split == "test"


def test_one_mlflow_run_per_operator_set_and_control(tiny_run, params):
    import mlflow

    client = mlflow.MlflowClient(tracking_uri=f"sqlite:///{tiny_run / 'mlflow.db'}")
    experiment = client.get_experiment_by_name(params["tracking"]["experiment"])
    runs = client.search_runs([experiment.experiment_id], filter_string="tags.kind = 'style_transfer'")
    assert {r.data.tags["operator_set"] for r in runs} == {*params["style_transfer"]["operator_sets"],
                                                           "instrument", "tempo"}
    run = next(r for r in runs if r.data.tags["operator_set"] == "all")
    assert "audio_only.style.success_rate" in run.data.metrics
