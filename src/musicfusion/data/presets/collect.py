"""Collect: build the embedded multimodal dataset offline from the music21 corpus.

Each clip is a fixed-length excerpt of a real score: audio rendered through FluidSynth with a
General MIDI soundfont, a piano-roll video in sync with it, and the work's title and lyrics
as text with the words that name the class deleted.

What the modalities must not carry is how a collection was encoded: the text is cleaned of
encoding spellings and debris (:mod:`musicfusion.data.presets.corpus_text`), the tempo is drawn per clip
independently of the class, and the video colours notes by pitch class, which the audio
carries too. Related works (movements of a mass, settings of one chorale, duplicates) share a
``group`` so that they never straddle a split.
"""

from __future__ import annotations

import fnmatch
import functools
import hashlib
import logging
import re
import shutil
import unicodedata
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from musicfusion.data.presets.corpus_cache import read_work
from musicfusion.data.presets.corpus_text import clean_text
from musicfusion.data.splits import dataset_split
from musicfusion.plumbing.files import write_csv
from musicfusion.symbolic.excerpts import excerpt_notes
from musicfusion.symbolic.notes import NoteEvent
from musicfusion.symbolic.render import MEDIA_FILES, render_clip

log = logging.getLogger(__name__)

# The labels a preset gives every clip; its split is stratified by both.
LABELS = ("style", "instrument")


@dataclass(frozen=True)
class Candidate:
    style: str
    source_path: str  # relative to the music21 corpus
    number: int | None  # tune number inside an ABC collection

    @property
    def key(self) -> str:
        return self.source_path if self.number is None else f"{self.source_path}#{self.number}"


def corpus_candidates(styles: dict) -> dict[str, list[Candidate]]:
    """List the corpus works of each style, in a stable order, from the metadata bundle."""
    from music21 import corpus

    # The bundle's entry dict is read directly: iterating the bundle object is ~30 s.
    entries = corpus.corpora.CoreCorpus().metadataBundle._metadataEntries
    found: dict[str, list[Candidate]] = {style: [] for style in styles}
    for entry in entries.values():
        source = str(entry.sourcePath)
        for style, rule in styles.items():
            if any(fnmatch.fnmatch(source, pat) for pat in rule["include"]) and not any(
                    fnmatch.fnmatch(source, pat) for pat in rule.get("exclude", [])):
                number = int(entry.number) if entry.number not in (None, "") else None
                found[style].append(Candidate(style, source, number))
    for style, cands in found.items():
        if not cands:
            raise RuntimeError(f"style {style!r}: no corpus work matches {styles[style]['include']}")
        cands.sort(key=lambda c: (c.source_path, c.number or 0))
    return found


def clip_text(text: str, mask_words: list[str]) -> str:
    """A work's title and lyrics (:func:`musicfusion.data.presets.corpus_cache.score_text`), cleaned
    (:func:`musicfusion.data.presets.corpus_text.clean_text`)."""
    return clean_text(unicodedata.normalize("NFC", text), mask_words)


def melody_signature(melody: tuple[int, ...], n_intervals: int) -> str:
    """The first ``n_intervals`` melodic intervals of a work's first part: one tune in any key or setting."""
    if len(melody) <= n_intervals:
        return ""  # too short to tell tunes apart
    return " ".join(str(b - a) for a, b in zip(melody, melody[1:n_intervals + 1]))


def notes_signature(notes: list[NoteEvent], seconds_per_pulse: float) -> str:
    """The excerpt's notes in pulses (tempo-free): equal for two encodings of the same music."""
    return ";".join(f"{n.pitch}@{n.start / seconds_per_pulse:.3f}" for n in notes)


def _parse(candidate: Candidate):
    from music21 import corpus, stream

    # forceSource: music21's own pickles would go to a temporary folder outside the project;
    # collect keeps its readings in the corpus cache instead (musicfusion.data.presets.corpus_cache).
    if candidate.number is None:
        parsed = corpus.parse(candidate.source_path, forceSource=True)
    else:
        parsed = corpus.parse(candidate.source_path, number=candidate.number, forceSource=True)
    if isinstance(parsed, stream.Opus):  # a collection file listed as one work: take its first tune
        parsed = parsed.scores[0]
    return parsed


def _corpus_file(candidate: Candidate) -> Path:
    from music21 import common

    return Path(common.getCorpusFilePath()) / candidate.source_path


