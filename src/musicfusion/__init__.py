"""musicfusion: reproducible cross-modal learning in music (audio, video, text)."""

__version__ = "0.1.0"

MODALITIES = ("audio", "video", "text")
# Extracted per shard of clips; text features are fitted on each training split instead.
SHARD_MODALITIES = ("audio", "video")
