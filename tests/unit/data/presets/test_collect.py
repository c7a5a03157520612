"""Collect: the embedded dataset from the music21 corpus."""

from __future__ import annotations

import re

import cv2
import numpy as np
import pandas as pd
import pytest
import soundfile as sf

import musicfusion.data.presets.collect as collect_module
import musicfusion.symbolic.render as render_module
from musicfusion import MODALITIES
from musicfusion.data.manifest import read_manifest, required_columns
from musicfusion.data.presets.collect import (
    GROUP_KEYS,
    LABELS,
    Candidate,
    assign_groups,
    clip_text,
    collect_dataset,
    melody_signature,
    notes_signature,
)
from musicfusion.data.presets.corpus_cache import read_score, score_text
from musicfusion.data.splits import straddling_groups
from musicfusion.plumbing.config import collect_settings
from musicfusion.symbolic.excerpts import excerpt_notes, timeline

from support import melody_score

# --- the tiny preset, built from the real corpus ---------------------------------------------

def test_tiny_has_every_style_and_enough_clips(params, tiny_dataset):
    manifest = read_manifest(tiny_dataset / "manifest.csv", MODALITIES, LABELS)
    # every column a dataset of three modalities and two tasks needs, and a split
    assert set(required_columns(("audio", "video", "text"), ("style", "instrument"))) <= set(manifest.columns)
    assert list(manifest.columns[:2]) == ["clip_id", "split"]
    per_style = manifest.groupby("style").size()
    assert set(per_style.index) == set(params["collect"]["styles"])
    assert (per_style == params["collect"]["presets"]["tiny"]["clips_per_class"]).all()
    assert manifest["instrument"].nunique() >= 4
    assert set(manifest["instrument"]) <= set(params["collect"]["instruments"])
    # Stratified: every style appears in every split.
    assert (manifest.groupby(["style", "split"]).size().unstack().fillna(0) > 0).all().all()


def test_tiny_manifest_has_groups_works_and_drawn_tempi(params, tiny_dataset):
    manifest = read_manifest(tiny_dataset / "manifest.csv", MODALITIES, LABELS)
    for column in ("group", "work", "pulse_bpm"):
        assert column in manifest.columns
    assert (manifest["group"] != "").all() and (manifest["work"] != "").all()
    # every group is named after the work of one of its clips
    for group, members in manifest.groupby("group"):
        assert group in set(members["work"]), group
    # a split never separates a group
    assert straddling_groups(manifest) == []
    low, high = params["collect"]["pulse_bpm"]
    bpm = manifest["pulse_bpm"].astype(float)
    assert bpm.between(low, high).all(), bpm.describe()
    assert bpm.nunique() > len(manifest) // 2  # drawn per clip, not per style
    # the manifest's tempo (pulses per minute) is not a function of the style
    assert manifest.assign(bpm=bpm).groupby("style")["bpm"].nunique().gt(1).all()


def test_media_have_the_clip_length_and_are_readable(params, tiny_dataset):
    manifest = read_manifest(tiny_dataset / "manifest.csv", MODALITIES, LABELS)
    seconds = params["collect"]["presets"]["tiny"]["clip_seconds"]
    fps = params["collect"]["video"]["fps"]
    for row in manifest.head(6).itertuples():
        info = sf.info(tiny_dataset / row.audio_path)
        assert info.samplerate == params["collect"]["render_sample_rate"]
        assert info.frames == round(seconds * info.samplerate)
        audio, _ = sf.read(tiny_dataset / row.audio_path)
        assert np.sqrt(np.mean(audio ** 2)) > 1e-3, "rendered audio is silent"
        capture = cv2.VideoCapture(str(tiny_dataset / row.video_path))
        assert capture.isOpened()
        assert int(capture.get(cv2.CAP_PROP_FRAME_COUNT)) == round(seconds * fps)
        capture.release()
        text = (tiny_dataset / row.text_path).read_text(encoding="utf-8")
        assert re.search(r"\w", text)


def test_text_has_no_label_words(params, tiny_dataset):
    manifest = read_manifest(tiny_dataset / "manifest.csv", MODALITIES, LABELS)
    words = params["collect"]["mask_words"]
    for row in manifest.itertuples():
        text = (tiny_dataset / row.text_path).read_text(encoding="utf-8").lower()
        for word in words:
            assert not re.search(rf"\b{re.escape(word)}", text), (row.clip_id, word)


# --- tempo: the pulse is drawn, notation does not set it -------------------------------------


