"""Style-transfer operators: each changes one musical attribute toward a profile learned from a style's clips."""

from __future__ import annotations

import json
from dataclasses import asdict
from itertools import permutations

import numpy as np
import pytest

from musicfusion.data.scores import check_notes, sort_notes
from musicfusion.symbolic.operators import (
    OPERATORS,
    ORDER,
    StyleProfile,
    apply_operators,
    chroma_similarity,
    fit_length,
    learn_profile,
    melody_kept,
    register,
    rhythm,
    scale,
    tempo,
    texture,
    tonic,
)

PROFILE = StyleProfile(median_pitch=72.0, scale=(0, 2, 4, 7, 9), voices=3, vertical_intervals=(4, 7, 12),
                       ioi_ratios=(0.5, 1.0, 2.0))
SETTINGS = {"instrument": {"program": 40}, "tempo": {"factor": 2.0}}
PROFILE_SETTINGS = {"scale_coverage": 1.0, "ioi_coverage": 0.9, "max_vertical_intervals": 3}


def notes(*rows) -> np.ndarray:
    return sort_notes(np.array(rows, dtype=np.float64).reshape(len(rows), 3))


def melody(pitches, onsets=None, durations=None) -> np.ndarray:
    onsets = list(range(len(pitches))) if onsets is None else onsets
    durations = [1.0] * len(pitches) if durations is None else durations
    return notes(*zip(pitches, onsets, durations))


def two_voices(tops, lower_intervals, onsets) -> np.ndarray:
    """A melody with one note under each of its notes; every note lasts until the next onset (the last: 1)."""
    durations = np.diff(np.r_[onsets, onsets[-1] + 1.0])
    rows = [(top - interval, onset, duration) for top, interval, onset, duration
            in zip(tops, lower_intervals, onsets, durations)]
    return notes(*rows, *zip(tops, onsets, durations))


C_MAJOR = melody([60, 62, 64, 65, 67, 69, 71, 72])
G_MAJOR = melody([67, 69, 71, 72, 74, 76, 78, 79])
# A style: two C-major and one G-major tune, each note with one below it; IOIs of one clip in quarters, of another
# in eighths, of the third with triplets.
STYLE_CLIPS = [
    two_voices([72, 76, 79, 77, 74, 72], [3, 4, 3, 3, 3, 12], [0, 1, 2, 3, 4, 6]),
    two_voices([79, 78, 79, 81, 83, 79], [12, 4, 3, 3, 4, 12], [0, 0.5, 1, 1.5, 2.5, 3]),
    two_voices([72, 74, 76, 77, 79, 76, 74, 72], [3, 3, 4, 3, 3, 4, 3, 12], [0, 1 / 3, 2 / 3, 1, 2, 3, 4, 5]),
]


def test_tonic_by_key_finding():
    assert tonic(C_MAJOR) == 0
    assert tonic(G_MAJOR) == 7
    assert tonic(C_MAJOR + [5, 0, 0]) == 5  # the same scale a fourth up: F major
    # A natural minor: C major's notes, but the minor profile puts the tonic on A (the major ones alone on C).
    assert tonic(melody([57, 59, 60, 62, 64, 65, 67, 69])) == 9
    assert [tonic(clip) for clip in STYLE_CLIPS] == [0, 7, 0]
    assert 0 <= tonic(notes((62, 0, 1))) < 12


def test_register_moves_by_the_octaves_nearest_the_target_median_and_keeps_the_pitch_classes():
    clip = melody([60, 64, 67])  # median 64
    low = StyleProfile(50.0, (0,), 1, (), (1.0,))  # 14 below: one octave down is nearest (2 off, not 10)
    moved, program = register(clip, 5, low, {})
    assert moved[:, 0].tolist() == [48, 52, 55] and program == 5
    assert np.array_equal(moved[:, 1:], clip[:, 1:])
    near = StyleProfile(69.0, (0,), 1, (), (1.0,))  # 5 above: nearer without moving
    assert register(clip, 5, near, {})[0][:, 0].tolist() == [60, 64, 67]


@pytest.mark.parametrize(("pitches", "target", "expected"), [
    ([100, 120], 135.0, [100, 120]),  # +24 would reach 144, +12 132: none fits but 0
    ([100, 110], 130.0, [112, 122]),  # +24 would reach 134: an octave less
    ([10, 20], -10.0, [10, 20]),  # -24 and -12 would go below 0
    ([0, 127], 20.0, [0, 127]),  # no shift fits but 0
])
def test_register_never_leaves_the_midi_range(pitches, target, expected):
    moved, _ = register(melody(pitches), 0, StyleProfile(target, (0,), 1, (), (1.0,)), {})
    assert moved[:, 0].tolist() == expected


