"""Scores as note arrays: what score_notes and read_score make of streams and files in every format,
what they refuse (naming the file and the problem), and notes_to_stream rebuilding a stream."""

from __future__ import annotations

import numpy as np
import pytest

from musicfusion.data.scores import NOTE_COLUMNS, ScoreError, notes_to_stream, read_score, score_notes

# (pitch, onset, duration) of known_score(), sorted by onset then pitch.
KNOWN_NOTES = np.array([
    [48, 0.0, 2.0],  # bass C3
    [60, 0.0, 1.0],  # C4
    [64, 1.0, 0.5], [67, 1.0, 0.5],  # the chord E4-G4: one row per pitch
    [43, 2.0, 2.0],  # bass G2
    [62, 2.0, 3.0],  # D4 tied 1 + 2: one row
    [69, 5.0, 1.5],  # A4, after the grace note F4 (no row)
])


def known_score():
    """Two parts in 3/4: a melody with a chord, a rest, a tie across the bar and a grace note, and a bass."""
    from music21 import chord, meter, note, stream, tie

    melody = stream.Part()
    melody.append(meter.TimeSignature("3/4"))
    melody.append(note.Note("C4", quarterLength=1))
    melody.append(chord.Chord(["E4", "G4"], quarterLength=0.5))
    melody.append(note.Rest(quarterLength=0.5))
    tied_start, tied_stop = note.Note("D4", quarterLength=1), note.Note("D4", quarterLength=2)
    tied_start.tie, tied_stop.tie = tie.Tie("start"), tie.Tie("stop")
    melody.append([tied_start, tied_stop])
    melody.append(note.Note("F4").getGrace())
    melody.append(note.Note("A4", quarterLength=1.5))
    bass = stream.Part()
    bass.append(meter.TimeSignature("3/4"))
    bass.append([note.Note("C3", quarterLength=2), note.Note("G2", quarterLength=2)])
    return stream.Score([melody, bass])


def test_score_notes_gives_one_row_per_sounding_pitch():
    score = known_score()
    notes = score_notes(score)
    assert NOTE_COLUMNS == ("pitch", "onset", "duration")
    assert notes.dtype == np.float64
    np.testing.assert_array_equal(notes, KNOWN_NOTES)
    # ties are stripped on a copy: the caller's stream keeps its two tied notes
    assert len([n for n in score.recurse().notes if n.tie is not None]) == 2


def test_score_notes_of_a_part_and_of_an_opus():
    from music21 import stream

    melody = known_score().parts[0]
    np.testing.assert_array_equal(score_notes(melody), KNOWN_NOTES[[1, 2, 3, 5, 6]])
    opus = stream.Opus([known_score(), stream.Score([known_score().parts[1]])])
    np.testing.assert_array_equal(score_notes(opus), KNOWN_NOTES)  # the first score only


def test_midi_and_musicxml_of_a_stream_give_its_note_array(tmp_path):
    score = known_score()
    midi = score.write("midi", fp=tmp_path / "known.mid")
    musicxml = score.write("musicxml", fp=tmp_path / "known.musicxml")
    np.testing.assert_array_equal(read_score(midi, min_notes=7), KNOWN_NOTES)
    np.testing.assert_array_equal(read_score(musicxml, min_notes=7), KNOWN_NOTES)


def test_ties_are_joined_under_changing_chords_and_across_voices():
    from music21 import chord, meter, note, stream, tie

    def tied(element, kind):
        element.tie = tie.Tie(kind)
        return element

    # E4 held under a chord that changes (music21's stripTies leaves it in two), and two voices
    # each holding a note across the barline, the upper one starting later.
    first, second = stream.Measure(number=1), stream.Measure(number=2)
    first.append(meter.TimeSignature("2/4"))
    first.insert(0, tied(chord.Chord(["E4", "E5"], quarterLength=2), "start"))
    second.insert(0, tied(chord.Chord(["E4", "C#5"], quarterLength=2), "stop"))
    low, high = stream.Voice(), stream.Voice()
    low.insert(0, tied(note.Note("C3", quarterLength=2), "start"))
    high.insert(0, note.Note("G3", quarterLength=1))
    high.insert(1, tied(note.Note("A3", quarterLength=1), "start"))
    upper_part = stream.Part([first, second])
    lower_first, lower_second = stream.Measure(number=1), stream.Measure(number=2)
    lower_first.insert(0, low)
    lower_first.insert(0, high)
    lower_second.insert(0, stream.Voice([tied(note.Note("C3", quarterLength=1), "stop")]))
    lower_second.insert(0, stream.Voice([tied(note.Note("A3", quarterLength=2), "stop")]))
    lower_part = stream.Part([lower_first, lower_second])
    np.testing.assert_array_equal(score_notes(stream.Score([upper_part, lower_part])), [
        [48, 0, 3], [55, 0, 1], [64, 0, 4], [76, 0, 2], [57, 1, 3], [73, 2, 2]])


