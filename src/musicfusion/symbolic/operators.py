"""Musical operators of style transfer: each moves one attribute of a clip's notes toward a target style.

A clip is a note array (:mod:`musicfusion.data.scores`) and a General MIDI program. Every operator has the
signature ``op(notes, program, target, settings) -> (notes, program)`` and is pure: deterministic, no I/O, no
global state, its inputs never modified, its notes a new sorted array that passes ``check_notes``. Each changes
one attribute (instrument, tempo, register, scale, texture or rhythm), so an experiment can tell which attribute
carries a style; :func:`apply_operators` composes any subset in the one order :data:`ORDER`.

The target is a :class:`StyleProfile` learned by :func:`learn_profile` from the target style's training clips,
never from the clip being transformed or judged: a profile taken from the judged clip would leak its answer.
Profiles are tempo- and key-invariant (pitch classes relative to each clip's tonic, time in multiples of each
clip's median inter-onset interval), so they transfer to a clip in any key at any tempo.

:func:`chroma_similarity` and :func:`melody_kept` measure how much of a clip's content a transfer preserved.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np

from musicfusion.data.scores import DURATION, MIDI_PITCHES, ONSET, PITCH, check_notes, sort_notes

PITCH_CLASSES = 12  # semitones in an octave
GM_PROGRAMS = 128  # General MIDI programs are 0..127
# Krumhansl-Kessler key profiles, from C (Krumhansl 1990, Cognitive Foundations of Musical Pitch, table 4.1).
KRUMHANSL_MAJOR = (6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88)
KRUMHANSL_MINOR = (6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17)
# IOI ratios are rounded to 1/12 of the median IOI: a grid that holds triplets (1/3) as well as sixteenths (1/4).
IOI_RATIO_STEPS = 12


@dataclass(frozen=True)
class StyleProfile:
    """What a style's training clips have in common, independent of tempo and key (see :func:`learn_profile`)."""

    median_pitch: float
    scale: tuple[int, ...]
    voices: int
    vertical_intervals: tuple[int, ...]
    ioi_ratios: tuple[float, ...]


def _checked(notes, where: str = "note array") -> np.ndarray:
    """A new, sorted float64 copy of a valid note array."""
    return sort_notes(check_notes(notes, where))


def _pitch_class_histogram(notes: np.ndarray) -> np.ndarray:
    """Total duration of each of the 12 pitch classes."""
    return np.bincount(notes[:, PITCH].astype(int) % PITCH_CLASSES, weights=notes[:, DURATION],
                       minlength=PITCH_CLASSES)


def _top_voice(notes: np.ndarray) -> np.ndarray:
    """The highest note at each distinct onset (rows of a sorted note array: the last of each onset)."""
    onsets = notes[:, ONSET]
    return notes[np.r_[onsets[1:] != onsets[:-1], True]] if len(notes) else notes


def _iois(notes: np.ndarray) -> np.ndarray:
    """Inter-onset intervals between the distinct consecutive onsets."""
    return np.diff(np.unique(notes[:, ONSET]))


def tonic(notes) -> int:
    """The tonic pitch class 0..11 by Krumhansl-Schmuckler key finding: the key whose rotated Krumhansl-Kessler
    profile correlates best with the duration-weighted pitch-class histogram (ties: lowest tonic, major first)."""
    histogram = _pitch_class_histogram(_checked(notes))
    profiles = np.array([np.roll(profile, key) for profile in (KRUMHANSL_MAJOR, KRUMHANSL_MINOR)
                         for key in range(PITCH_CLASSES)])
    centred_histogram = histogram - histogram.mean()
    centred_profiles = profiles - profiles.mean(axis=1, keepdims=True)
    norm = np.linalg.norm(centred_histogram)
    if norm == 0:  # no notes, or all 12 pitch classes equally long: no key stands out
        return 0
    correlations = centred_profiles @ centred_histogram / (np.linalg.norm(centred_profiles, axis=1) * norm)
    return int(np.argmax(correlations)) % PITCH_CLASSES


