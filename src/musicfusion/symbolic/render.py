"""Turning a list of notes into media: a MIDI file, FluidSynth audio and a piano-roll video."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from musicfusion.symbolic.notes import NoteEvent

TICKS_PER_BEAT = 480
MIDI_TEMPO_BPM = 120  # the MIDI file's own clock; note times are already in seconds
# Seconds per quarter note of the MIDI files written here: a note array read back from one
# (musicfusion.data.scores.midi_notes, in quarter notes) times this is in seconds again.
SECONDS_PER_QUARTER = 60.0 / MIDI_TEMPO_BPM
# The media files of a rendered clip: (modality, extension); the text is written beside them.
MEDIA_FILES = (("audio", "wav"), ("video", "mp4"), ("score", "mid"))


def write_midi(notes: list[NoteEvent], program: int, path: Path, velocity: int = 90) -> None:
    """Write the notes as a one-track General MIDI file playing ``program``."""
    import mido

    seconds_per_tick = 60.0 / MIDI_TEMPO_BPM / TICKS_PER_BEAT
    messages = []
    for note in notes:
        on = round(note.start / seconds_per_tick)
        off = max(on + 1, round(note.end / seconds_per_tick))
        messages.append((off, 0, note.pitch))  # note-offs sort before note-ons at one tick
        messages.append((on, 1, note.pitch))
    messages.sort()
    track = mido.MidiTrack()
    track.append(mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(MIDI_TEMPO_BPM), time=0))
    track.append(mido.Message("program_change", program=program, channel=0, time=0))
    now = 0
    for tick, is_on, pitch in messages:
        kind = "note_on" if is_on else "note_off"
        track.append(mido.Message(kind, note=pitch, velocity=velocity if is_on else 0,
                                  channel=0, time=tick - now))
        now = tick
    midi = mido.MidiFile(ticks_per_beat=TICKS_PER_BEAT)
    midi.tracks.append(track)
    midi.save(str(path))


def fluidsynth_available() -> bool:
    return shutil.which("fluidsynth") is not None


def render_audio(notes: list[NoteEvent], program: int, soundfont: str | Path, sample_rate: int,
                 gain: float, clip_seconds: float) -> np.ndarray:
    """Render notes with FluidSynth; return float32 stereo samples (n, 2) of exactly clip length."""
    with tempfile.TemporaryDirectory(prefix="musicfusion-render-") as tmp:
        midi_path = Path(tmp) / "clip.mid"
        write_midi(notes, program, midi_path)
        return render_midi(midi_path, soundfont, sample_rate, gain, clip_seconds)


def render_midi(midi_path: str | Path, soundfont: str | Path, sample_rate: int, gain: float,
                clip_seconds: float) -> np.ndarray:
    """Render a MIDI file with FluidSynth; return float32 stereo samples (n, 2) of exactly clip length."""
    import soundfile as sf

    if not fluidsynth_available():
        raise RuntimeError("fluidsynth is not installed: run scripts/install.sh (Debian package fluidsynth)")
    if not Path(soundfont).is_file():
        raise RuntimeError(f"{soundfont}: soundfont not found (Debian package fluid-soundfont-gm)")
    with tempfile.TemporaryDirectory(prefix="musicfusion-render-") as tmp:
        wav_path = Path(tmp) / "clip.wav"
        # -n no MIDI input, -i no shell, -q quiet; chorus and reverb stay on (a real performance
        # space), both are deterministic in FluidSynth. Dynamic sample loading reads only the
        # samples of the instrument played instead of the whole 148 MB soundfont: half the time
        # of a render, the same samples out.
        cmd = ["fluidsynth", "-ni", "-q", "-g", str(gain), "-r", str(sample_rate), "-T", "wav",
               "-O", "float", "-o", "synth.dynamic-sample-loading=1", "-F", str(wav_path), str(soundfont),
               str(midi_path)]
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if proc.returncode != 0 or not wav_path.is_file():
            raise RuntimeError(f"fluidsynth failed ({proc.returncode}): {proc.stderr.strip()[:500]}")
        audio, sr = sf.read(wav_path, dtype="float32", always_2d=True)
    if sr != sample_rate:
        raise RuntimeError(f"fluidsynth wrote {sr} Hz, expected {sample_rate} Hz")
    n = int(round(clip_seconds * sample_rate))
    if len(audio) >= n:
        return audio[:n]
    return np.vstack([audio, np.zeros((n - len(audio), audio.shape[1]), dtype=np.float32)])


def pitch_class_colours(saturation: float, value: int) -> np.ndarray:
    """One BGR colour per pitch class (C = red, round the hue circle), uint8 (12, 3).

    Colour follows what the audio carries (pitch class), never how the score was encoded (its
    parts). A pale saturation keeps every colour's grey level well above the background.
    """
    import cv2

    hsv = np.zeros((1, 12, 3), dtype=np.uint8)
    hsv[0, :, 0] = np.arange(12) * 180 // 12  # OpenCV hue runs 0..179
    hsv[0, :, 1] = int(round(saturation * 255))
    hsv[0, :, 2] = value
    return cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR)[0]


# Pale enough that the darkest colour (blue) greys to ~140 on a background of 16.
_PITCH_COLOURS = pitch_class_colours(0.45, 235)


def piano_roll_frames(notes: list[NoteEvent], clip_seconds: float, fps: int, width: int, height: int,
                      window_seconds: float, lowest_pitch: int, highest_pitch: int):
    """Yield BGR uint8 frames of a scrolling piano roll, the playhead in the middle of the frame.

    Notes are coloured by pitch class (:func:`pitch_class_colours`), whatever part they are in."""
    import cv2

    px_per_second = width / window_seconds
    half = width // 2
    roll_width = int(np.ceil(clip_seconds * px_per_second)) + width
    span = highest_pitch - lowest_pitch + 1
    row = height / span
    roll = np.full((height, roll_width, 3), 16, dtype=np.uint8)
    for octave_c in range(lowest_pitch + (-lowest_pitch) % 12, highest_pitch + 1, 12):
        y = int(height - (octave_c - lowest_pitch + 1) * row)
        roll[y, :] = 48  # a faint line at every C, like the keyboard's octaves
    for note in notes:
        if not lowest_pitch <= note.pitch <= highest_pitch:
            continue
        x0 = half + int(note.start * px_per_second)
        x1 = max(x0 + 1, half + int(note.end * px_per_second) - 1)
        y1 = int(height - (note.pitch - lowest_pitch) * row)
        y0 = int(y1 - max(row, 2))
        colour = tuple(int(c) for c in _PITCH_COLOURS[note.pitch % 12])
        cv2.rectangle(roll, (x0, y0), (x1, y1 - 1), colour, thickness=-1)
    n_frames = int(round(clip_seconds * fps))
    for i in range(n_frames):
        left = int(round(i / fps * px_per_second))
        frame = roll[:, left:left + width].copy()
        cv2.line(frame, (half, 0), (half, height - 1), (255, 255, 255), 1)
        yield frame


def write_video(frames, path: Path, fps: int, width: int, height: int) -> None:
    """Write frames with the mp4v codec, which the pip OpenCV wheel both writes and reads."""
    import cv2

    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (width, height))
    if not writer.isOpened():
        raise RuntimeError(f"{path}: OpenCV cannot open an mp4v video writer")
    try:
        for frame in frames:
            writer.write(frame)
    finally:
        writer.release()


def note_events(notes: np.ndarray) -> list[NoteEvent]:
    """A note array (pitch, onset, duration in quarter notes: musicfusion.data.scores) as the
    events :func:`render_clip` plays, at the MIDI files' own tempo (:data:`SECONDS_PER_QUARTER`)."""
    return [NoteEvent(int(pitch), float(onset) * SECONDS_PER_QUARTER, float(onset + duration) * SECONDS_PER_QUARTER, 0)
            for pitch, onset, duration in np.asarray(notes, dtype=np.float64)]


