"""Collect: build the embedded multimodal dataset offline from the music21 corpus.

Each clip is a fixed-length excerpt of a real score: audio rendered through FluidSynth with a
General MIDI soundfont, a piano-roll video in sync with it, and the work's title and lyrics
as text with the words that name the class masked.
"""

from __future__ import annotations

import fnmatch
import logging
import re
import shutil
import unicodedata
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from musicfusion.io import write_csv
from musicfusion.render import NoteEvent, piano_roll_frames, render_audio, write_video
from musicfusion.splits import stratified_splits

log = logging.getLogger(__name__)

_FILENAME_TITLE = re.compile(r"\.(mxl|xml|musicxml|krn|abc|rntxt|mid)$", re.IGNORECASE)


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


def _score_tempo(score, default_bpm: float) -> float:
    from music21 import tempo

    mark = score.recurse().getElementsByClass(tempo.MetronomeMark).first()
    if mark is not None and mark.number:
        bpm = float(mark.getQuarterBPM() or mark.number)
        if 30 <= bpm <= 240:
            return bpm
    return float(default_bpm)


def excerpt_notes(score, clip_seconds: float, default_bpm: float, max_repeats: int) -> list[NoteEvent]:
    """The notes sounding in the first ``clip_seconds`` of the score, tunes repeated if short."""
    bpm = _score_tempo(score, default_bpm)
    seconds_per_quarter = 60.0 / bpm
    parts = list(score.parts) or [score]
    one_pass: list[NoteEvent] = []
    for voice, part in enumerate(parts):
        for element in part.stripTies().flatten().notes:
            start = float(element.offset) * seconds_per_quarter
            end = start + float(element.duration.quarterLength) * seconds_per_quarter
            if end <= start:
                continue  # grace notes carry no duration
            for pitch in element.pitches:
                one_pass.append(NoteEvent(int(pitch.midi), start, end, voice))
    if not one_pass:
        return []
    length = float(score.highestTime) * seconds_per_quarter
    notes: list[NoteEvent] = []
    for repeat in range(max(1, max_repeats)):
        shift = repeat * length
        if shift >= clip_seconds:
            break
        for note in one_pass:
            start = note.start + shift
            if start < clip_seconds:
                notes.append(NoteEvent(note.pitch, start, min(note.end + shift, clip_seconds), note.voice))
    notes.sort(key=lambda n: (n.start, n.pitch, n.voice))
    return notes


def mask_text(text: str, mask_words: list[str], token: str) -> str:
    for word in sorted(mask_words, key=len, reverse=True):
        text = re.sub(rf"(?i)\b{re.escape(word)}\w*", token, text)
    return text


def clip_text(score, mask_words: list[str], mask_token: str) -> str:
    """Title plus lyrics of the first part that has the most, with label words masked."""
    from music21 import text as m21text

    md = score.metadata
    title = ""
    for candidate in (getattr(md, "title", None), getattr(md, "movementName", None)):
        if candidate and not _FILENAME_TITLE.search(str(candidate)):
            title = str(candidate)
            break
    lyrics = ""
    for part in (list(score.parts) or [score]):
        try:
            words = m21text.assembleLyrics(part)
        except Exception:  # noqa: BLE001 - music21 raises assorted errors on odd lyrics
            words = ""
        if len(words) > len(lyrics):
            lyrics = words
    lyrics = lyrics.replace("\u00ad", "").replace("\u203f", " ")
    body = "\n".join(s.strip() for s in (title, lyrics) if s and s.strip())
    body = unicodedata.normalize("NFC", body)
    return mask_text(body, mask_words, mask_token).strip()


def _parse(candidate: Candidate):
    from music21 import corpus, stream

    if candidate.number is None:
        parsed = corpus.parse(candidate.source_path)
    else:
        parsed = corpus.parse(candidate.source_path, number=candidate.number)
    if isinstance(parsed, stream.Opus):  # a collection file listed as one work: take its first tune
        parsed = parsed.scores[0]
    return parsed


