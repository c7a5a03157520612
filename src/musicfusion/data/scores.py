"""Scores as note arrays: the interim form of the score modality, read from any file music21 reads.

A note array is a float64 array of shape ``(n_notes, 3)`` with the columns :data:`NOTE_COLUMNS`:
the MIDI pitch, and the onset and duration in quarter notes (music21's quarterLength), rows sorted
by onset, then pitch (then duration, so that equal notes always come out in one order). A chord
gives one row per pitch, tied notes are joined into one row, and rests, grace notes (no duration)
and unpitched percussion give none.

Quarter notes rather than seconds: the score modality is what is notated. A MIDI file counts time
in ticks of a quarter note, so its notes are in quarter notes at its own tempo too; they are read
from its note events, tick-exact (:func:`midi_notes`), not through music21's MIDI-to-score import,
which quantises them and, in music21 10.5.1, shifts every later note by whole beats when a held
note overruns a bar (as the notes of the rendered presets, timed in seconds, do). A plain array
(not a music21 stream) is what is stored, perturbed and counted: it pickles small, compares
exactly, and needs no music21 import; :func:`notes_to_stream` rebuilds a stream when music21's
feature extractors need one.

music21 is imported inside the functions: it takes about a second to import, and jobs that import
this module only to handle note arrays need none of it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

NOTE_COLUMNS = ("pitch", "onset", "duration")
PITCH, ONSET, DURATION = range(len(NOTE_COLUMNS))
MIDI_PITCHES = 128  # MIDI note numbers are 0..127
MIDI_SUFFIXES = (".mid", ".midi")
# General MIDI's percussion channel (music21 numbers channels from 1): its note numbers name drums.
PERCUSSION_CHANNEL = 10
# The meter notes_to_stream writes: a note array keeps none, and 4/4 is also what music21 assumes
# when a stream without one is cut into measures.
DEFAULT_TIME_SIGNATURE = "4/4"
# How much of music21's error message a ScoreError quotes: enough to tell the problem, short
# enough that a log of many failed files stays readable (its messages can quote whole byte strings).
PARSER_MESSAGE_CHARS = 160
# How close (quarter notes) a tied note must start to the end of the note it continues: music21's
# offsets are exact fractions, their floats' sums (1/3 + 1/3 against 2/3) differ in the last bits.
TIE_TOLERANCE = 1e-6


class ScoreError(ValueError):
    """A score file that gives no usable note array: unreadable, truncated, or with too few notes."""


def sort_notes(notes: np.ndarray) -> np.ndarray:
    """The rows of a note array sorted by onset, then pitch, then duration (a new array)."""
    return notes[np.lexsort((notes[:, DURATION], notes[:, PITCH], notes[:, ONSET]))]


def check_notes(notes, where: str = "note array") -> np.ndarray:
    """``notes`` as a float64 note array, or a ValueError naming ``where`` and what is wrong.

    Pitches must be whole MIDI numbers, onsets at or after 0 and durations positive: what
    :func:`score_notes` gives, and what a stream can be rebuilt from.
    """
    array = np.asarray(notes, dtype=np.float64)
    if array.ndim != 2 or array.shape[1] != len(NOTE_COLUMNS):
        raise ValueError(f"{where}: expected shape (n_notes, {len(NOTE_COLUMNS)}) "
                         f"with columns {NOTE_COLUMNS}, got {array.shape}")
    if not np.isfinite(array).all():
        raise ValueError(f"{where}: holds NaN or infinite values")
    pitches = array[:, PITCH]
    if ((pitches != np.round(pitches)) | (pitches < 0) | (pitches >= MIDI_PITCHES)).any():
        raise ValueError(f"{where}: pitches must be whole MIDI numbers 0..{MIDI_PITCHES - 1}")
    if (array[:, ONSET] < 0).any():
        raise ValueError(f"{where}: onsets must not be negative")
    if (array[:, DURATION] <= 0).any():
        raise ValueError(f"{where}: durations must be positive")
    return array


def _parts(stream_) -> list:
    """The part-like streams of a parsed stream: an opus's first score's parts, a score's parts,
    or the stream itself (a part, or a score that holds its notes directly)."""
    from music21 import stream

    if isinstance(stream_, stream.Opus):
        scores = list(stream_.scores)
        if not scores:
            return []
        stream_ = scores[0]
    return list(stream_.getElementsByClass(stream.Part)) or [stream_]


def _tied_rows(notes, part_offset: float) -> list[list[float]]:
    """``[pitch, onset, duration]`` of every pitch of a part's notes and chords (flattened, in offset
    order), a note that a tie continues added to the one it continues.

    Ties are joined here rather than by music21's ``stripTies``, which in music21 10.5.1 mis-joins
    tied notes that overlap others (in voices, or chords that change under a held note): it gives a
    held note another's length, drops a note, or joins two pitches (the two agree on 34 of 38 corpus
    works; where the others differ, in Beethoven quartets, stripTies is wrong). Here a note continues a
    tied note of its pitch that ends exactly where it starts; a tie that nothing continues is left.
    """
    from music21 import note

    rows: list[list[float]] = []
    held: dict[int, list[int]] = {}  # MIDI pitch -> rows whose tie is open (unison voices: several)
    for element in notes:
        quarters = float(element.duration.quarterLength)
        if quarters <= 0:
            continue  # a grace note: it takes no time of its own
        onset = part_offset + float(element.offset)
        for member in element.notes if element.isChord else [element]:
            if not isinstance(member, note.Note):
                continue  # unpitched percussion
            midi = int(member.pitch.midi)
            tie_type = member.tie.type if member.tie is not None else None
            # The note continues a tie of its pitch that ends where it starts, whatever its own tie
            # says: files that mark a tie's start but not its stop are common (as stripTies reads them).
            continued = next((i for i in held.get(midi, [])
                              if abs(rows[i][ONSET] + rows[i][DURATION] - onset) < TIE_TOLERANCE), None)
            if continued is None:
                rows.append([float(midi), onset, quarters])
                index = len(rows) - 1
            else:
                held[midi].remove(continued)
                rows[continued][DURATION] += quarters
                index = continued
            if tie_type in ("start", "continue"):
                held.setdefault(midi, []).append(index)
    return rows


def score_notes(score) -> np.ndarray:
    """The note array of a parsed music21 stream (a Score, a Part, or an Opus: its first score),
    all parts together, ties joined (:func:`_tied_rows`). The stream is not modified."""
    rows = []
    for part in _parts(score):
        # A part's offset in its score, so that parts starting late keep their place.
        part_offset = float(part.offset) if part is not score else 0.0
        rows += _tied_rows(part.flatten().notes, part_offset)
    notes = np.array(rows, dtype=np.float64).reshape(len(rows), len(NOTE_COLUMNS))
    return sort_notes(notes)


def _brief(err: Exception) -> str:
    """The type and first line of an exception's message, cut to :data:`PARSER_MESSAGE_CHARS`."""
    lines = str(err).strip().splitlines()
    message = lines[0] if lines else ""
    if len(message) > PARSER_MESSAGE_CHARS:
        message = message[:PARSER_MESSAGE_CHARS] + "..."
    return f"{type(err).__name__}: {message}" if message else type(err).__name__


