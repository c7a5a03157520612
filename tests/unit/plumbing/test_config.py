"""params.yaml: schema validation and dataset resolution."""

from __future__ import annotations

from pathlib import Path

import pytest

from musicfusion.plumbing.config import (
    ConfigError,
    collect_settings,
    corpus_file_slug,
    paper_files,
    resolve_dataset,
    resolve_methods,
    shard_count,
    validate_params,
)


def test_shipped_params_are_valid(params):
    validate_params(params)
    assert resolve_dataset(params).name == params["dataset"]


def test_presets_resolve_to_data_raw(params):
    spec = resolve_dataset(params, "tiny")
    assert spec.is_preset and spec.manifest == Path("data/raw/tiny/manifest.csv")
    assert spec.modalities == ("audio", "video", "text", "score") and spec.tasks == tuple(params["tasks"])


def test_paper_resolves_to_its_tunes_and_one_task(params):
    spec = resolve_dataset(params, "ismir2011")
    assert spec.is_paper and not spec.is_preset and spec.paper is params["papers"]["ismir2011"]
    assert spec.manifest == Path("data/processed/ismir2011/paper/tunes.csv")
    assert spec.modalities == () and spec.tasks == ("region",)
    assert not resolve_dataset(params, "tiny").is_paper


def test_a_paper_named_like_a_preset_is_refused(params_copy):
    params_copy["papers"]["tiny"] = params_copy["papers"]["ismir2011"]
    with pytest.raises(ConfigError, match="both a preset and a paper"):
        resolve_dataset(params_copy, "tiny")


def test_user_dataset_resolves_to_its_manifest_modalities_and_tasks(params_copy):
    params_copy["datasets"] = {"mine": {"manifest": "/x/m.csv", "modalities": ["text", "audio"], "tasks": ["genre"]},
                               "all": {"manifest": "/y/m.csv"}}
    params_copy["dataset"] = "mine"
    validate_params(params_copy)
    spec = resolve_dataset(params_copy)
    assert not spec.is_preset and spec.manifest == Path("/x/m.csv")
    assert spec.modalities == ("audio", "text") and spec.tasks == ("genre",)  # modalities in the usual order
    assert spec.has(["audio"]) and spec.has(["text", "audio"]) and not spec.has(["audio", "video"])
    defaults = resolve_dataset(params_copy, "all")  # all three modalities, the top-level tasks
    assert defaults.modalities == ("audio", "video", "text") and defaults.tasks == tuple(params_copy["tasks"])


@pytest.mark.parametrize("mutate, fragment", [
    (lambda p: p.update(dataset="nope"), "neither a preset"),
    (lambda p: p["preprocess"].update(on_bad_input="ignore"), "preprocess/on_bad_input"),
    (lambda p: p["methods"]["audio_only"].update(modalities=["smell"]), "methods/audio_only/modalities/0"),
    (lambda p: p.update(unknown_key=1), "unknown_key"),
    (lambda p: p["preprocess"].update(min_seconds=40.0), "min_seconds is above max_seconds"),
    (lambda p: p["preprocess"].update(min_seconds=-0.1), "preprocess/min_seconds"),
    (lambda p: p.update(datasets={"bad name": {"manifest": "m.csv"}}), "datasets"),
    (lambda p: p.update(datasets={"mine": {"manifest": "m.csv", "tasks": ["gen re"]}}), "datasets/mine/tasks/0"),
])
def test_bad_params_are_refused_with_the_key_named(params_copy, mutate, fragment):
    mutate(params_copy)
    with pytest.raises(ConfigError, match=fragment.replace("/", ".")):
        validate_params(params_copy)


def test_the_floor_min_seconds_is_optional(params_copy):
    # A clip is too short below what its extractors need; min_seconds is only a floor to raise.
    assert params_copy["preprocess"]["min_seconds"] == 0
    del params_copy["preprocess"]["min_seconds"]
    validate_params(params_copy)
    params_copy["preprocess"]["max_seconds"] = 0.01  # nothing to compare a missing floor with
    validate_params(params_copy)








def test_collect_settings_hold_one_preset_and_nothing_that_cannot_change_its_data(params):
    settings = collect_settings(params, "tiny")
    assert settings["preset"] == params["collect"]["presets"]["tiny"]
    assert "presets" not in settings and "max_workers" not in settings
    assert settings["styles"] == params["collect"]["styles"]
    with pytest.raises(ConfigError, match="not a preset"):
        collect_settings(params, "my_songs")


def test_a_preset_with_its_own_classes_tasks_and_methods(params):
    entry = params["collect"]["presets"]["ismir2011_media"]
    settings = collect_settings(params, "ismir2011_media")
    assert settings["styles"] == entry["styles"] != params["collect"]["styles"]
    # Its tasks and methods do not shape what collect builds.
    assert settings["preset"] == {"clips_per_class": entry["clips_per_class"], "clip_seconds": entry["clip_seconds"]}
    spec = resolve_dataset(params, "ismir2011_media")
    assert spec.tasks == ("style",) and spec.methods == tuple(entry["methods"])
    assert resolve_dataset(params, "tiny").methods is None
    # The preset renders exactly the paper's tunes (one list in params.yaml, shared by YAML anchors).
    paper = params["papers"]["ismir2011"]["classes"]
    assert {label: rule["include"] for label, rule in entry["styles"].items()} == paper


def test_a_dataset_naming_an_unknown_method_is_refused(params_copy):
    params_copy["datasets"] = {"mine": {"manifest": "/x/m.csv", "methods": ["audio_only", "audio_ony"]}}
    with pytest.raises(ConfigError, match=r"'mine' names methods that params.yaml `methods` lacks: \['audio_ony'\]"):
        resolve_dataset(params_copy, "mine")