def test_notes_signature_is_tempo_and_notation_free():
    sig = {}
    for bpm in (80, 140):
        for length in (1.0, 2.0):
            notes = excerpt_notes(timeline(melody_score(length)), clip_seconds=60.0, pulse_bpm=bpm, max_repeats=1)
            sig[(bpm, length)] = notes_signature(notes, 60.0 / bpm)
    assert len(set(sig.values())) == 1
    other = excerpt_notes(timeline(melody_score(1.0, pitches=("C4", "E4", "G4", "B4"))), 60.0, 80, 1)
    assert notes_signature(other, 60.0 / 80) != sig[(80, 1.0)]


def test_melody_signature_is_the_same_tune_in_any_key_and_empty_when_short():
    tune = ("C4", "D4", "E4", "C4", "G4", "F4", "E4")
    up_a_fourth = ("F4", "G4", "A4", "F4", "C5", "B-4", "A4")
    a = melody_signature(read_score(melody_score(1.0, tune)).melody, 5)
    assert a == "2 2 -4 7 -2"
    assert melody_signature(read_score(melody_score(0.5, up_a_fourth)).melody, 5) == a
    other_tune = ("C4", "D4", "E4", "C4", "G4", "F4", "D4")
    assert melody_signature(read_score(melody_score(1.0, other_tune)).melody, 6) != \
        melody_signature(read_score(melody_score(1.0, tune)).melody, 6)
    assert melody_signature(read_score(melody_score(1.0, tune)).melody, 6) == "2 2 -4 7 -2 -1"
    assert melody_signature(read_score(melody_score(1.0, tune)).melody, 7) == ""  # too short to tell tunes apart


# --- text ----------------------------------------------------------------------------------

def texted_score(words=("Dona", "nobis", "pacem"), **fields):
    from music21 import metadata, note, stream

    part = stream.Part()
    for word in words:
        n = note.Note("C4")
        n.lyric = word
        part.append(n)
    score = stream.Score([part])
    score.metadata = metadata.Metadata()
    for field, value in fields.items():
        setattr(score.metadata, field, value)
    return score


def test_clip_text_puts_the_parent_title_before_the_title():
    score = texted_score(parentTitle="Missa Papae Marcelli", title="Qui tollis peccata",
                         movementName="Second movement")
    assert clip_text(score_text(score), ["missa"]).splitlines() == \
        ["Papae Marcelli", "Qui tollis peccata", "Dona nobis pacem"]


def test_clip_text_title_fallbacks():
    # a file name is no title: the movement name stands in
    score = texted_score(parentTitle="Papae Marcelli", title="palestrina_04.krn", movementName="Benedicamus")
    assert clip_text(score_text(score), []).splitlines() == ["Papae Marcelli", "Benedicamus", "Dona nobis pacem"]
    # without a parent title, the title alone
    assert clip_text(score_text(texted_score(title="Nun ruhen alle Wälder")), []).splitlines() == \
        ["Nun ruhen alle Waelder", "Dona nobis pacem"]
    # a parent title equal to the title is not said twice
    assert clip_text(score_text(texted_score(parentTitle="Lamento", title="Lamento")), []).splitlines() == \
        ["Lamento", "Dona nobis pacem"]


def test_clip_text_deletes_mask_words():
    score = texted_score(words=("Kyrie", "eleison"), title="The Kesh Jig")
    text = clip_text(score_text(score), ["jig", "kyrie"])
    assert not re.search(r"(?i)\b(jig|kyrie)", text), text
    assert "Kesh" in text and "eleison" in text


# --- groups ------------------------------------------------------------------------------

def row(clip_id: str, work: str, notes: str = "", text: str = "", melody: str = "") -> dict:
    return {"clip_id": clip_id, "work": work,
            "keys": {"work": f"work:{work}", "notes": notes, "text": text, "melody": melody}}


def groups_by_clip(rows) -> tuple[dict[str, str], pd.DataFrame]:
    groups, duplicates = assign_groups(rows)
    assert len(groups) == len(rows)
    return {r["clip_id"]: g for r, g in zip(rows, groups)}, duplicates


def test_group_keys_are_the_documented_ones():
    assert set(GROUP_KEYS) == {"work", "notes", "text", "melody"}


def test_clips_of_one_work_are_one_group_and_not_duplicates():
    rows = [row("a", "Missa X", "n1", "t1", "m1"), row("b", "Missa X", "n2", "t2", "m2"),
            row("c", "Other", "n3", "t3", "m3")]
    groups, duplicates = groups_by_clip(rows)
    assert groups == {"a": "Missa X", "b": "Missa X", "c": "Other"}
    assert duplicates.empty
    assert list(duplicates.columns) == ["clip_id", "duplicate_of", "kind", "group"]


