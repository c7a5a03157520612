"""Snakemake script for rule derive_score: one shard's score modality transcribed from its audio."""

from musicfusion.crossmodal.transcription import derived_scores
from musicfusion.features.shards import shard_clips
from musicfusion.plumbing.files import load_npz, save_npz
from musicfusion.plumbing.scriptlog import log_to
from musicfusion.symbolic.render import SECONDS_PER_QUARTER

with log_to(snakemake.log[0]):
    params = snakemake.params
    shard = load_npz(snakemake.input.audio)
    # Written at the MIDI time base the presets' scores use, so score features read both alike.
    content, without_notes = derived_scores(shard["clip_ids"], shard_clips(shard, "audio"),
                                            params.sample_rate, params.settings, params.min_notes, SECONDS_PER_QUARTER)
    save_npz(snakemake.output[0], **content)
    print(f"{len(content['clip_ids'])} clips transcribed to scores "
          f"({int(content['lengths'].sum())} notes); {len(without_notes)} gave fewer than {params.min_notes} "
          f"notes, so their score is absent: {without_notes}")