def test_scale_projects_onto_the_target_scale_on_the_clips_own_tonic():
    projected, _ = scale(C_MAJOR, 0, PROFILE, {})  # C D E F G A B C onto C pentatonic
    assert projected[:, 0].tolist() == [60, 62, 64, 64, 67, 69, 72, 72]  # F -> E, B -> C (the nearer)
    assert np.array_equal(projected[:, 1:], C_MAJOR[:, 1:])
    in_g, _ = scale(G_MAJOR, 0, PROFILE, {})  # the same pentatonic, on G
    assert in_g[:, 0].tolist() == [67, 69, 71, 71, 74, 76, 79, 79]


def test_scale_ties_go_down_and_merged_notes_are_kept_once():
    triad = StyleProfile(60.0, (0, 4, 7), 1, (), (1.0,))
    projected, _ = scale(C_MAJOR, 0, triad, {})
    assert projected[:, 0].tolist() == [60, 60, 64, 64, 67, 67, 72, 72]  # D: C and E both 2 away -> C
    chord = np.concatenate([C_MAJOR, notes((64, 8, 1), (65, 8, 1))])  # E and F become one E
    merged, _ = scale(chord, 0, triad, {})
    assert merged[merged[:, 1] == 8].tolist() == [[64, 8, 1]]


def test_texture_keeps_the_top_note_and_adds_the_profiles_intervals_below():
    clip = notes((48, 0, 1), (60, 0, 1), (64, 0, 1), (62, 1, 2), (55, 2, 1), (67, 2, 1))
    thick, _ = texture(clip, 0, PROFILE, {})
    assert thick.tolist() == [[57, 0, 1], [60, 0, 1], [64, 0, 1], [55, 1, 2], [58, 1, 2], [62, 1, 2],
                              [60, 2, 1], [63, 2, 1], [67, 2, 1]]
    monophonic, _ = texture(clip, 0, StyleProfile(60.0, (0,), 1, (), (1.0,)), {})
    assert monophonic.tolist() == [[64, 0, 1], [62, 1, 2], [67, 2, 1]]


def test_texture_adds_only_the_intervals_it_has_and_none_below_pitch_0():
    few, _ = texture(melody([60, 62]), 0, StyleProfile(60.0, (0,), 4, (12,), (1.0,)), {})
    assert few[:, 0].tolist() == [48, 60, 50, 62]
    low, _ = texture(melody([5]), 0, PROFILE, {})
    assert low[:, 0].tolist() == [1, 5]


def test_rhythm_requantises_the_iois_and_scales_the_durations():
    clip = notes((60, 0, 1), (64, 0, 1), (62, 1, 1), (64, 2, 3), (65, 5, 1.5))  # IOIs 1, 1, 3: median 1
    profile = StyleProfile(60.0, (0,), 1, (), (1.0, 2.0))
    timed, _ = rhythm(clip, 0, profile, {})
    assert timed[:, 1].tolist() == [0, 0, 1, 2, 4]  # IOIs 1, 1, 2
    assert timed[:, 2].tolist() == pytest.approx([1, 1, 1, 2, 1])  # the last two scaled by 2/3
    assert timed[:, 0].tolist() == clip[:, 0].tolist()


def test_rhythm_ties_go_to_the_smaller_ratio_and_a_single_onset_is_kept():
    profile = StyleProfile(60.0, (0,), 1, (), (1.0, 2.0))
    timed, _ = rhythm(melody([60, 62, 64, 65], [0, 1, 2, 3.5]), 0, profile, {})  # IOI ratio 1.5 -> 1
    assert timed[:, 1].tolist() == [0, 1, 2, 3]
    chord = notes((60, 4, 1), (64, 4, 2))
    assert np.array_equal(rhythm(chord, 0, profile, {})[0], chord)


def test_tempo_divides_onsets_and_durations():
    faster, program = tempo(melody([60, 62], [1, 3], [2, 1]), 7, PROFILE, {"factor": 2})
    assert faster.tolist() == [[60, 0.5, 1], [62, 1.5, 0.5]] and program == 7
    with pytest.raises(ValueError, match="positive"):
        tempo(C_MAJOR, 0, PROFILE, {"factor": 0})


def test_instrument_changes_only_the_program():
    same, program = OPERATORS["instrument"](C_MAJOR, 0, PROFILE, {"program": 40})
    assert np.array_equal(same, C_MAJOR) and same is not C_MAJOR and program == 40
    with pytest.raises(ValueError, match="0..127"):
        OPERATORS["instrument"](C_MAJOR, 0, PROFILE, {"program": 128})