@pytest.mark.parametrize("kind", ["notes", "text"])
def test_same_notes_or_text_join_two_works_and_are_listed(kind):
    same = {kind: "shared-digest"}
    rows = [row("a", "Work A", **{"notes": "na", "text": "ta", **same}),
            row("b", "Work B", **{"notes": "nb", "text": "tb", **same}),
            row("c", "Work C", "nc", "tc")]
    groups, duplicates = groups_by_clip(rows)
    assert groups == {"a": "Work A", "b": "Work A", "c": "Work C"}
    assert duplicates.to_dict("records") == [{"clip_id": "b", "duplicate_of": "a", "kind": kind, "group": "Work A"}]


def test_a_clip_duplicating_both_notes_and_text_is_listed_once_per_kind():
    rows = [row("a", "Work A", "n", "t"), row("b", "Work B", "n", "t"), row("c", "Work C", "n", "other")]
    groups, duplicates = groups_by_clip(rows)
    assert set(groups.values()) == {"Work A"}
    assert duplicates[["clip_id", "duplicate_of", "kind"]].to_dict("records") == [
        {"clip_id": "b", "duplicate_of": "a", "kind": "notes"},
        {"clip_id": "b", "duplicate_of": "a", "kind": "text"},
        {"clip_id": "c", "duplicate_of": "a", "kind": "notes"}]
    assert set(duplicates["group"]) == {"Work A"}


def test_joining_is_transitive_and_melody_is_not_a_duplicate():
    # a ~ b by text, b ~ c by melody, d alone
    rows = [row("a", "Work A", "na", "t", "ma"), row("b", "Work B", "nb", "t", "m"),
            row("c", "Work C", "nc", "tc", "m"), row("d", "Work D", "nd", "td", "md")]
    groups, duplicates = groups_by_clip(rows)
    assert groups == {"a": "Work A", "b": "Work A", "c": "Work A", "d": "Work D"}
    assert duplicates[["clip_id", "duplicate_of", "kind"]].to_dict("records") == [
        {"clip_id": "b", "duplicate_of": "a", "kind": "text"}]
    # joined through a shared work, too: e ~ a by work, f ~ e by notes
    rows += [row("e", "Work A", "ne", "te", "me"), row("f", "Work F", "ne", "tf", "mf")]
    groups, duplicates = groups_by_clip(rows)
    assert groups["f"] == "Work A"
    assert {"clip_id": "f", "duplicate_of": "e", "kind": "notes"} in \
        duplicates[["clip_id", "duplicate_of", "kind"]].to_dict("records")


def test_empty_key_values_never_join():
    rows = [row(c, f"Work {c}") for c in "abcd"]  # every notes/text/melody value empty
    groups, duplicates = groups_by_clip(rows)
    assert len(set(groups.values())) == 4
    assert duplicates.empty


def test_a_group_is_named_after_the_work_of_its_first_clip_by_clip_id():
    # rows out of clip_id order, and works in the opposite alphabetical order to the clip ids
    rows = [row("c2", "Alpha", text="t"), row("c3", "Beta", text="t"), row("c1", "Zeta", text="t"),
            row("c4", "Gamma")]
    groups, duplicates = groups_by_clip(rows)
    assert groups == {"c1": "Zeta", "c2": "Zeta", "c3": "Zeta", "c4": "Gamma"}
    assert set(duplicates["group"]) == {"Zeta"}
    assert duplicates["clip_id"].tolist() == sorted(duplicates["clip_id"])


def test_distinct_groups_get_distinct_names():
    rows = [row(f"c{i:02d}", f"Work {i // 3}", text=f"t{i // 2}") for i in range(12)]
    groups, _ = groups_by_clip(rows)
    # works 0..3 chained by shared texts (c02~c03, c08~c09) into {0,1} and {2,3}
    assert len(set(groups.values())) == 2
    assert groups["c00"] == groups["c05"] == "Work 0"
    assert groups["c06"] == groups["c11"] == "Work 2"


# --- collect_dataset without rendering: what it draws and how it groups ----------------------

class _InlinePool:
    """A stand-in for ProcessPoolExecutor that runs the jobs in this process."""

    def __init__(self, max_workers=None):
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def map(self, fn, jobs):
        return [fn(job) for job in jobs]


def _fake_candidates(styles):
    # 3 movements per work; every style has 150 candidate works
    return {style: [Candidate(style, f"{style}/work{i // 3:03d}/mv{i % 3}.krn", None) for i in range(150)]
            for style in styles}