def _covering(weights: Counter, coverage: float) -> list:
    """The fewest keys, heaviest first (ties: smallest key), whose weights sum to ``coverage`` of the total."""
    ranked = sorted(weights.items(), key=lambda item: (-item[1], item[0]))
    covered = np.cumsum([weight for _, weight in ranked]) / sum(weights.values())
    enough = (covered >= coverage) | np.isclose(covered, coverage)  # float sums of fractions fall just short
    return [key for key, _ in ranked[:int(np.argmax(enough)) + 1]]


def _fraction(settings: Mapping, key: str) -> float:
    value = float(settings[key])
    if not 0 < value <= 1:
        raise ValueError(f"{key} must be in (0, 1], got {value}")
    return value


def learn_profile(note_arrays: list[np.ndarray], settings: Mapping) -> StyleProfile:
    """The :class:`StyleProfile` of a style's training clips.

    Settings: ``scale_coverage`` and ``ioi_coverage`` (fractions of the duration-weighted pitch classes and of the
    IOIs that the scale and the IOI ratios cover), ``max_vertical_intervals``.
    """
    if not note_arrays:
        raise ValueError("learn_profile: no clips to learn a style profile from")
    clips = [_checked(notes, f"clip {index}") for index, notes in enumerate(note_arrays)]
    empty = [index for index, notes in enumerate(clips) if len(notes) == 0]
    if empty:
        raise ValueError(f"learn_profile: clips {empty} have no notes")
    max_intervals = int(settings["max_vertical_intervals"])
    if max_intervals < 0:
        raise ValueError(f"max_vertical_intervals must not be negative, got {max_intervals}")

    degree_weights: Counter = Counter()
    interval_counts: Counter = Counter()
    ratio_counts: Counter = Counter()
    voices_per_clip = []
    for notes in clips:
        degree_weights.update(dict(enumerate(np.roll(_pitch_class_histogram(notes), -tonic(notes)).tolist())))
        onsets, counts = np.unique(notes[:, ONSET], return_counts=True)
        voices_per_clip.append(counts.mean())
        for onset in onsets:
            pitches = notes[notes[:, ONSET] == onset, PITCH]
            interval_counts.update(int(gap) for gap in pitches.max() - pitches if gap > 0)
        iois = _iois(notes)
        if len(iois):
            # At least one step: an IOI far below the median still separates two onsets.
            steps = np.maximum(np.round(iois / np.median(iois) * IOI_RATIO_STEPS), 1)
            ratio_counts.update(steps.astype(int).tolist())

    scale = set(_covering(+degree_weights, _fraction(settings, "scale_coverage"))) | {0}
    ratio_steps = set(_covering(ratio_counts, _fraction(settings, "ioi_coverage"))) if ratio_counts else set()
    ratio_steps.add(IOI_RATIO_STEPS)  # the median IOI itself
    ranked_intervals = sorted(interval_counts.items(), key=lambda item: (-item[1], item[0]))
    return StyleProfile(
        median_pitch=float(np.median([np.median(notes[:, PITCH]) for notes in clips])),
        scale=tuple(sorted(scale)),
        voices=max(1, round(float(np.median(voices_per_clip)))),
        vertical_intervals=tuple(interval for interval, _ in ranked_intervals[:max_intervals]),
        ioi_ratios=tuple(steps / IOI_RATIO_STEPS for steps in sorted(ratio_steps)),
    )


def instrument(notes, program: int, target: StyleProfile, settings: Mapping) -> tuple[np.ndarray, int]:
    """The notes unchanged, played by ``settings["program"]`` (a General MIDI program 0..127)."""
    new_program = int(settings["program"])
    if not 0 <= new_program < GM_PROGRAMS:
        raise ValueError(f"program must be a General MIDI program 0..{GM_PROGRAMS - 1}, got {new_program}")
    return _checked(notes), new_program


