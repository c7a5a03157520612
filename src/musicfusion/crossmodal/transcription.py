"""Audio -> score: polyphonic notes read off basic-pitch's posteriorgrams, scored against the
notes each clip was rendered from (mir_eval's note-level transcription metrics).

A cross-modal step with an exact answer: every preset clip's audio is FluidSynth playing its
score, so how much of the score comes back from the audio says how much of it the audio carries.
The network is run by :mod:`musicfusion.features.pitch_cnn`; turning its ``note`` and ``onset``
posteriorgrams into notes (:func:`notes_from_activations`) follows the usual recipe of
basic-pitch's note creation, written anew here:

- a note starts at a peak in time of a key's onset activation above ``onset_threshold``;
- it lasts while that key's note activation stays at or above ``frame_threshold``, dips of up to
  ``gap_frames`` frames bridged, and at the latest until the key's next onset (a repeated note is
  two notes); it ends after its last frame at or above the threshold;
- notes shorter than ``min_note_seconds`` are dropped;
- with ``frame_notes``, stretches of note activation that no onset claimed (nor a claimed note
  on a neighbouring key, where a note's energy spills over) become notes too, under the same rules;
- with ``infer_onsets``, a sharp rise of a key's note activation counts as onset evidence too
  (soft attacks, e.g. organ or strings, whose onset activation stays low).

Times: :func:`pitch_cnn.activations` stitches 2 s windows, each giving 142 frames (172 less the
overlap) while the windows start only 141.27 frames (36,164 samples) apart in the audio; frame
index / 86.13 Hz would run 8.5 ms a window ahead, about 50 ms (mir_eval's onset tolerance) by the
end of a 10 s clip. :func:`frame_times` places each frame in its own window instead. Then
``latency_seconds`` moves every note back by the delay between a note's start and the network's
response to it, which is longer for slow attacks (about 10 ms for piano and guitar, 25-50 ms for
organ, strings and choir on the default preset).
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd

from musicfusion.data.scores import check_notes, sort_notes
from musicfusion.features.pitch_cnn import (
    FRAME_HOP,
    LOWEST_MIDI,
    MODEL_SAMPLE_RATE,
    OVERLAP_FRAMES,
    WINDOW_SAMPLES,
    activations,
    onset_peaks,
)

# Chosen on the default preset's train + validation clips (289 of 360; the dataset's own split), for
# the mean of the F-measures with and without offsets (0.629 there; 0.612 on the 71 test clips,
# scored once): higher thresholds than basic-pitch's own (onset 0.5, frame 0.3, 11 frames of
# tolerance), which find twice as many notes as are played. Within 0.05 of these thresholds the
# score drops by at most 0.018; a latency of 0.05 s instead of 0.04 s costs 0.039 (the onset delay
# is about 10 ms for piano and guitar, 30-40 ms for choir, organ and strings).
DEFAULT_SETTINGS = {
    "onset_threshold": 0.65,
    "frame_threshold": 0.55,
    "min_note_seconds": 0.06,
    "gap_frames": 22,
    "frame_notes": False,
    "infer_onsets": True,
    "latency_seconds": 0.04,
}
SETTING_KEYS = tuple(DEFAULT_SETTINGS)
# Output frames each stitched window keeps (the network gives 172 a window), and the audio
# samples between window starts.
MODEL_WINDOW_FRAMES = 172
KEPT_FRAMES = MODEL_WINDOW_FRAMES - OVERLAP_FRAMES
WINDOW_HOP = WINDOW_SAMPLES - OVERLAP_FRAMES * FRAME_HOP
SCORE_KEYS = ("precision", "recall", "f_measure", "precision_no_offset", "recall_no_offset",
              "f_measure_no_offset", "n_reference", "n_estimate")


def check_settings(settings: dict) -> dict:
    """The settings with defaults filled in; unknown keys or out-of-range values raise ValueError."""
    unknown = sorted(set(settings) - set(SETTING_KEYS))
    if unknown:
        raise ValueError(f"transcription settings: unknown {unknown}; known: {list(SETTING_KEYS)}")
    out = {**DEFAULT_SETTINGS, **settings}
    for key in ("onset_threshold", "frame_threshold"):
        if not 0.0 <= float(out[key]) <= 1.0:
            raise ValueError(f"transcription settings: {key} must be in [0, 1], not {out[key]}")
    if float(out["min_note_seconds"]) < 0 or int(out["gap_frames"]) < 0:
        raise ValueError("transcription settings: min_note_seconds and gap_frames must be >= 0")
    return out


def frame_times(n_frames: int) -> np.ndarray:
    """Start time in seconds of each of ``n_frames`` stitched frames, and of the frame after the
    last (``n_frames + 1`` values): frame ``f`` of window ``f // KEPT_FRAMES`` is that window's
    start in the audio plus ``f % KEPT_FRAMES`` hops."""
    f = np.arange(n_frames + 1)
    return ((f // KEPT_FRAMES) * WINDOW_HOP + (f % KEPT_FRAMES) * FRAME_HOP) / MODEL_SAMPLE_RATE


def _inferred_onsets(note: np.ndarray, onset: np.ndarray) -> np.ndarray:
    """Onset evidence with rises of the note activation added: the smaller of the rises over one
    and two frames, scaled to the onset activation's range, wherever it beats the onset's own."""
    pad = np.zeros((2, note.shape[1]))
    padded = np.vstack([pad, note])
    rise = np.minimum(padded[2:] - padded[1:-1], padded[2:] - padded[:-2]).clip(min=0.0)
    rise[:2] = 0.0  # the clip's first frames rise from the padding, not from the music
    top = rise.max()
    if top > 0:
        rise *= onset.max() / top
    return np.maximum(onset, rise)


def _bridged(active: np.ndarray, gap_frames: int) -> np.ndarray:
    """``active`` with each run of inactive frames of at most ``gap_frames`` between two active
    frames (of the same key) filled in."""
    n = len(active)
    idx = np.arange(n)[:, None]
    prev = np.maximum.accumulate(np.where(active, idx, -1), axis=0)
    nxt = np.minimum.accumulate(np.where(active, idx, n)[::-1], axis=0)[::-1]
    gap = (prev >= 0) & (nxt < n) & (nxt - prev - 1 <= gap_frames)
    return active | gap


def _runs_from(starts_t: np.ndarray, starts_k: np.ndarray, mask: np.ndarray, stops: np.ndarray,
               gap_frames: int) -> np.ndarray:
    """End frame (exclusive) of the note starting at each (t, k): the end of the bridged run of
    ``mask`` through the start, cut at ``stops``, trimmed back to the last ``mask`` frame."""
    n = len(mask)
    idx = np.arange(n)[:, None]
    bridged = _bridged(mask, gap_frames)
    run_end = np.minimum.accumulate(np.where(bridged, n, idx)[::-1], axis=0)[::-1]
    last_on = np.maximum.accumulate(np.where(mask, idx, -1), axis=0)
    stop = np.minimum(run_end[starts_t, starts_k], stops)
    return np.maximum(starts_t, last_on[stop - 1, starts_k]) + 1


def notes_from_activations(note: np.ndarray, onset: np.ndarray, settings: dict | None = None) -> np.ndarray:
    """Notes (rows onset_s, offset_s, midi_pitch; sorted by onset then pitch) from one clip's
    ``note`` and ``onset`` posteriorgrams (T, 88), as described in the module docstring."""
    s = check_settings(settings or {})
    note = np.asarray(note, dtype=np.float64)
    onset = np.asarray(onset, dtype=np.float64)
    if note.shape != onset.shape or note.ndim != 2:
        raise ValueError(f"note and onset posteriorgrams must have one (T, keys) shape: {note.shape}, {onset.shape}")
    n, n_keys = note.shape
    if n == 0:
        return np.zeros((0, 3))
    gap = int(s["gap_frames"])
    evidence = _inferred_onsets(note, onset) if s["infer_onsets"] else onset
    peaks = onset_peaks(evidence, float(s["onset_threshold"]))
    active = note >= float(s["frame_threshold"])
    # Onsets key by key in time order: each note stops at the latest at its key's next onset.
    k, t = np.nonzero(peaks.T)
    nxt = np.append(t[1:], n)
    nxt[np.append(k[1:] != k[:-1], True)] = n
    end = _runs_from(t, k, active | peaks, nxt, gap)
    starts, ends, keys = [t], [end], [k]
    if s["frame_notes"]:
        # Frames of the onset notes, on their keys and the keys either side, marked +1 at a
        # note's first frame and -1 after its last: a running sum > 0 is claimed.
        marks = np.zeros((n + 1, n_keys + 2), dtype=np.int64)
        for shift in (0, 1, 2):
            np.add.at(marks, (t, k + shift), 1)
            np.add.at(marks, (end, k + shift), -1)
        claimed = np.cumsum(marks, axis=0)[:n, 1:-1] > 0
        free = active & ~claimed
        bridged = _bridged(free, gap)
        first = bridged & ~np.vstack([np.zeros((1, n_keys), bool), bridged[:-1]])
        ft, fk = np.nonzero(first)
        starts.append(ft)
        ends.append(_runs_from(ft, fk, free, np.full(len(ft), n), gap))
        keys.append(fk)
    t, end, k = np.concatenate(starts), np.concatenate(ends), np.concatenate(keys)
    # The network hears a note a little after it starts: times move back by the latency, not before 0.
    times = np.maximum(frame_times(n) - float(s["latency_seconds"]), 0.0)
    rows = np.column_stack([times[t], times[end], k + LOWEST_MIDI]).astype(np.float64)
    length = rows[:, 1] - rows[:, 0]
    rows = rows[(length > 0) & (length >= float(s["min_note_seconds"]) - 1e-9)]
    return rows[np.lexsort((rows[:, 2], rows[:, 0]))]


def reference_notes(notes: np.ndarray, seconds_per_quarter: float) -> np.ndarray:
    """Score note rows (pitch, onset, duration in quarter notes: musicfusion.data.scores) as rows
    (onset_s, offset_s, midi), sorted by onset then pitch. Notes of no duration (inaudible, and
    invalid intervals for mir_eval) are dropped."""
    notes = np.asarray(notes, dtype=np.float64).reshape(-1, 3)
    notes = notes[notes[:, 2] > 0]
    rows = np.column_stack([notes[:, 1] * seconds_per_quarter, (notes[:, 1] + notes[:, 2]) * seconds_per_quarter,
                            notes[:, 0]])
    return rows[np.lexsort((rows[:, 2], rows[:, 0]))]


def score_transcription(reference: np.ndarray, estimate: np.ndarray) -> dict:
    """mir_eval note precision, recall and F-measure of ``estimate`` against ``reference`` (rows
    onset_s, offset_s, midi): with offsets (mir_eval's default offset_ratio 0.2) and onset-only
    (``*_no_offset``); 50 ms onset and 50 cent pitch tolerance. With no reference or no estimated
    note the scores are 0 (mir_eval warns and returns 0 there too; it is not called), since
    nothing was found or there was nothing to find."""
    import mir_eval

    reference = np.asarray(reference, dtype=np.float64).reshape(-1, 3)
    estimate = np.asarray(estimate, dtype=np.float64).reshape(-1, 3)
    out = dict.fromkeys(SCORE_KEYS[:6], 0.0)
    out.update(n_reference=len(reference), n_estimate=len(estimate))
    if not len(reference) or not len(estimate):
        return out
    args = (reference[:, :2], mir_eval.util.midi_to_hz(reference[:, 2]),
            estimate[:, :2], mir_eval.util.midi_to_hz(estimate[:, 2]))
    p, r, f, _ = mir_eval.transcription.precision_recall_f1_overlap(*args)
    p0, r0, f0, _ = mir_eval.transcription.precision_recall_f1_overlap(*args, offset_ratio=None)
    out.update(precision=p, recall=r, f_measure=f, precision_no_offset=p0, recall_no_offset=r0, f_measure_no_offset=f0)
    return out


def transcribe(signal: np.ndarray, sample_rate: int, settings: dict) -> np.ndarray:
    """One clip's notes (rows onset_s, offset_s, midi) as basic-pitch hears its audio."""
    acts = activations(signal, sample_rate)
    return notes_from_activations(acts["note"], acts["onset"], settings)


def transcribe_and_score(clip_ids: list[str], clips_audio: list[np.ndarray], sample_rate: int,
                         reference_rows_per_clip: list[np.ndarray], settings: dict | None = None) -> pd.DataFrame:
    """Transcribe each clip's audio with basic-pitch and score it against its reference notes
    (rows onset_s, offset_s, midi, e.g. from :func:`reference_notes`): one row per clip, the
    columns ``clip_id``, :data:`SCORE_KEYS` and ``seconds`` (the clip's transcription time)."""
    if not len(clip_ids) == len(clips_audio) == len(reference_rows_per_clip):
        raise ValueError(f"{len(clip_ids)} clip ids, {len(clips_audio)} clips, "
                         f"{len(reference_rows_per_clip)} references: one each per clip")
    settings = check_settings(settings or {})
    rows = []
    for clip_id, signal, reference in zip(clip_ids, clips_audio, reference_rows_per_clip):
        start = time.perf_counter()
        estimate = transcribe(signal, sample_rate, settings)
        seconds = time.perf_counter() - start
        rows.append({"clip_id": clip_id, **score_transcription(reference, estimate), "seconds": seconds})
    return pd.DataFrame(rows, columns=["clip_id", *SCORE_KEYS, "seconds"])


def score_rows(notes: np.ndarray, seconds_per_quarter: float) -> np.ndarray:
    """Transcribed notes (rows onset_s, offset_s, midi) as score note rows (pitch, onset, duration in
    quarter notes: musicfusion.data.scores), the inverse of :func:`reference_notes`."""
    notes = np.asarray(notes, dtype=np.float64).reshape(-1, 3)
    rows = np.column_stack([notes[:, 2], notes[:, 0] / seconds_per_quarter,
                            (notes[:, 1] - notes[:, 0]) / seconds_per_quarter])
    return sort_notes(check_notes(rows, "transcribed notes"))


def derived_scores(clip_ids, clips_audio, sample_rate: int, settings: dict, min_notes: int,
                   seconds_per_quarter: float) -> tuple[dict, list[str]]:
    """A shard's ``score`` modality transcribed from its audio, for a dataset that has no scores of its
    own: the content of a score interim shard (``clip_ids``, flat ``notes`` rows of pitch, onset and
    duration in quarter notes of ``seconds_per_quarter``, and ``lengths``), and the clips whose audio
    gave fewer than ``min_notes`` notes (their score is absent, as a silent or unpitched recording
    has none)."""
    settings = check_settings(settings)
    kept, notes, lengths, absent = [], [], [], []
    for clip_id, signal in zip(clip_ids, clips_audio):
        rows = score_rows(transcribe(signal, sample_rate, settings), seconds_per_quarter)
        if len(rows) < min_notes:
            absent.append(str(clip_id))
            continue
        kept.append(str(clip_id))
        notes.append(rows)
        lengths.append(len(rows))
    flat = np.concatenate(notes) if notes else np.zeros((0, 3))
    return {"clip_ids": np.array(kept, dtype=str), "notes": flat,
            "lengths": np.array(lengths, dtype=np.int64)}, absent