@dataclass(frozen=True)
class ClipJob:
    clip_id: str
    candidate: Candidate
    instrument: str
    program: int
    pulse_bpm: float
    out_dir: str
    clip_seconds: float
    settings: dict
    corpus_cache: str | None = None  # where readings of corpus works are kept between runs


# The files of a rendered clip: (manifest path column prefix, extension).
CLIP_FILES = (*MEDIA_FILES, ("text", "txt"))
# Keys that tie a clip to others in one group: its work, and exact duplicates of its notes or text,
# and the same tune (melody incipit) in another setting.
DUPLICATE_KINDS = ("notes", "text")
GROUP_KEYS = ("work", *DUPLICATE_KINDS, "melody")


def _digest(value: str) -> str:
    return hashlib.sha1(value.encode("utf-8")).hexdigest()[:16] if value else ""


def build_clip(job: ClipJob) -> dict | None:
    """Render one clip's files (audio, video, text and the score they are made from); return its
    manifest row, or None if the work is unusable.

    The row's ``keys`` (:data:`GROUP_KEYS`) say which clips belong together; not written.
    """
    s = job.settings
    try:
        reading = read_work(functools.partial(_parse, job.candidate), _corpus_file(job.candidate),
                            job.candidate.number, job.corpus_cache)
        notes = excerpt_notes(reading.timeline, job.clip_seconds, job.pulse_bpm, s["max_repeats"])
        # Usability and the notes key are judged at one fixed tempo (the fastest, which fits the
        # most music in a clip), so neither depends on the tempo drawn for this clip: a drawn
        # tempo must not decide which works a style keeps, and copies of a work must match
        # whatever their tempi.
        fastest = float(s["pulse_bpm"][1])
        reference = excerpt_notes(reading.timeline, job.clip_seconds, fastest, s["max_repeats"])
        text = clip_text(reading.text, s["mask_words"])
        melody = melody_signature(reading.melody, s["melody_intervals"])
        work = reading.parent_title or job.candidate.key
    except Exception as err:  # noqa: BLE001 - a corpus encoding music21 cannot read is skipped
        log.warning("skip %s: cannot read the score: %r", job.candidate.key, err)
        return None
    if len(reference) < s["min_notes"]:
        log.warning("skip %s: %d notes in the excerpt at %s pulses a minute", job.candidate.key, len(reference),
                    fastest)
        return None
    if not re.search(r"\w", text):
        log.warning("skip %s: no title or lyrics", job.candidate.key)
        return None
    out = Path(job.out_dir)
    rel = {**render_clip(notes, job.program, out, job.clip_id, s, job.clip_seconds), "text": f"clips/{job.clip_id}.txt"}
    (out / rel["text"]).write_text(text + "\n", encoding="utf-8")
    title = text.splitlines()[0]
    keys = {"work": f"work:{work}", "notes": _digest(notes_signature(reference, 60.0 / fastest)),
            "text": _digest(" ".join(text.lower().split())), "melody": _digest(melody)}
    return {"clip_id": job.clip_id, "style": job.candidate.style, "instrument": job.instrument,
            "audio_path": rel["audio"], "video_path": rel["video"], "text_path": rel["text"],
            "score_path": rel["score"],
            "title": title, "source": job.candidate.key, "work": work, "program": job.program,
            "pulse_bpm": job.pulse_bpm, "n_notes": len(notes), "keys": keys}