def _fake_build(job):
    source = job.candidate.source_path
    if source.endswith("0/mv2.krn"):
        return None  # unreadable works (5 of 150 a style): later candidates stand in
    work = source.rsplit("/", 1)[0]
    # the first movements of works 2k and 2k+1 have the same text: they join the two works
    number = int(work[-3:])
    text = f"{job.candidate.style}-pair{number // 2}" if source.endswith("mv0.krn") else ""
    return {"clip_id": job.clip_id, "style": job.candidate.style, "instrument": job.instrument,
            "audio_path": f"clips/{job.clip_id}.wav", "video_path": f"clips/{job.clip_id}.mp4",
            "text_path": f"clips/{job.clip_id}.txt", "score_path": f"clips/{job.clip_id}.mid", "title": work,
            "source": job.candidate.key,
            "work": work, "program": job.program, "pulse_bpm": job.pulse_bpm, "n_notes": 20,
            "keys": {"work": f"work:{work}", "notes": "", "text": text, "melody": ""}}


@pytest.fixture()
def fake_collect(params, monkeypatch, tmp_path):
    monkeypatch.setattr(collect_module, "ProcessPoolExecutor", _InlinePool)
    monkeypatch.setattr(collect_module, "corpus_candidates", _fake_candidates)
    monkeypatch.setattr(collect_module, "build_clip", _fake_build)
    settings = collect_settings(params, "tiny")
    settings["preset"] = {"clips_per_class": 120, "clip_seconds": 4.0}
    settings["styles"] = {k: settings["styles"][k] for k in ("chorale", "renaissance_mass", "fiddle_tune")}
    frame, duplicates = collect_dataset(settings, 3, tmp_path / "fake", workers=1)
    return settings, frame, duplicates


def test_tempo_is_drawn_in_range_whatever_the_style(fake_collect):
    settings, frame, _ = fake_collect
    low, high = settings["pulse_bpm"]
    assert frame["pulse_bpm"].between(low, high).all()
    middle, width = (low + high) / 2, high - low
    for style, bpm in frame.groupby("style")["pulse_bpm"]:
        assert len(bpm) == 120
        # uniform over the whole range for every style: mean near the middle, both ends reached
        assert abs(bpm.mean() - middle) < 0.1 * width, (style, bpm.mean())
        assert bpm.min() < low + 0.1 * width and bpm.max() > high - 0.1 * width, style
        assert bpm.nunique() > 100, style


def test_collect_groups_clips_and_splits_by_group(fake_collect, tmp_path):
    _, frame, duplicates = fake_collect
    assert {"group", "work", "pulse_bpm", "split"} <= set(frame.columns)
    assert frame["clip_id"].is_monotonic_increasing
    # clips of one work (here its folder) are one group; two works whose first movements share
    # their text are one group too, named after the work of its first clip
    assert frame.groupby("work")["group"].nunique().eq(1).all()
    works_per_group = frame.groupby("group")["work"].nunique()
    assert works_per_group.max() == 2 and works_per_group.min() == 1
    for group, members in frame.groupby("group"):
        assert group == members.sort_values("clip_id")["work"].iloc[0]
        numbers = members["work"].str[-3:].astype(int) // 2
        assert numbers.nunique() == 1 and members["style"].nunique() == 1, group
        if members["work"].nunique() == 2:
            assert members["source"].str.endswith("mv0.krn").sum() >= 2, group
    assert straddling_groups(frame) == []
    assert not duplicates.empty and set(duplicates["kind"]) == {"text"}
    assert set(duplicates["clip_id"]) <= set(frame["clip_id"])
    first_clip = frame.set_index("clip_id")
    for dup in duplicates.itertuples():
        assert dup.duplicate_of < dup.clip_id
        assert first_clip.loc[dup.clip_id, "group"] == first_clip.loc[dup.duplicate_of, "group"] == dup.group
    # the unreadable candidate was skipped, and others stood in for it
    assert not frame["source"].str.endswith("0/mv2.krn").any()
    assert frame.groupby("style").size().eq(120).all()
    written = read_manifest(tmp_path / "fake" / "manifest.csv", MODALITIES, LABELS)
    assert written["clip_id"].tolist() == frame["clip_id"].tolist()
    assert written["group"].tolist() == frame["group"].tolist()