def tempo(notes, program: int, target: StyleProfile, settings: Mapping) -> tuple[np.ndarray, int]:
    """Onsets and durations divided by ``settings["factor"]`` (2: twice as fast)."""
    factor = float(settings["factor"])
    if not factor > 0:
        raise ValueError(f"tempo factor must be positive, got {factor}")
    result = _checked(notes)
    result[:, [ONSET, DURATION]] /= factor
    return result, program


def register(notes, program: int, target: StyleProfile, settings: Mapping) -> tuple[np.ndarray, int]:
    """Every note moved by the whole octaves that bring the median pitch nearest the target's (an octave less
    if a note would leave 0..127). Octaves, not semitones: the register changes, the key and the pitch classes
    (the scale operator's attribute) do not."""
    result = _checked(notes)
    if not len(result):
        return result, program
    pitches = result[:, PITCH]
    shift = PITCH_CLASSES * round((target.median_pitch - float(np.median(pitches))) / PITCH_CLASSES)
    lowest, highest = -int(pitches.min()), MIDI_PITCHES - 1 - int(pitches.max())  # the shifts that fit
    while shift < lowest:
        shift += PITCH_CLASSES
    while shift > highest:
        shift -= PITCH_CLASSES
    # Only a range over 116 semitones lets no octave of the shift fit; then the nearest shift that does.
    result[:, PITCH] += min(max(shift, lowest), highest)
    return result, program


def scale(notes, program: int, target: StyleProfile, settings: Mapping) -> tuple[np.ndarray, int]:
    """Every pitch moved to the nearest pitch (ties: the lower) of the target scale on the clip's own tonic
    (``settings["tonic"]`` when given: apply_operators passes the tonic of the notes before any operator,
    so voices added by texture do not move the key); notes made identical by the move are kept once."""
    result = _checked(notes)
    if not len(result):
        return result, program
    key = int(settings["tonic"]) if "tonic" in settings else tonic(result)
    classes = {(key + degree) % PITCH_CLASSES for degree in target.scale}
    allowed = np.array([pitch for pitch in range(MIDI_PITCHES) if pitch % PITCH_CLASSES in classes])
    # argmin takes the first of equal distances: the lower pitch, since allowed is ascending.
    nearest = allowed[np.argmin(np.abs(allowed[None, :] - np.arange(MIDI_PITCHES)[:, None]), axis=1)]
    result[:, PITCH] = nearest[result[:, PITCH].astype(int)]
    return sort_notes(np.unique(result, axis=0)), program


def texture(notes, program: int, target: StyleProfile, settings: Mapping) -> tuple[np.ndarray, int]:
    """The top voice (the highest note per onset), with ``target.voices - 1`` notes added under each top note at
    the profile's first vertical intervals (same onset and duration; none below pitch 0)."""
    top = _top_voice(_checked(notes))
    rows = [top]
    for interval in target.vertical_intervals[:max(0, target.voices - 1)]:
        below = top.copy()
        below[:, PITCH] -= interval
        rows.append(below[below[:, PITCH] >= 0])
    return sort_notes(np.concatenate(rows)), program


def rhythm(notes, program: int, target: StyleProfile, settings: Mapping) -> tuple[np.ndarray, int]:
    """Each IOI re-quantised to the nearest of the target's IOI ratios (ties: the smaller) times the clip's median
    IOI; every note moves with its onset, its duration scaled as its IOI was (the last onset's as the one before)."""
    result = _checked(notes)
    onsets = np.unique(result[:, ONSET])
    if len(onsets) < 2:
        return result, program
    iois = np.diff(onsets)
    median = np.median(iois)
    ratios = np.sort(np.asarray(target.ioi_ratios, dtype=np.float64))
    if not len(ratios) or ratios[0] <= 0:
        raise ValueError(f"the target's IOI ratios must be positive, got {target.ioi_ratios}")
    new_iois = ratios[np.argmin(np.abs(iois[:, None] / median - ratios[None, :]), axis=1)] * median
    new_onsets = onsets[0] + np.r_[0.0, np.cumsum(new_iois)]
    factors = np.r_[new_iois / iois, new_iois[-1] / iois[-1]]
    group = np.searchsorted(onsets, result[:, ONSET])
    result[:, ONSET] = new_onsets[group]
    result[:, DURATION] *= factors[group]
    return sort_notes(result), program


