"""Snakemake script for rule transcription: the test clips' audio transcribed by the pitch CNN, scored
against the notes each was rendered from."""

from musicfusion.crossmodal.transcription import reference_notes, transcribe_and_score
from musicfusion.data.clip_table import has_modality
from musicfusion.evaluation.transcription import summarize
from musicfusion.features.shards import clips_by_id
from musicfusion.plumbing.files import load_npz, read_table, write_csv
from musicfusion.plumbing.scriptlog import log_to
from musicfusion.symbolic.render import SECONDS_PER_QUARTER

with log_to(snakemake.log[0]):
    params = snakemake.params
    clips = read_table(snakemake.input.clips)
    # The dataset's own test clips that have both the audio and the notes it was rendered from.
    wanted = clips[(clips["split"] == params.split).to_numpy() & has_modality(clips, "audio")
                   & has_modality(clips, "score")]
    audio = clips_by_id((load_npz(path) for path in snakemake.input.audio), "audio")
    notes = clips_by_id((load_npz(path) for path in snakemake.input.score), "score")
    ids = [clip_id for clip_id in wanted["clip_id"] if clip_id in audio and clip_id in notes]
    # The presets render each clip's notes at the MIDI files' own tempo, from time 0.
    per_clip = transcribe_and_score(ids, [audio[i] for i in ids], params.sample_rate,
                                    [reference_notes(notes[i], SECONDS_PER_QUARTER) for i in ids], params.settings)
    print(f"{len(ids)} clips in {per_clip['seconds'].sum():.1f} s "
          f"({per_clip['seconds'].sum() / max(len(ids), 1):.2f} s a clip)")
    write_csv(snakemake.output.clips, per_clip.drop(columns="seconds").round(6))
    table = summarize(per_clip, clips, [t for t in params.by if t in clips.columns], params.confidence)
    write_csv(snakemake.output.table, table)
    print(table[["group_by", "group", "n_clips", "f_measure", "f_measure_no_offset"]].to_string(index=False))
