"""The feature extractors of each modality, registered in one place.

Every caller (the workflow's extraction and control jobs, the robustness re-extraction, the
query path of ``musicfusion recommend``) looks a modality up here instead of branching on its
name. An entry says:

- ``media``: the interim shard's array holding the modality's preprocessed media
  (:data:`musicfusion.MEDIA_KEYS`);
- ``per_fold``: whether its content features are fitted on each fold's training clips (TF-IDF
  learns a vocabulary) rather than extracted clip by clip, once per shard;
- ``extract``: per-shard content features, ``(clips, settings, rates) -> (X, names)``, where
  ``settings`` is the modality's ``features`` section of params.yaml and ``rates`` the
  preprocessed ``sample_rate`` and ``fps`` (None for a modality fitted per fold);
- ``controls``: its shortcut controls, with the same signature and the modality's
  ``features.controls`` section.

Adding a modality's extractor is one entry here and its settings in params.yaml (the schema
test keeps :data:`EXTRACTORS` and the ``features`` section in step).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from musicfusion import MEDIA_KEYS


def _audio(clips, settings: dict, rates: dict):
    from musicfusion.features import audio

    return audio.extract(clips, rates["sample_rate"], settings)


def _video(clips, settings: dict, rates: dict):
    from musicfusion.features import video

    return video.extract(clips, settings)


def _score(clips, settings: dict, rates: dict):
    from musicfusion.features import score

    return score.extract(clips, settings)


def _audio_controls(clips, settings: dict, rates: dict):
    from musicfusion.features.controls import audio_controls

    return audio_controls(clips, rates["sample_rate"], settings)


def _video_controls(clips, settings: dict, rates: dict):
    from musicfusion.features.controls import video_controls

    return video_controls(clips, rates["fps"], settings)


def _text_controls(clips, settings: dict, rates: dict):
    from musicfusion.features.controls import text_controls

    return text_controls([str(t) for t in clips], settings)


def _score_controls(clips, settings: dict, rates: dict):
    from musicfusion.features.score import score_controls

    return score_controls(clips, settings)


@dataclass(frozen=True)
class Extractor:
    """How one modality's features are made (see the module docstring)."""

    modality: str
    per_fold: bool
    extract: Callable | None
    controls: Callable

    @property
    def media(self) -> str:
        return MEDIA_KEYS[self.modality]


# Imports are deferred into the functions: an extraction job pays only for its own modality.
EXTRACTORS: dict[str, Extractor] = {
    "audio": Extractor("audio", per_fold=False, extract=_audio, controls=_audio_controls),
    "video": Extractor("video", per_fold=False, extract=_video, controls=_video_controls),
    "text": Extractor("text", per_fold=True, extract=None, controls=_text_controls),
    "score": Extractor("score", per_fold=False, extract=_score, controls=_score_controls),
}


def extractor(modality: str) -> Extractor:
    if modality not in EXTRACTORS:
        raise ValueError(f"no feature extractor for modality {modality!r}; known: {sorted(EXTRACTORS)}")
    return EXTRACTORS[modality]


def per_shard(modality: str) -> bool:
    """Whether ``modality``'s content features are extracted once per shard (not fitted per fold)."""
    return not extractor(modality).per_fold


def shard_modalities(modalities=None) -> list[str]:
    """Those of ``modalities`` (every registered one by default) extracted per shard."""
    return [m for m in (modalities or EXTRACTORS) if per_shard(m)]