@pytest.mark.parametrize("n_clips, per_shard, shards", [(360, 400, 1), (400, 400, 1), (401, 400, 2), (1600, 400, 4),
                                                        (0, 10, 1), (7, 1, 7)])
def test_shards_hold_at_most_clips_per_shard(n_clips, per_shard, shards):
    assert shard_count(n_clips, per_shard) == shards


def test_zero_clips_per_shard_is_refused():
    with pytest.raises(ConfigError, match="clips_per_shard"):
        shard_count(10, 0)




METHODS = {"audio_only": {"type": "single_modality", "modalities": ["audio"], "learner": "logistic"},
           "video_only": {"type": "single_modality", "modalities": ["video"], "learner": "svm"},
           "early": {"type": "early_fusion", "modalities": "dataset", "learner": "logistic"},
           "late": {"type": "late_fusion", "modalities": "dataset",
                    "learner": {"audio": "logistic", "video": "svm", "text": "logistic"}},
           "pair": {"type": "late_fusion", "modalities": ["audio", "video"], "learner": "logistic"}}


def test_methods_over_the_dataset_fuse_what_it_has():
    resolved, left_out = resolve_methods(METHODS, ("text", "audio"))
    assert list(resolved) == ["audio_only", "early", "late"]
    assert resolved["early"]["modalities"] == ["audio", "text"]  # the usual order, whatever the dataset's
    assert resolved["late"]["learner"] == {"audio": "logistic", "text": "logistic"}  # video's learner dropped
    assert left_out == {"video_only": "needs video", "pair": "needs audio+video"}
    assert METHODS["early"]["modalities"] == "dataset"  # the params are not touched
    everything, _ = resolve_methods(METHODS, ("audio", "video", "text"))
    assert everything["late"]["modalities"] == ["audio", "video", "text"] and len(everything) == len(METHODS)


def test_a_dataset_with_one_modality_runs_no_method_over_the_dataset():
    resolved, left_out = resolve_methods(METHODS, ("audio",))
    assert list(resolved) == ["audio_only"]
    assert left_out["early"] == "fuses the dataset's modalities and needs at least 2; the dataset has audio"


def test_a_method_over_the_dataset_needs_a_learner_for_each_of_its_modalities():
    methods = {"late": {**METHODS["late"], "learner": {"audio": "logistic", "video": "svm"}}}
    with pytest.raises(ValueError, match=r"'late' fuses the dataset's modalities \(audio\+text\).*\['text'\]"):
        resolve_methods(methods, ("audio", "text"))


def test_a_dataset_runs_only_the_methods_it_names():
    resolved, left_out = resolve_methods(METHODS, ("audio", "video", "text"), chosen=("video_only", "late"))
    assert list(resolved) == ["video_only", "late"]
    assert left_out == dict.fromkeys(["audio_only", "early", "pair"], "not among the dataset's methods")
    # A named method still needs its modalities.
    resolved, left_out = resolve_methods(METHODS, ("audio", "text"), chosen=("video_only", "early"))
    assert list(resolved) == ["early"] and left_out["video_only"] == "needs video"


def test_a_method_that_resolves_to_an_earlier_one_runs_once():
    methods = {"early": METHODS["early"],
               "early_without_score": {**METHODS["early"], "modalities": ["audio", "video", "text"]}}
    resolved, left_out = resolve_methods(methods, ("audio", "video", "text"))
    assert list(resolved) == ["early"] and left_out == {"early_without_score": "the same as early on this dataset"}
    resolved, left_out = resolve_methods(methods, ("audio", "video", "text", "score"))
    assert list(resolved) == ["early", "early_without_score"] and not left_out


def test_slugs_and_files_of_a_paper():
    assert corpus_file_slug("essenFolksong/han1.abc") == "essenFolksong_han1"
    files = paper_files({"classes": {"china": ["essenFolksong/han1.abc"], "europe": ["essenFolksong/boehme10.abc"]}})
    assert files == {"essenFolksong_han1": ("essenFolksong/han1.abc", "china"),
                     "essenFolksong_boehme10": ("essenFolksong/boehme10.abc", "europe")}
    with pytest.raises(ValueError, match="listed twice"):
        paper_files({"classes": {"a": ["x/one.abc"], "b": ["x/one.abc"]}})


def test_a_user_dataset_may_take_its_audio_transcribed_as_its_score(params_copy):
    params_copy["datasets"] = {"mine": {"manifest": "/x/m.csv", "modalities": ["audio", "text"], "score_from": "audio"},
                               "plain": {"manifest": "/x/m.csv", "modalities": ["audio"]}}
    validate_params(params_copy)
    spec = resolve_dataset(params_copy, "mine")
    assert spec.modalities == ("audio", "text", "score") and spec.derived == ("score",)
    assert spec.read_modalities == ("audio", "text")  # the manifest has no score_path to read
    assert spec.has(["score"]) and "early_fusion" in resolve_methods(params_copy["methods"], spec.modalities)[0]
    plain = resolve_dataset(params_copy, "plain")
    assert plain.derived == () and plain.read_modalities == plain.modalities == ("audio",)
    for modalities in (["text"], ["audio", "score"]):  # nothing to transcribe, or a score of its own
        params_copy["datasets"]["mine"]["modalities"] = modalities
        with pytest.raises(ConfigError, match="must list audio and not score"):
            resolve_dataset(params_copy, "mine")
    params_copy["datasets"]["mine"]["score_from"] = "video"
    with pytest.raises(ConfigError, match="score_from"):
        validate_params(params_copy)
