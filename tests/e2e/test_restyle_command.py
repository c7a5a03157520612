"""`musicfusion restyle` on the finished tiny run: a test clip moved toward another style, rendered with
FluidSynth and judged as the workflow's own style-transfer step judged it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from musicfusion.apps.cli import main
from musicfusion.apps.restyle import judging_folds
from musicfusion.plumbing.files import read_table

from support import copy_run

pytestmark = pytest.mark.workflow
PROBABILITIES = ["p_source_before", "p_source_after", "p_target_before", "p_target_after"]


@pytest.fixture(scope="module")
def project(tiny_run, tmp_path_factory) -> Path:
    """A private copy of the session's finished tiny run."""
    return copy_run(tiny_run, tmp_path_factory.mktemp("restyle") / "work")


def test_restyle_a_tiny_test_clip_as_the_workflow_did(project, params, capsys):
    # A clip the workflow restyled with every style operator (rule restyle_clips): the command must agree.
    per_style = sorted((project / "results/tiny/style_transfer").glob("*.csv"))
    workflow = pd.concat([pd.read_csv(path) for path in per_style], ignore_index=True)
    workflow = workflow[(workflow["kind"] == "style") & (workflow["operator_set"] == "all")
                        & (workflow["task"] == "style")]
    clip, target = workflow.iloc[0][["clip_id", "target"]]
    expected = workflow[(workflow["clip_id"] == clip) & (workflow["target"] == target)].set_index("judge")
    features = project / "data/processed/tiny/features"
    n_folds = params["evaluate"]["folds"] * params["evaluate"]["repetitions"]
    fold = judging_folds([read_table(features / f"fold-{i}/clips.csv") for i in range(n_folds)])[clip]

    out = project / "restyled"
    code = main(["restyle", "--clip", clip, "--to", target, "--out", str(out), "--params",
                 str(project / "params.yaml"), "--dataset", "tiny"])
    printed = capsys.readouterr().out
    assert code == 0
    assert sorted(p.name for p in out.iterdir()) == ["probabilities.csv", "restyled.mid", "restyled.mp4",
                                                     "restyled.wav"]
    audio, rate = sf.read(out / "restyled.wav")
    clip_seconds = params["collect"]["presets"]["tiny"]["clip_seconds"]
    assert rate == params["collect"]["render_sample_rate"] and len(audio) == round(clip_seconds * rate)
    assert np.abs(audio).max() > 0.01
    assert (out / "restyled.mid").read_bytes().startswith(b"MThd") and (out / "restyled.mp4").stat().st_size > 0

    table = pd.read_csv(out / "probabilities.csv").set_index("judge")
    assert list(table.index) == list(params["style_transfer"]["judges"]) == list(expected.index)
    assert (table["fold"] == fold).all() and (expected["fold"] == fold).all()
    assert (table["source_style"] == expected["source_label"]).all() and (table["target_style"] == target).all()
    assert np.allclose(table[PROBABILITIES].to_numpy(), expected.loc[table.index, PROBABILITIES].to_numpy(),
                       atol=1e-6)
    assert (table[["predicted_before", "predicted_after"]].to_numpy()
            == expected.loc[table.index, ["predicted_before", "predicted_after"]].to_numpy()).all()
    assert f"Judged in fold {fold}, the first that held the clip out" in printed
