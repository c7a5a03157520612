"""The corpus cache: a work is read once, and a cached reading is what parsing would give."""

from __future__ import annotations

import json

from musicfusion.data.presets.corpus_cache import WorkReading, read_score, read_work, reading_key
from musicfusion.symbolic.excerpts import excerpt_notes

from support import melody_score


def chord_and_tie_score():
    """Two parts: a tied C4 (two quarters joined), then a C-E-G chord; a bass line beneath."""
    from music21 import chord, metadata, note, stream, tie

    upper = stream.Part()
    first, second = note.Note("C4", quarterLength=1.0), note.Note("C4", quarterLength=1.0)
    first.tie, second.tie = tie.Tie("start"), tie.Tie("stop")
    upper.append([first, second, chord.Chord(["C4", "E4", "G4"], quarterLength=1.0)])
    lower = stream.Part([note.Note("C3", quarterLength=1.5), note.Note("G2", quarterLength=1.5)])
    score = stream.Score([upper, lower])
    score.metadata = metadata.Metadata()
    score.metadata.title = "Tune"
    return score


def counting(score_factory):
    calls = []

    def parse():
        calls.append(1)
        return score_factory()
    return parse, calls


def test_a_reading_holds_ties_joined_and_one_note_per_chord_pitch():
    reading = read_score(chord_and_tie_score())
    assert reading.timeline.notes == ((60, 0.0, 2.0, 0), (60, 2.0, 1.0, 0), (64, 2.0, 1.0, 0), (67, 2.0, 1.0, 0),
                                      (48, 0.0, 1.5, 1), (43, 1.5, 1.5, 1))
    assert reading.melody == (60, 67)  # the first part, a chord by its highest pitch
    assert reading.timeline.length_quarters == 3.0 and reading.text == "Tune"


def test_a_cached_reading_equals_a_fresh_one_and_parses_nothing(tmp_path):
    corpus_file = tmp_path / "tune.abc"
    corpus_file.write_text("X:1\n")
    parse, calls = counting(chord_and_tie_score)
    first = read_work(parse, corpus_file, 1, tmp_path / "cache")
    second = read_work(parse, corpus_file, 1, tmp_path / "cache")
    assert calls == [1]
    assert second == first == read_score(chord_and_tie_score())
    assert excerpt_notes(second.timeline, 3.0, 97.0, 2) == excerpt_notes(first.timeline, 3.0, 97.0, 2)


def test_float_offsets_survive_the_cache_bit_for_bit(tmp_path):
    """Triplet offsets (thirds of a quarter) are not exact in binary: JSON must keep every bit."""
    corpus_file = tmp_path / "tune.abc"
    corpus_file.write_text("X:1\n")
    parse, _ = counting(lambda: melody_score(1 / 3, ("C4", "D4", "E4", "F4", "G4", "A4")))
    fresh = read_work(parse, corpus_file, None, tmp_path / "cache")
    cached = read_work(parse, corpus_file, None, tmp_path / "cache")
    assert [n[1] for n in cached.timeline.notes] == [n[1] for n in fresh.timeline.notes]
    assert cached.timeline.notes[1][1] == float(1 / 3)


def test_the_key_follows_the_content_and_the_tune_number(tmp_path):
    corpus_file = tmp_path / "tune.abc"
    corpus_file.write_text("X:1\n")
    key = reading_key(corpus_file, 1)
    assert reading_key(corpus_file, 2) != key
    other = tmp_path / "other.abc"
    other.write_text("X:2\n")
    assert reading_key(other, 1) != key
    copy = tmp_path / "copy.abc"
    copy.write_text("X:1\n")
    assert reading_key(copy, 1) == key  # the content, not the path


def test_an_unreadable_entry_is_parsed_again_and_replaced(tmp_path):
    corpus_file = tmp_path / "tune.abc"
    corpus_file.write_text("X:1\n")
    entry = tmp_path / "cache" / f"{reading_key(corpus_file, None)}.json"
    entry.parent.mkdir()
    entry.write_text('{"timeline": ')  # half an entry
    parse, calls = counting(chord_and_tie_score)
    reading = read_work(parse, corpus_file, None, tmp_path / "cache")
    assert calls == [1]
    assert WorkReading.from_dict(json.loads(entry.read_text())) == reading
    assert list(entry.parent.iterdir()) == [entry]  # no temporary file left beside it


def test_without_a_cache_folder_every_read_parses(tmp_path):
    parse, calls = counting(chord_and_tie_score)
    read_work(parse, tmp_path / "tune.abc", None, None)
    read_work(parse, tmp_path / "tune.abc", None, None)
    assert calls == [1, 1]