def _check_midi_chunks(path: Path) -> None:
    """A ScoreError if a MIDI file ends inside one of its chunks.

    music21 reads a MIDI file cut short without complaint, giving the notes before the cut: only
    the chunk lengths its header and tracks declare tell that some are missing. Bytes after the
    last whole chunk are left alone (some writers pad files); what they are is music21's to judge.
    """
    data = path.read_bytes()
    chunk_header = 8  # four-letter chunk type, then its length as a big-endian 32-bit integer
    position, index = 0, 0
    while position + chunk_header <= len(data):
        kind = data[position:position + 4]
        if not kind.isalpha():
            break  # not a chunk: padding or garbage, left to music21
        declared = int.from_bytes(data[position + 4:position + chunk_header], "big")
        remaining = len(data) - position - chunk_header
        if declared > remaining:
            raise ScoreError(f"{path}: the MIDI file is truncated: its chunk {index} "
                             f"({kind.decode('ascii')}) declares {declared} bytes but {remaining} remain")
        position += chunk_header + declared
        index += 1


def midi_notes(path) -> np.ndarray:
    """The note array of a MIDI file, from its note-on and note-off events (music21's MIDI reader),
    in quarter notes of its own ticks: onsets and durations exactly as written, not quantised.

    Notes on the percussion channel are left out (drums, not pitches), as are notes that end where
    they start (grace notes as music21 writes them). A note-on is ended by the next note-off of its
    pitch and channel, music21's rule.
    """
    from music21 import midi
    from music21.midi import translate

    midi_file = midi.MidiFile()
    midi_file.open(str(path))
    try:
        midi_file.read()
    finally:
        midi_file.close()
    ticks_per_quarter = midi_file.ticksPerQuarterNote
    if not ticks_per_quarter:
        raise ValueError("its time is in SMPTE frames, not ticks of a quarter note")
    rows = []
    for track in midi_file.tracks:
        for on, off, event in translate.getNotesFromEvents(translate.getTimeForEvents(track)):
            if event.channel != PERCUSSION_CHANNEL and off > on:
                rows.append((float(event.pitch), on / ticks_per_quarter, (off - on) / ticks_per_quarter))
    return sort_notes(np.array(rows, dtype=np.float64).reshape(len(rows), len(NOTE_COLUMNS)))