def write_midi_file(path, notes, channel: int = 0, ticks_per_quarter: int = 480):
    """A one-track MIDI file of (pitch, onset, duration) in quarter notes, note-offs first at a tick."""
    import mido

    events = sorted([(round((onset + duration) * ticks_per_quarter), 0, int(pitch)) for pitch, onset, duration in notes]
                    + [(round(onset * ticks_per_quarter), 1, int(pitch)) for pitch, onset, duration in notes])
    track, now = mido.MidiTrack(), 0
    for tick, is_on, pitch in events:
        track.append(mido.Message("note_on" if is_on else "note_off", note=pitch, velocity=90 if is_on else 0,
                                  channel=channel, time=tick - now))
        now = tick
    midi = mido.MidiFile(ticks_per_beat=ticks_per_quarter)
    midi.tracks.append(track)
    midi.save(str(path))
    return path


def test_midi_notes_are_read_tick_exact(tmp_path):
    # Timed in seconds at a drawn tempo, as the rendered presets write them: held notes overrun the
    # bars music21's MIDI import would make, and it would shift every later note by a beat.
    notes = np.array([[57, 0, 1184 / 480], [64, 0, 2368 / 480], [73, 0, 592 / 480],
                      [61, 1184 / 480, 1184 / 480], [69, 1184 / 480, 1184 / 480],
                      [59, 2368 / 480, 1184 / 480], [64, 2368 / 480, 1184 / 480],
                      [57, 3552 / 480, 1184 / 480], [73, 3552 / 480, 2368 / 480]])
    np.testing.assert_array_equal(read_score(write_midi_file(tmp_path / "seconds.mid", notes), 1), notes)
    # drums (General MIDI's channel 10, 9 counted from 0) are not pitches
    drums = write_midi_file(tmp_path / "drums.mid", notes, channel=9)
    assert "has no notes" in _error(drums)


def test_abc_gives_its_first_tune_and_humdrum_joins_ties(tmp_path):
    abc = tmp_path / "tunes.abc"
    # L:1/4, so one letter is a quarter; [EG] is a chord, z a rest, c2-c2 a tie; tune 2 is ignored.
    abc.write_text("X:1\nT:First\nM:4/4\nL:1/4\nK:C\nC D [EG] z | c2- c2 |\n"
                   "X:2\nT:Second\nM:4/4\nL:1/4\nK:C\nG4 |\n")
    np.testing.assert_array_equal(read_score(abc, min_notes=1),
                                  [[60, 0, 1], [62, 1, 1], [64, 2, 1], [67, 2, 1], [72, 4, 4]])
    kern = tmp_path / "two.krn"
    kern.write_text("**kern\t**kern\n*M3/4\t*M3/4\n4C\t4c\n4D\t[4d\n4E\t4d]\n*-\t*-\n")
    np.testing.assert_array_equal(read_score(kern, min_notes=1),
                                  [[48, 0, 1], [60, 0, 1], [50, 1, 1], [62, 1, 2], [52, 2, 1]])


def _error(path, min_notes: int = 1) -> str:
    with pytest.raises(ScoreError) as caught:
        read_score(path, min_notes=min_notes)
    message = str(caught.value)
    assert str(path) in message
    return message


@pytest.mark.parametrize("suffix", [".mid", ".midi", ".xml", ".musicxml", ".mxl", ".krn", ".abc", ".bin"])
def test_a_garbage_or_empty_file_is_a_score_error(tmp_path, suffix):
    garbage = tmp_path / f"garbage{suffix}"
    garbage.write_bytes(np.random.default_rng(0).bytes(2048))
    assert "music21 cannot parse it" in _error(garbage)
    empty = tmp_path / f"empty{suffix}"
    empty.write_bytes(b"")
    assert "music21 cannot parse it" in _error(empty)