OPERATORS: dict[str, Callable[..., tuple[np.ndarray, int]]] = {
    "instrument": instrument, "tempo": tempo, "register": register, "scale": scale, "texture": texture,
    "rhythm": rhythm}
# Texture first, so the voices it adds are then moved onto the scale; timing after pitch.
ORDER = ("texture", "scale", "register", "rhythm", "tempo", "instrument")


def apply_operators(notes, program: int, names, target: StyleProfile,
                    settings_by_operator: Mapping[str, Mapping]) -> tuple[np.ndarray, int]:
    """The named operators applied in :data:`ORDER`, whatever order ``names`` lists them in; an operator with no
    entry in ``settings_by_operator`` gets no settings. The scale is projected on the tonic of ``notes``."""
    names = list(names)
    unknown = sorted(set(names) - set(OPERATORS))
    if unknown:
        raise ValueError(f"unknown operators {unknown}; the known ones are {list(ORDER)}")
    repeated = sorted(name for name, count in Counter(names).items() if count > 1)
    if repeated:
        raise ValueError(f"operators named more than once: {repeated}")
    result, result_program = _checked(notes), int(program)
    if "scale" in names and len(result):
        settings_by_operator = {**settings_by_operator,
                                "scale": {"tonic": tonic(result), **settings_by_operator.get("scale", {})}}
    for name in ORDER:
        if name in names:
            result, result_program = OPERATORS[name](result, result_program, target, settings_by_operator.get(name, {}))
    return result, result_program


def fit_length(notes, length: float, max_repeats: int) -> np.ndarray:
    """The notes fitted to ``length`` quarter notes: repeated end to end (at most ``max_repeats`` copies in all)
    if they end sooner, then cut at ``length``."""
    result = _checked(notes)
    if len(result) and (result[:, ONSET] + result[:, DURATION]).max() < length:
        end = (result[:, ONSET] + result[:, DURATION]).max()
        span = end - result[0, ONSET]
        copies = [result]
        for repeat in range(1, max_repeats):
            if result[0, ONSET] + repeat * span >= length:
                break
            copy = result.copy()
            copy[:, ONSET] += repeat * span
            copies.append(copy)
        result = np.concatenate(copies)
    result = result[result[:, ONSET] < length]
    if not len(result):
        raise ValueError(f"fit_length: no notes start before {length} quarter notes")
    result[:, DURATION] = np.minimum(result[:, ONSET] + result[:, DURATION], length) - result[:, ONSET]
    return sort_notes(result)


def chroma_similarity(a, b) -> float:
    """Cosine similarity of the duration-weighted pitch-class histograms (0 if either is empty)."""
    first, second = _pitch_class_histogram(_checked(a)), _pitch_class_histogram(_checked(b))
    norms = np.linalg.norm(first) * np.linalg.norm(second)
    return float(np.clip(first @ second / norms, 0.0, 1.0)) if norms > 0 else 0.0


def _levenshtein(first: list, second: list) -> int:
    """Edit distance (insertions, deletions, substitutions) between two sequences."""
    previous = list(range(len(second) + 1))
    for i, item in enumerate(first, start=1):
        current = [i]
        for j, other in enumerate(second, start=1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (item != other)))
        previous = current
    return previous[-1]


def melody_kept(a, b) -> float:
    """How much of the top voice's melodic contour survives: 1 - the edit distance between the two sequences of
    intervals between consecutive top-voice pitches over the longer one's length (1 if neither has an interval)."""
    first, second = (np.diff(_top_voice(_checked(notes))[:, PITCH]).astype(int).tolist() for notes in (a, b))
    longest = max(len(first), len(second))
    return 1.0 - _levenshtein(first, second) / longest if longest else 1.0