@dataclass(frozen=True)
class ClipJob:
    clip_id: str
    candidate: Candidate
    instrument: str
    program: int
    out_dir: str
    clip_seconds: float
    settings: dict


def build_clip(job: ClipJob) -> dict | None:
    """Render one clip's three files; return its manifest row, or None if the work is unusable."""
    s = job.settings
    try:
        score = _parse(job.candidate)
        notes = excerpt_notes(score, job.clip_seconds, s["default_bpm"], s["max_repeats"])
        text = clip_text(score, s["mask_words"], s["mask_token"])
    except Exception as err:  # noqa: BLE001 - a corpus encoding music21 cannot read is skipped
        log.warning("skip %s: cannot read the score: %r", job.candidate.key, err)
        return None
    if len(notes) < s["min_notes"]:
        log.warning("skip %s: %d notes in the excerpt", job.candidate.key, len(notes))
        return None
    if not re.search(r"\w", text):
        log.warning("skip %s: no title or lyrics", job.candidate.key)
        return None
    out = Path(job.out_dir)
    audio = render_audio(notes, job.program, s["soundfont"], s["render_sample_rate"], s["gain"],
                         job.clip_seconds)
    rel = {m: f"clips/{job.clip_id}.{ext}" for m, ext in (("audio", "wav"), ("video", "mp4"), ("text", "txt"))}
    import soundfile as sf

    sf.write(out / rel["audio"], audio, s["render_sample_rate"], subtype="PCM_16")
    v = s["video"]
    frames = piano_roll_frames(notes, job.clip_seconds, v["fps"], v["width"], v["height"],
                               v["window_seconds"], v["lowest_pitch"], v["highest_pitch"])
    write_video(frames, out / rel["video"], v["fps"], v["width"], v["height"])
    (out / rel["text"]).write_text(text + "\n", encoding="utf-8")
    title = text.splitlines()[0]
    return {"clip_id": job.clip_id, "style": job.candidate.style, "instrument": job.instrument,
            "audio_path": rel["audio"], "video_path": rel["video"], "text_path": rel["text"],
            "title": title, "source": job.candidate.key, "program": job.program,
            "n_notes": len(notes)}


def collect_dataset(collect_params: dict, seed: int, out_dir: str | Path, workers: int = 1) -> pd.DataFrame:
    """Build a preset into ``out_dir`` (clips/ + manifest.csv). The result depends only on params and seed.

    ``collect_params`` is one preset's settings: params.yaml's ``collect`` section with that
    preset under ``preset`` (musicfusion.config.collect_settings).
    """
    preset = collect_params["preset"]
    out_dir = Path(out_dir)
    clips_dir = out_dir / "clips"
    if clips_dir.exists():
        shutil.rmtree(clips_dir)
    clips_dir.mkdir(parents=True)
    settings = {k: collect_params[k] for k in ("soundfont", "render_sample_rate", "gain", "default_bpm",
                                               "max_repeats", "min_notes", "video", "mask_words",
                                               "mask_token")}
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
                    jobs.append(ClipJob(clip_id, cand, name, program, str(out_dir),
                                        float(preset["clip_seconds"]), settings))
                pos += len(batch)
                for job, row in zip(jobs, pool.map(build_clip, jobs)):
                    if row is None:
                        continue
                    if len(taken) < per_class:
                        taken.append(row)
                    else:  # rendered ahead but not needed: keep the output deterministic
                        for key in ("audio_path", "video_path", "text_path"):
                            (out_dir / row[key]).unlink(missing_ok=True)
            rows.extend(taken)
    frame = pd.DataFrame(rows)
    frame.insert(1, "split", stratified_splits(frame["style"], collect_params["splits"], seed))
    frame = frame.sort_values("clip_id").reset_index(drop=True)
    write_csv(out_dir / "manifest.csv", frame)
    return frame