def assign_groups(rows: list[dict]) -> tuple[list[str], pd.DataFrame]:
    """Each clip's group, and the exact duplicates found.

    Clips sharing any of their ``keys`` (same work, same notes, same text, same melody incipit)
    are joined, transitively, so no split can separate them. A group is named after the work of
    its first clip. The duplicates table lists every clip whose notes or text equal an earlier
    clip's: ``clip_id, duplicate_of, kind, group``.
    """
    parent = list(range(len(rows)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    first_with: dict[tuple[str, str], int] = {}
    duplicates = []
    for i, row in enumerate(rows):
        for kind in GROUP_KEYS:
            value = row["keys"][kind]
            if not value:
                continue
            j = first_with.setdefault((kind, value), i)
            if j != i:
                parent[root(i)] = root(j)
                if kind in DUPLICATE_KINDS:
                    duplicates.append({"clip_id": row["clip_id"], "duplicate_of": rows[j]["clip_id"], "kind": kind})
    members: dict[int, list[int]] = {}
    for i in range(len(rows)):
        members.setdefault(root(i), []).append(i)
    names = {r: rows[min(m, key=lambda i: rows[i]["clip_id"])]["work"] for r, m in members.items()}
    groups = [names[root(i)] for i in range(len(rows))]
    group_of = {row["clip_id"]: g for row, g in zip(rows, groups)}
    table = pd.DataFrame(duplicates, columns=["clip_id", "duplicate_of", "kind"])
    table["group"] = table["clip_id"].map(group_of)
    return groups, table.sort_values(["clip_id", "kind"]).reset_index(drop=True)


def collect_dataset(collect_params: dict, seed: int, out_dir: str | Path, workers: int = 1,
                    corpus_cache: str | Path | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Build a preset into ``out_dir`` (clips/ + manifest.csv). The result depends only on params and seed.

    ``collect_params`` is one preset's settings: params.yaml's ``collect`` section with that
    preset under ``preset`` (musicfusion.plumbing.config.collect_settings). Returns the manifest and
    the exact duplicates found (:func:`assign_groups`); the caller writes the latter. What is read
    from each corpus work is kept in ``corpus_cache`` for the next build
    (musicfusion.data.presets.corpus_cache); it never changes the result.
    """
    preset = collect_params["preset"]
    out_dir = Path(out_dir)
    clips_dir = out_dir / "clips"
    if clips_dir.exists():
        shutil.rmtree(clips_dir)
    clips_dir.mkdir(parents=True)
    settings = {k: collect_params[k] for k in ("soundfont", "render_sample_rate", "gain", "max_repeats",
                                               "min_notes", "video", "mask_words", "melody_intervals",
                                               "pulse_bpm")}
    candidates = corpus_candidates(collect_params["styles"])
    instruments = sorted(collect_params["instruments"].items(), key=lambda kv: kv[1])
    rng = np.random.default_rng(seed)
    # Draw each style's works and instruments up front so the result does not depend on
    # which worker finishes first; extra works stand in for any that cannot be rendered.
    queues = {}
    for style in sorted(candidates):
        cands = candidates[style]
        order = rng.permutation(len(cands))
        queues[style] = [cands[i] for i in order]
    # Instruments go round a seeded cycle within each style, so every style is heard on every
    # instrument about equally often and instrument is independent of style.
    cycles = {style: rng.permutation(len(instruments)) for style in sorted(queues)}
    # Tempo is drawn per clip from one range for every style: it tells nothing about the class.
    low, high = collect_params["pulse_bpm"]
    tempi = {style: np.round(rng.uniform(low, high, size=len(queues[style])), 1) for style in sorted(queues)}
    per_class = int(preset["clips_per_class"])
    rows: list[dict] = []
    with ProcessPoolExecutor(max_workers=max(1, workers)) as pool:
        for style in sorted(queues):
            taken: list[dict] = []
            queue = queues[style]
            pos = 0
            while len(taken) < per_class:
                batch = queue[pos:pos + (per_class - len(taken)) + 2]
                if not batch:
                    raise RuntimeError(f"style {style!r}: only {len(taken)} usable works, "
                                       f"{per_class} asked for")
                jobs = []
                for j, cand in enumerate(batch):
                    name, program = instruments[int(cycles[style][(pos + j) % len(instruments)])]
                    clip_id = f"{style}-{pos + j:04d}"
                    jobs.append(ClipJob(clip_id, cand, name, program, float(tempi[style][pos + j]), str(out_dir),
                                        float(preset["clip_seconds"]), settings,
                                        None if corpus_cache is None else str(corpus_cache)))
                pos += len(batch)
                for job, row in zip(jobs, pool.map(build_clip, jobs)):
                    if row is None:
                        continue
                    if len(taken) < per_class:
                        taken.append(row)
                    else:  # rendered ahead but not needed: keep the output deterministic
                        for key in (f"{kind}_path" for kind, _ in CLIP_FILES):
                            (out_dir / row[key]).unlink(missing_ok=True)
            rows.extend(taken)
    rows.sort(key=lambda row: row["clip_id"])
    groups, duplicates = assign_groups(rows)
    frame = pd.DataFrame([{k: v for k, v in row.items() if k != "keys"} for row in rows])
    frame.insert(1, "group", groups)
    frame.insert(1, "split", dataset_split(frame, list(LABELS), collect_params["splits"], seed))
    write_csv(out_dir / "manifest.csv", frame)
    return frame, duplicates
