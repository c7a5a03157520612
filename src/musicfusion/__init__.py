"""musicfusion: reproducible cross-modal learning in music (audio, video, text)."""

__version__ = "0.1.0"

MODALITIES = ("audio", "video", "text")
