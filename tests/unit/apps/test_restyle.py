"""Style transfer's planning: which clips, which transfers, which fold judges, what each task's row is."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from musicfusion.apps.restyle import (
    INSTRUMENT,
    STYLE,
    TEMPO,
    RestyleError,
    Transfer,
    _labels,
    _same_notes,
    clip_quarters,
    judging_folds,
    plan_transfers,
    select_sources,
    transferred_notes,
)
from musicfusion.symbolic.operators import StyleProfile

SETTINGS = {"operator_sets": {"register": ["register"], "all": ["texture", "scale", "register", "rhythm"]},
            "tempo_factors": [0.75, 1.5]}
PROFILE = StyleProfile(median_pitch=48.0, scale=(0, 2, 4, 7, 9), voices=2, vertical_intervals=(12,),
                       ioi_ratios=(1.0, 2.0))


def clip_table(n_per_style: int = 6) -> pd.DataFrame:
    rows = []
    for style in ("chorale", "reel"):
        for i in range(n_per_style):
            rows.append({"clip_id": f"{style}-{i:02d}", "style": style, "instrument": "piano",
                         "split": "test" if i % 2 else "train", "group": f"{style}-g{i // 4}"})
    return pd.DataFrame(rows)


def test_judging_fold_is_the_first_that_tests_the_clip():
    folds = [pd.DataFrame({"clip_id": ["a", "b", "c"], "split": ["test", "train", "validation"]}),
             pd.DataFrame({"clip_id": ["a", "b", "c"], "split": ["train", "test", "test"]}),
             pd.DataFrame({"clip_id": ["a", "b", "c"], "split": ["test", "train", "train"]})]
    assert judging_folds(folds) == {"a": 0, "b": 1, "c": 1}


def test_sources_are_test_clips_of_the_style_one_per_group_and_seeded():
    clips = clip_table()
    chosen = select_sources(clips, "chorale", 5, seed=1)
    assert (chosen["split"] == "test").all() and (chosen["style"] == "chorale").all()
    assert chosen["group"].is_unique
    assert len(chosen) == clips[(clips["style"] == "chorale") & (clips["split"] == "test")]["group"].nunique()
    one = select_sources(clips, "chorale", 1, seed=1)
    assert len(one) == 1 and one.equals(select_sources(clips, "chorale", 1, seed=1))
    drawn = {select_sources(clips, "chorale", 1, seed=s)["clip_id"].iloc[0] for s in range(20)}
    assert len(drawn) > 1  # the seed draws


def test_every_transfer_of_a_clip_goes_somewhere_else():
    styles = {"chorale": PROFILE, "reel": PROFILE, "mass": PROFILE}
    instruments = {"piano": 0, "organ": 19, "flute": 73}
    transfers = plan_transfers("chorale-01", "chorale", "organ", styles, instruments, SETTINGS)
    styled = [t for t in transfers if t.kind == STYLE]
    assert {(t.operator_set, t.target) for t in styled} == {(s, target) for s in SETTINGS["operator_sets"]
                                                           for target in ("reel", "mass")}
    swaps = [t for t in transfers if t.kind == INSTRUMENT]
    assert {t.target for t in swaps} == {"piano", "flute"}
    assert all(t.settings[INSTRUMENT]["program"] == instruments[t.target] for t in swaps)
    tempi = [t for t in transfers if t.kind == TEMPO]
    assert [t.settings[TEMPO]["factor"] for t in tempi] == [0.75, 1.5]
    assert len({t.name for t in transfers}) == len(transfers)  # one file name each


def test_each_kind_is_judged_on_its_own_tasks():
    source = pd.Series({"style": "chorale", "instrument": "organ"})
    to_reel = Transfer("c", STYLE, "all", "reel", ("register",))
    assert _labels(to_reel, "style", source) == ("chorale", "reel")
    assert _labels(to_reel, "instrument", source) is None
    swap = Transfer("c", INSTRUMENT, INSTRUMENT, "flute", (INSTRUMENT,))
    assert _labels(swap, "instrument", source) == ("organ", "flute")
    assert _labels(swap, "style", source) == ("chorale", "chorale")  # should not move
    faster = Transfer("c", TEMPO, TEMPO, "1.5", (TEMPO,))
    assert _labels(faster, "style", source) == ("chorale", "chorale")
    assert _labels(faster, "instrument", source) is None


def test_transferred_notes_fill_the_clip_from_its_start():
    notes = np.array([[60, 2.0, 1.0], [64, 3.0, 1.0], [67, 4.0, 2.0]])
    slower = Transfer("c", TEMPO, TEMPO, "0.5", (TEMPO,), {TEMPO: {"factor": 0.5}})
    moved, program = transferred_notes(notes, 5, slower, None, 8.0, 4)
    assert program == 5 and moved[0, 1] == 0.0
    assert np.allclose(moved[:, 2], [2.0, 2.0, 4.0])  # half as fast: twice as long
    assert (moved[:, 1] + moved[:, 2]).max() <= 8.0  # cut at the clip's end
    faster = Transfer("c", TEMPO, TEMPO, "4", (TEMPO,), {TEMPO: {"factor": 4.0}})
    repeated, _ = transferred_notes(notes, 5, faster, None, 8.0, 4)
    assert len(repeated) == 3 * 4  # a quarter as long: repeated as collect repeats a short tune
    with pytest.raises(RestyleError, match="swing"):
        transferred_notes(notes, 5, Transfer("c", STYLE, "x", "reel", ("swing",)), PROFILE, 8.0, 4)


def test_an_instrument_swap_keeps_the_notes_it_was_given():
    notes = np.array([[60, 0.0, 1.0], [64, 1.0, 1.0 / 3.0]])
    swap = Transfer("c", INSTRUMENT, INSTRUMENT, "flute", (INSTRUMENT,), {INSTRUMENT: {"program": 73}})
    moved, program = transferred_notes(notes, 0, swap, None, 1.0 + 1.0 / 3.0, 4)
    assert program == 73 and _same_notes(moved, notes)
    assert not _same_notes(moved + [0, 0, 1e-6], notes) and not _same_notes(moved[:1], notes)


def test_a_clip_length_in_the_midi_files_quarter_notes():
    assert clip_quarters(10.0) == 20.0  # the MIDI files are written at 120 quarter notes a minute
