"""musicfusion: reproducible cross-modal learning in music (audio, video, text, score)."""

__version__ = "0.1.0"

MODALITIES = ("audio", "video", "text", "score")
# The array of an interim shard that holds each modality's preprocessed media: audio samples,
# grey frames and a score's notes (pitch, onset, duration: musicfusion.data.scores) are stored
# ragged (one run per clip, with ``lengths``), texts one string per clip.
MEDIA_KEYS = {"audio": "audio", "video": "frames", "text": "text", "score": "notes"}


def modality_of(key: str) -> str:
    """The modality a feature set describes: a feature set is named by its modality (its own
    features) or ``<modality>.<set>`` (a further set, e.g. ``audio.pitch_cnn``)."""
    return key.split(".", 1)[0]