def test_the_registry_and_its_order():
    assert set(OPERATORS) == set(ORDER) == {"instrument", "tempo", "register", "scale", "texture", "rhythm"}
    assert ORDER == ("texture", "scale", "register", "rhythm", "tempo", "instrument")


@pytest.mark.parametrize("names", list(permutations(["texture", "scale", "register", "rhythm", "tempo"]))[::17])
def test_apply_operators_composes_in_the_canonical_order_whatever_the_order_asked(names):
    clip = notes((60, 0, 1), (64, 0, 1), (66, 1, 1), (62, 2, 3), (71, 5, 1))
    result, program = apply_operators(clip, 3, names, PROFILE, SETTINGS)
    expected, expected_program = clip, 3
    settings = {**SETTINGS, "scale": {"tonic": tonic(clip)}}
    for name in ORDER:
        if name in names:
            expected, expected_program = OPERATORS[name](expected, expected_program, PROFILE, settings.get(name, {}))
    assert np.array_equal(result, expected) and program == expected_program == 3


def test_apply_operators_projects_the_added_voices_onto_the_scale_of_the_clips_own_key():
    thick, _ = texture(C_MAJOR, 0, PROFILE, {})
    assert tonic(thick) != tonic(C_MAJOR)  # the added voices alone would move the key estimate
    pentatonic = {(tonic(C_MAJOR) + degree) % 12 for degree in PROFILE.scale}
    assert not {int(p) % 12 for p in thick[:, 0]} <= pentatonic
    result, _ = apply_operators(C_MAJOR, 0, ["scale", "texture"], PROFILE, {})
    assert {int(p) % 12 for p in result[:, 0]} <= pentatonic
    # the tonic can also be given
    given, _ = scale(C_MAJOR, 0, PROFILE, {"tonic": 7})
    assert {int(p) % 12 for p in given[:, 0]} <= {(7 + degree) % 12 for degree in PROFILE.scale}


def test_apply_operators_rejects_unknown_and_repeated_names():
    with pytest.raises(ValueError, match=r"\['swing'\].*instrument"):
        apply_operators(C_MAJOR, 0, ["tempo", "swing"], PROFILE, SETTINGS)
    with pytest.raises(ValueError, match=r"\['tempo'\]"):
        apply_operators(C_MAJOR, 0, ["tempo", "scale", "tempo"], PROFILE, SETTINGS)


def test_fit_length_repeats_a_short_clip_up_to_max_repeats():
    clip = notes((60, 1, 1), (62, 2, 1))  # spans 2 quarters, from its first onset
    assert fit_length(clip, 6, 10).tolist() == [[60, 1, 1], [62, 2, 1], [60, 3, 1], [62, 4, 1], [60, 5, 1]]
    assert fit_length(clip, 6, 2).tolist() == [[60, 1, 1], [62, 2, 1], [60, 3, 1], [62, 4, 1]]
    assert fit_length(clip, 6, 1).tolist() == clip.tolist()


def test_fit_length_cuts_a_long_clip():
    assert fit_length(notes((60, 0, 4), (62, 4, 4)), 3, 5).tolist() == [[60, 0, 3]]
    with pytest.raises(ValueError, match="no notes"):
        fit_length(notes((60, 5, 1)), 3, 5)


def test_learn_profile_of_a_style():
    profile = learn_profile(STYLE_CLIPS, PROFILE_SETTINGS)
    assert profile.scale == (0, 2, 4, 5, 7, 9, 11)  # major, though one tune is in G
    assert profile.voices == 2
    assert profile.vertical_intervals == (3, 4, 12)  # 11, 5 and 4 times
    # IOI ratios: 1 twelve times, 1/3 three times, 2 twice: 90% of 17 needs all three, 80% the first two.
    assert profile.ioi_ratios == pytest.approx((1 / 3, 1.0, 2.0))
    fewer = learn_profile(STYLE_CLIPS, {**PROFILE_SETTINGS, "ioi_coverage": 0.8, "max_vertical_intervals": 1})
    assert fewer.ioi_ratios == pytest.approx((1 / 3, 1.0)) and fewer.vertical_intervals == (3,)
    assert profile.median_pitch == np.median([np.median(clip[:, 0]) for clip in STYLE_CLIPS])
    assert json.loads(json.dumps(asdict(profile))) == {**asdict(profile), "scale": list(profile.scale),
                                                       "vertical_intervals": list(profile.vertical_intervals),
                                                       "ioi_ratios": list(profile.ioi_ratios)}


