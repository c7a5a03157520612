"""The feature sets of each modality, registered in one place.

A feature set is named by its key: the bare modality (``audio``: MFCC, ``video``: HOG, ``text``:
TF-IDF, ``score``: music21's features) is the modality's own set, and ``<modality>.<set>`` is a
further one, such as ``audio.pitch_cnn`` (a pretrained transcription CNN,
:mod:`musicfusion.features.pitch_cnn`) or ``audio.<name>`` / ``video.<name>`` for any ONNX
embedding model configured under ``features.onnx_models.<name>``
(:mod:`musicfusion.features.onnx_embedding`). A run extracts each modality's own set and those
listed in ``features.extra_sets``; methods name the sets they read in their ``modalities``.

Every caller (the workflow's extraction and control jobs, the robustness re-extraction, the
query path of ``musicfusion recommend``) looks a feature set up here instead of branching on its
name. An entry says:

- ``media``: the interim shard's array holding the modality's preprocessed media
  (:data:`musicfusion.MEDIA_KEYS`);
- ``per_fold``: whether its content features are fitted on each fold's training clips (TF-IDF
  learns a vocabulary) rather than extracted clip by clip, once per shard;
- ``extract``: per-shard content features, ``(clips, settings, rates) -> (X, names)``, where
  ``settings`` is the modality's ``features`` section of params.yaml and ``rates`` the
  preprocessed ``sample_rate`` and ``fps`` (None for a modality fitted per fold);
- ``controls``: its shortcut controls, with the same signature and the modality's
  ``features.controls`` section (a modality's own set only);
- ``settings``: where its settings live in params.yaml ``features``;
- ``shortest``: the shortest clip it describes, in seconds, ``(settings, rates) -> float``.

Adding a feature set is one entry here and its settings in params.yaml (the schema test keeps
:data:`EXTRACTORS` and the ``features`` section in step).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from musicfusion import MEDIA_KEYS, modality_of


def _audio(clips, settings: dict, rates: dict):
    from musicfusion.features import audio

    return audio.extract(clips, rates["sample_rate"], settings)


def _video(clips, settings: dict, rates: dict):
    from musicfusion.features import video

    return video.extract(clips, settings)


def _score(clips, settings: dict, rates: dict):
    from musicfusion.features import score

    return score.extract(clips, settings)


def _audio_shortest(settings: dict, rates: dict) -> float:
    from musicfusion.features import audio

    return audio.shortest_seconds(settings, rates["sample_rate"])


def _video_shortest(settings: dict, rates: dict) -> float:
    from musicfusion.features import video

    return video.shortest_seconds(settings, rates["fps"])


def _pitch_cnn(clips, settings: dict, rates: dict):
    from musicfusion.features import pitch_cnn

    return pitch_cnn.extract(clips, rates["sample_rate"], settings)


def _pitch_cnn_shortest(settings: dict, rates: dict) -> float:
    from musicfusion.features import pitch_cnn

    return pitch_cnn.shortest_seconds(settings, rates["sample_rate"])


def _onnx(name: str):
    def extract(clips, settings: dict, rates: dict):
        from musicfusion.features import onnx_embedding

        return onnx_embedding.extract(clips, settings, rates, name)

    return extract


def _onnx_shortest(settings: dict, rates: dict) -> float:
    from musicfusion.features import onnx_embedding

    return onnx_embedding.shortest_seconds(settings, rates)


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
    """How one feature set is made (see the module docstring)."""

    modality: str
    per_fold: bool
    extract: Callable | None
    controls: Callable | None = None
    settings: tuple[str, ...] = ()
    shortest: Callable | None = None

    @property
    def media(self) -> str:
        return MEDIA_KEYS[self.modality]


# Imports are deferred into the functions: an extraction job pays only for its own feature set.
EXTRACTORS: dict[str, Extractor] = {
    "audio": Extractor("audio", per_fold=False, extract=_audio, controls=_audio_controls, settings=("audio",),
                       shortest=_audio_shortest),
    "video": Extractor("video", per_fold=False, extract=_video, controls=_video_controls, settings=("video",),
                       shortest=_video_shortest),
    "text": Extractor("text", per_fold=True, extract=None, controls=_text_controls, settings=("text",)),
    "score": Extractor("score", per_fold=False, extract=_score, controls=_score_controls, settings=("score",)),
    "audio.pitch_cnn": Extractor("audio", per_fold=False, extract=_pitch_cnn, settings=("pitch_cnn",),
                                 shortest=_pitch_cnn_shortest),
}
# Where params.yaml `features` configures ONNX embedding models, each a feature set <modality>.<name>.
ONNX_MODELS = "onnx_models"
ONNX_MODALITIES = ("audio", "video")


def extractor(key: str) -> Extractor:
    """The registered feature set ``key``; ``<audio|video>.<name>`` not registered is the ONNX
    model configured under ``features.onnx_models.<name>``."""
    if key in EXTRACTORS:
        return EXTRACTORS[key]
    modality, _, name = key.partition(".")
    if modality in ONNX_MODALITIES and name:
        return Extractor(modality, per_fold=False, extract=_onnx(name), settings=(ONNX_MODELS, name),
                         shortest=_onnx_shortest)
    raise ValueError(f"no feature set {key!r}; known: {sorted(EXTRACTORS)} and <audio|video>.<name> for "
                     f"an ONNX model in features.{ONNX_MODELS}")


def feature_settings(key: str, features: dict) -> dict:
    """The settings of feature set ``key`` in params.yaml ``features``."""
    settings = features
    for part in extractor(key).settings:
        if part not in settings:
            raise ValueError(f"feature set {key!r}: params.yaml has no features.{'.'.join(extractor(key).settings)}")
        settings = settings[part]
    if extractor(key).settings[0] == ONNX_MODELS and settings.get("modality") != modality_of(key):
        raise ValueError(f"feature set {key!r}: features.{ONNX_MODELS}.{key.partition('.')[2]} describes "
                         f"modality {settings.get('modality')!r}, not {modality_of(key)!r}")
    return settings


def run_feature_sets(features: dict, modalities) -> list[str]:
    """The feature sets a run extracts for a dataset of ``modalities``: each modality's own, then
    ``features.extra_sets`` of those modalities."""
    return [*modalities, *(key for key in features.get("extra_sets", []) if modality_of(key) in modalities)]


def shortest_clip_seconds(modality: str, features: dict, rates: dict, feature_sets) -> float:
    """The shortest clip of ``modality`` that every one of the run's ``feature_sets`` of that
    modality describes, in seconds: the longest of their ``shortest`` (0 for a set declaring none).

    ``features``: params.yaml ``features``; ``rates``: the preprocessed ``sample_rate`` and ``fps``.
    """
    needs = [extractor(key).shortest(feature_settings(key, features), rates)
             for key in feature_sets if modality_of(key) == modality and extractor(key).shortest is not None]
    return float(max(needs, default=0.0))


def per_shard(key: str) -> bool:
    """Whether feature set ``key`` is extracted once per shard (not fitted per fold)."""
    return not extractor(key).per_fold


def shard_modalities(modalities=None) -> list[str]:
    """Those of ``modalities`` (every registered feature set by default) extracted per shard."""
    return [m for m in (modalities or EXTRACTORS) if per_shard(m)]
