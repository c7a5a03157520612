"""What collect reads from a corpus work, cached between runs.

Parsing a score with music21 and walking its streams is most of what building a clip costs
before rendering. A :class:`WorkReading` holds everything collect takes from a work (its notes
in quarter notes, its first part's melody, its title and lyrics, the work it belongs to), and
:func:`read_work` keeps each reading as a small JSON file under the project. A reading is keyed
by the corpus file's content (its SHA-256), the tune number inside a collection, the music21
version and :data:`READING_VERSION`, so an edited corpus, another music21 or a changed reading
never meets an old entry: a cached reading is what parsing would give, bit for bit.
"""

from __future__ import annotations

import functools
import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from musicfusion.plumbing.files import read_json, write_json
from musicfusion.symbolic.excerpts import Timeline, part_notes, timeline

# Bump when what a reading holds, or how it is read, changes: older entries are then ignored.
READING_VERSION = 1
# A "title" that is only the file's name says nothing about the music.
_FILENAME_TITLE = re.compile(r"\.(mxl|xml|musicxml|krn|abc|rntxt|mid)$", re.IGNORECASE)


@dataclass(frozen=True)
class WorkReading:
    """What collect takes from one corpus work."""

    timeline: Timeline
    melody: tuple[int, ...]  # the first part's highest pitch of each note or chord (ties joined)
    text: str  # title and lyrics as the score has them, before cleaning
    parent_title: str | None  # the work this one belongs to (a mass, for its movements)

    def to_dict(self) -> dict:
        return {"timeline": self.timeline.to_dict(), "melody": list(self.melody), "text": self.text,
                "parent_title": self.parent_title}

    @classmethod
    def from_dict(cls, data: dict) -> WorkReading:
        return cls(Timeline.from_dict(data["timeline"]), tuple(int(p) for p in data["melody"]), data["text"],
                   data["parent_title"])


def score_text(score) -> str:
    """The work's title (after the title of the work it belongs to, such as a mass) and the
    lyrics of the part that has the most, one per line, as the score has them."""
    from music21 import text as m21text

    md = score.metadata
    titles = []
    for field in ("parentTitle", "title", "movementName"):
        value = getattr(md, field, None)
        if value and not _FILENAME_TITLE.search(str(value)) and str(value) not in titles:
            titles.append(str(value))
            if field != "parentTitle":
                break  # title and movementName name the same thing
    lyrics = ""
    for part in (list(score.parts) or [score]):
        try:
            words = m21text.assembleLyrics(part)
        except Exception:  # noqa: BLE001 - music21 raises assorted errors on odd lyrics
            words = ""
        if len(words) > len(lyrics):
            lyrics = words
    lyrics = lyrics.replace("\u00ad", "").replace("\u203f", " ")
    return "\n".join(s.strip() for s in (*titles, lyrics) if s and s.strip())


def read_score(score) -> WorkReading:
    """Read a parsed music21 score (each part's streams are walked once)."""
    parts = part_notes(score)
    melody = tuple(int(max(p.midi for p in n.pitches)) for n in parts[0]) if parts else ()
    parent = getattr(score.metadata, "parentTitle", None) if score.metadata is not None else None
    return WorkReading(timeline(score, parts), melody, score_text(score), str(parent) if parent else None)


@functools.lru_cache(maxsize=256)
def _content_sha256(path: str) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def reading_key(corpus_file: str | Path, number: int | None) -> str:
    """The cache key of one work: the file's content, the tune number, the music21 and reading versions."""
    import music21

    fields = [_content_sha256(str(corpus_file)), str(number), music21.__version__, str(READING_VERSION)]
    return hashlib.sha256("\n".join(fields).encode()).hexdigest()


def read_work(parse: Callable[[], object], corpus_file: str | Path | None, number: int | None,
              cache_dir: str | Path | None) -> WorkReading:
    """The reading of a work: from ``cache_dir`` if there, else ``parse()`` then :func:`read_score`,
    stored for next time. Without a cache folder or a corpus file, it is always parsed.

    An entry is written atomically (musicfusion.plumbing.files.write_json), so parallel workers
    never read half an entry; an unreadable entry is parsed again and replaced.
    """
    if cache_dir is None or corpus_file is None:
        return read_score(parse())
    entry = Path(cache_dir) / f"{reading_key(corpus_file, number)}.json"
    try:
        return WorkReading.from_dict(read_json(entry))
    except (OSError, ValueError, KeyError, TypeError):
        pass
    reading = read_score(parse())
    write_json(entry, reading.to_dict())
    return reading