def test_a_truncated_midi_file_is_a_score_error(tmp_path):
    whole = known_score().write("midi", fp=tmp_path / "whole.mid")
    data = whole.read_bytes()
    # music21 itself reads a cut file without complaint (the notes before the cut, or none): cut in
    # the middle of the last track, near its end (notes remain), and just after the header.
    for cut in (len(data) - 6, len(data) // 2, 30):
        truncated = tmp_path / f"cut{cut}.mid"
        truncated.write_bytes(data[:cut])
        assert "the MIDI file is truncated" in _error(truncated)


def test_a_missing_file_is_a_score_error(tmp_path):
    assert "no such file" in _error(tmp_path / "absent.mid")


def test_too_few_notes_and_no_notes_are_score_errors(tmp_path):
    from music21 import note, stream

    known = known_score().write("midi", fp=tmp_path / "known.mid")
    assert read_score(known, min_notes=7).shape == (7, 3)  # exactly enough
    assert "has 7 notes, fewer than the 8 needed" in _error(known, min_notes=8)
    rests = stream.Score([stream.Part([note.Rest(quarterLength=4)])])
    silent = rests.write("musicxml", fp=tmp_path / "rests.musicxml")
    assert "has no notes" in _error(silent, min_notes=0)


def test_notes_to_stream_rebuilds_the_note_array():
    from music21 import chord, meter

    score = notes_to_stream(KNOWN_NOTES)
    (part,) = score.parts
    assert [ts.ratioString for ts in part.recurse().getElementsByClass(meter.TimeSignature)] == ["4/4"]
    chords = list(part.recurse().getElementsByClass(chord.Chord))
    # C3 and C4 share an onset but not a duration: two notes; E4-G4 share both: one chord
    assert [[p.midi for p in c.pitches] for c in chords] == [[64, 67]]
    np.testing.assert_array_equal(score_notes(score), KNOWN_NOTES)


def test_notes_to_stream_keeps_overlaps_repeats_and_triplets():
    from music21 import chord

    notes = np.array([
        [60, 0.0, 4.0], [64, 0.0, 1.0],  # same onset, different durations: two notes, not a chord
        [67, 0.0, 1.0], [67, 0.0, 1.0],  # the same pitch twice (two parts in unison)
        [62, 0.5, 3.0],  # starts while the others sound
        [65, 4.0, 1 / 3], [67, 4 + 1 / 3, 1 / 3], [69, 4 + 2 / 3, 1 / 3],  # a triplet
    ])
    score = notes_to_stream(notes[::-1])  # rows in any order
    chords = list(score.recurse().getElementsByClass(chord.Chord))
    assert [[p.midi for p in c.pitches] for c in chords] == [[64, 67, 67]]
    np.testing.assert_array_equal(score_notes(score), notes)


@pytest.mark.parametrize("bad, problem", [
    (np.zeros((2, 2)), "expected shape"),
    (np.array([[60.5, 0, 1]]), "whole MIDI numbers"),
    (np.array([[128, 0, 1]]), "whole MIDI numbers"),
    (np.array([[60, -1, 1]]), "onsets"),
    (np.array([[60, 0, 0]]), "durations"),
    (np.array([[60, np.nan, 1]]), "NaN"),
])
def test_notes_to_stream_refuses_what_is_not_a_note_array(bad, problem):
    with pytest.raises(ValueError, match=problem):
        notes_to_stream(bad)


def test_a_score_files_own_tempo(tmp_path):
    import mido

    from musicfusion.data.scores import seconds_per_quarter

    song = mido.MidiFile()
    track = mido.MidiTrack()
    song.tracks.append(track)
    track.append(mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(90)))
    track.append(mido.Message("note_on", note=60, velocity=64, time=0))
    track.append(mido.Message("note_off", note=60, time=480))
    song.save(tmp_path / "at90.mid")
    assert seconds_per_quarter(tmp_path / "at90.mid", 0.5) == pytest.approx(60 / 90, abs=1e-6)
    (tmp_path / "at60.abc").write_text("X:1\nT:t\nM:4/4\nL:1/4\nQ:1/4=60\nK:C\nCDEF|GABc|\n")
    assert seconds_per_quarter(tmp_path / "at60.abc", 0.5) == pytest.approx(1.0)
    song.tracks[0].pop(0)  # no tempo event: the default
    song.save(tmp_path / "plain.mid")
    assert seconds_per_quarter(tmp_path / "plain.mid", 0.25) == 0.25