def read_score(path, min_notes: int) -> np.ndarray:
    """The note array of a score file in any format music21 reads (MIDI, MusicXML, Humdrum, ABC...;
    an opus, such as an ABC file of many tunes, gives its first score). MIDI files are read by
    :func:`midi_notes`, others parsed by ``music21.converter.parse``.

    Raises :class:`ScoreError`, naming the file and the problem, when the file is missing, cannot
    be parsed or is a truncated MIDI file, or has no notes or fewer than ``min_notes``.
    """
    from music21 import converter

    path = Path(path)
    if not path.is_file():
        raise ScoreError(f"{path}: no such file")
    if path.suffix.lower() in MIDI_SUFFIXES:
        _check_midi_chunks(path)
        try:
            notes = midi_notes(path)
        except Exception as err:  # music21's reader raises MidiException, IndexError... on bad bytes
            raise ScoreError(f"{path}: music21 cannot parse it ({_brief(err)})") from err
    else:
        try:
            # forceSource: music21's own pickles of parsed files would go to a folder outside the project.
            parsed = converter.parse(path, forceSource=True)
        except Exception as err:  # music21 raises many types for unreadable files
            raise ScoreError(f"{path}: music21 cannot parse it ({_brief(err)})") from err
        try:
            notes = score_notes(parsed)
        except Exception as err:  # a stream music21 parsed but cannot walk is as unusable
            raise ScoreError(f"{path}: music21 parsed it but cannot read its notes ({_brief(err)})") from err
    if len(notes) == 0:
        raise ScoreError(f"{path}: has no notes")
    if len(notes) < min_notes:
        raise ScoreError(f"{path}: has {len(notes)} notes, fewer than the {min_notes} needed")
    return notes


def notes_to_stream(notes):
    """A one-part music21 Score of a note array, for music21's feature extractors.

    Notes sharing an onset and a duration become one chord; every other note is inserted at its
    own offset, so overlapping notes keep their onsets and durations (no measures are made: they
    would split long notes into tied ones). A note array keeps no meter, so the part opens with a
    :data:`DEFAULT_TIME_SIGNATURE` time signature: the same for every clip, meter features
    (jSymbolic r31-r35) carry nothing about a clip. No tempo mark is written (music21's 120 bpm).
    ``score_notes(notes_to_stream(notes))`` gives ``notes`` back, sorted.
    """
    from music21 import chord, meter, note, stream

    notes = sort_notes(check_notes(notes))
    part = stream.Part()
    part.insert(0.0, meter.TimeSignature(DEFAULT_TIME_SIGNATURE))
    # Sorted by onset then pitch (then duration): group by (onset, duration) keeping pitch order.
    groups: dict[tuple[float, float], list[int]] = {}
    for pitch, onset, duration in notes:
        groups.setdefault((onset, duration), []).append(int(pitch))
    for (onset, duration), pitches in groups.items():
        if len(pitches) == 1:
            element = note.Note(pitches[0], quarterLength=duration)
        else:
            element = chord.Chord(pitches, quarterLength=duration)
        part.insert(onset, element)
    return stream.Score([part])


def seconds_per_quarter(path, default: float) -> float:
    """How long a quarter note of a score file lasts, from its first tempo: a MIDI file's first set_tempo
    event, another format's first metronome mark (music21); ``default`` when it states none (MIDI's own
    default is 120 quarter notes a minute, 0.5 s)."""
    path = Path(path)
    if path.suffix.lower() in MIDI_SUFFIXES:
        import mido

        for message in mido.merge_tracks(mido.MidiFile(str(path)).tracks):
            if message.type == "set_tempo":
                return message.tempo / 1e6  # microseconds per quarter note
        return float(default)
    from music21 import converter

    boundaries = converter.parse(path, forceSource=True).metronomeMarkBoundaries()
    if not boundaries or boundaries[0][2] is None or boundaries[0][2].number is None:
        return float(default)
    return float(boundaries[0][2].secondsPerQuarter())