def _build_at(monkeypatch, tmp_path, params, pulse_bpm: float, clip_seconds: float = 4.0):
    """build_clip on a 10-note monophonic tune (one note a pulse), rendering stubbed out."""
    from music21 import metadata

    def parse(candidate):
        score = melody_score(0.5, ("C4", "D4", "E4", "F4", "G4", "A4", "G4", "F4", "E4", "D4"))
        score.metadata = metadata.Metadata()
        score.metadata.title = "A tune"
        return score

    monkeypatch.setattr(collect_module, "_parse", parse)
    # collect renders a clip's media with musicfusion.symbolic.render.render_clip
    monkeypatch.setattr(render_module, "render_midi", lambda path, *a: np.zeros((8, 2), dtype=np.float32))
    monkeypatch.setattr(render_module, "piano_roll_frames", lambda *a: [])
    monkeypatch.setattr(render_module, "write_video", lambda *a: None)
    (tmp_path / "clips").mkdir(exist_ok=True)
    settings = {k: params["collect"][k] for k in ("soundfont", "render_sample_rate", "gain", "max_repeats",
                                                  "min_notes", "video", "mask_words", "melody_intervals",
                                                  "pulse_bpm")}
    job = collect_module.ClipJob(f"fiddle_tune-{int(pulse_bpm):04d}", Candidate("fiddle_tune", "x/tune.abc", None),
                                 "piano", 0, pulse_bpm, str(tmp_path), clip_seconds, settings)
    return collect_module.build_clip(job)


def test_build_clip_row_carries_the_drawn_tempo_and_group_keys(monkeypatch, tmp_path, params):
    row = _build_at(monkeypatch, tmp_path, params, 150.0)
    assert row is not None
    assert row["pulse_bpm"] == 150.0 and row["work"] == "x/tune.abc" and row["title"] == "A tune"
    assert set(row["keys"]) == set(GROUP_KEYS)
    assert row["keys"]["work"] == "work:x/tune.abc"
    assert row["keys"]["melody"] == ""  # 9 intervals, fewer than melody_intervals
    assert row["keys"]["notes"] and row["keys"]["text"]


def test_build_clip_keeps_the_score_it_rendered_as_a_midi_file(monkeypatch, tmp_path, params):
    """The score is the MIDI file the audio is rendered from: the excerpt's notes, exactly."""
    import mido

    rendered = []
    row = _build_at(monkeypatch, tmp_path, params, 120.0)
    assert row["score_path"] == "clips/fiddle_tune-0120.mid"
    midi = mido.MidiFile(tmp_path / row["score_path"])
    pitches = [m.note for m in midi.tracks[0] if m.type == "note_on" and m.velocity > 0]
    # One note a pulse at 120 pulses a minute: the 10-note tune fills 4 s with its first 8 notes.
    assert pitches == [60, 62, 64, 65, 67, 69, 67, 65] and row["n_notes"] == len(pitches)
    monkeypatch.setattr(render_module, "render_midi", lambda path, *a: rendered.append(path.read_bytes()) or
                        np.zeros((8, 2), dtype=np.float32))
    row = collect_module.build_clip(collect_module.ClipJob(
        "fiddle_tune-0121", Candidate("fiddle_tune", "x/tune.abc", None), "piano", 0, 120.0, str(tmp_path), 4.0,
        {k: params["collect"][k] for k in ("soundfont", "render_sample_rate", "gain", "max_repeats", "min_notes",
                                           "video", "mask_words", "melody_intervals", "pulse_bpm")}))
    assert rendered == [(tmp_path / row["score_path"]).read_bytes()]  # the audio comes from that very file


def test_whether_a_work_is_usable_does_not_depend_on_its_drawn_tempo(monkeypatch, tmp_path, params):
    """min_notes is judged at one fixed tempo: a drawn tempo never decides which works a style keeps."""
    low, high = params["collect"]["pulse_bpm"]
    usable = [_build_at(monkeypatch, tmp_path, params, float(bpm)) is not None for bpm in (low, high)]
    assert usable[0] == usable[1]


def test_two_copies_of_a_work_at_different_drawn_tempi_share_the_notes_key(monkeypatch, tmp_path, params):
    """The notes key is taken at one fixed tempo, so duplicates are found whatever tempi were drawn."""
    low, high = params["collect"]["pulse_bpm"]
    slow = _build_at(monkeypatch, tmp_path, params, float(low), clip_seconds=10.0)
    fast = _build_at(monkeypatch, tmp_path, params, float(high), clip_seconds=10.0)
    assert slow["keys"]["notes"] and slow["keys"]["notes"] == fast["keys"]["notes"]
    assert slow["n_notes"] < fast["n_notes"]  # the rendered excerpts themselves differ


def test_a_work_too_short_at_every_tempo_is_skipped(monkeypatch, tmp_path, params):
    low, high = params["collect"]["pulse_bpm"]
    for bpm in (low, high):  # 10 notes, one a pulse: at most ~2.7 notes in one second
        assert _build_at(monkeypatch, tmp_path, params, float(bpm), clip_seconds=1.0) is None