def render_clip(notes: list[NoteEvent], program: int, out_dir: str | Path, clip_id: str, settings: dict,
                clip_seconds: float, modalities=("audio", "video", "score")) -> dict[str, str]:
    """Write one clip's media from its notes, as every preset clip is rendered: the MIDI file
    (the score), the audio FluidSynth renders from that file, and the piano-roll video.

    ``settings`` holds params.yaml ``collect``'s ``soundfont``, ``render_sample_rate``, ``gain``
    and ``video``. Returns each written modality's path relative to ``out_dir`` (clips/<id>.<ext>).
    The audio is rendered from the MIDI file, so asking for audio writes the score too.
    """
    import soundfile as sf

    out = Path(out_dir)
    (out / "clips").mkdir(parents=True, exist_ok=True)
    wanted = set(modalities) | ({"score"} if "audio" in modalities else set())
    rel = {m: f"clips/{clip_id}.{ext}" for m, ext in MEDIA_FILES if m in wanted}
    if "score" in rel:
        # The score is the MIDI file the audio is rendered from: exactly the notes heard and seen.
        write_midi(notes, program, out / rel["score"])
    if "audio" in rel:
        audio = render_midi(out / rel["score"], settings["soundfont"], settings["render_sample_rate"],
                            settings["gain"], clip_seconds)
        sf.write(out / rel["audio"], audio, settings["render_sample_rate"], subtype="PCM_16")
    if "video" in rel:
        v = settings["video"]
        frames = piano_roll_frames(notes, clip_seconds, v["fps"], v["width"], v["height"], v["window_seconds"],
                                   v["lowest_pitch"], v["highest_pitch"])
        write_video(frames, out / rel["video"], v["fps"], v["width"], v["height"])
    return rel