def test_learn_profile_is_tempo_and_key_invariant():
    profile = learn_profile(STYLE_CLIPS, PROFILE_SETTINGS)
    moved = [clip * [1, 3, 3] + [5, 0, 0] for clip in STYLE_CLIPS]  # slower and a fourth up
    other = learn_profile(moved, PROFILE_SETTINGS)
    assert other == StyleProfile(profile.median_pitch + 5, profile.scale, profile.voices,
                                 profile.vertical_intervals, other.ioi_ratios)
    assert other.ioi_ratios == pytest.approx(profile.ioi_ratios)


def test_learn_profile_scale_covers_the_heaviest_degrees_first():
    # C weighs 10 of 16 quarters, the other degrees 1 each: ties go to the lower degree.
    clip = melody([60, 62, 64, 65, 67, 69, 71, 72], durations=[5, 1, 1, 1, 1, 1, 1, 5])
    settings = {**PROFILE_SETTINGS, "scale_coverage": 0.7}
    assert learn_profile([clip], settings).scale == (0, 2, 4)  # 10 + 1 + 1 >= 11.2
    assert learn_profile([clip], {**settings, "scale_coverage": 0.5}).scale == (0,)
    long_fifth = melody([60, 62, 64, 65, 67, 69, 71, 72], durations=[1, 1, 1, 1, 3, 1, 1, 1])
    assert learn_profile([long_fifth], {**settings, "scale_coverage": 0.1}).scale == (0, 7)  # the tonic always in


def test_learn_profile_of_monophonic_clips_with_single_onsets():
    profile = learn_profile([notes((60, 0, 1)), notes((64, 2, 1))], PROFILE_SETTINGS)
    assert profile.voices == 1 and profile.vertical_intervals == () and profile.ioi_ratios == (1.0,)
    assert 0 in profile.scale


def test_learn_profile_rejects_no_clips_and_empty_clips():
    with pytest.raises(ValueError, match="no clips"):
        learn_profile([], PROFILE_SETTINGS)
    with pytest.raises(ValueError, match=r"clips \[1\] have no notes"):
        learn_profile([C_MAJOR, np.empty((0, 3))], PROFILE_SETTINGS)


def test_chroma_similarity():
    assert chroma_similarity(C_MAJOR, C_MAJOR) == pytest.approx(1.0)
    assert chroma_similarity(C_MAJOR, C_MAJOR + [12, 0, 0]) == pytest.approx(1.0)  # an octave up: same classes
    assert chroma_similarity(melody([60, 64]), melody([61, 66])) == 0.0
    assert 0 < chroma_similarity(C_MAJOR, G_MAJOR) < 1
    assert chroma_similarity(C_MAJOR, np.empty((0, 3))) == 0.0


def test_melody_kept():
    tune = notes((48, 0, 1), (60, 0, 1), (62, 1, 1), (64, 2, 1), (65, 3, 1))  # top voice: intervals 2, 2, 1
    assert melody_kept(tune, tune + [7, 0, 0]) == 1.0
    assert melody_kept(tune, melody([60, 62, 64, 67])) == pytest.approx(2 / 3)
    assert melody_kept(tune, melody([60, 62, 64])) == pytest.approx(2 / 3)  # one interval fewer
    assert melody_kept(notes((60, 0, 1)), notes((70, 0, 1))) == 1.0


@pytest.mark.parametrize("name", ORDER)
def test_operators_return_new_sorted_valid_notes_and_leave_their_inputs_alone(name):
    clip = notes((60, 0, 1), (64, 0, 1), (66, 1, 1), (62, 2, 3), (71, 5, 1))
    original = clip.copy()
    clip.setflags(write=False)
    result, _ = OPERATORS[name](clip, 0, PROFILE, SETTINGS.get(name, {}))
    assert np.array_equal(clip, original)
    assert result is not clip and result.flags.writeable
    assert np.array_equal(check_notes(result), sort_notes(result))


def test_profile_learning_and_measures_leave_their_inputs_alone():
    clips = [clip.copy() for clip in STYLE_CLIPS]
    for clip in clips:
        clip.setflags(write=False)
    learn_profile(clips, PROFILE_SETTINGS)
    apply_operators(clips[0], 0, list(ORDER), PROFILE, SETTINGS)
    fit_length(clips[0], 20, 3)
    chroma_similarity(clips[0], clips[1])
    melody_kept(clips[0], clips[1])
    assert all(np.array_equal(clip, original) for clip, original in zip(clips, STYLE_CLIPS))
