"""params.yaml: schema validation and dataset resolution."""

from __future__ import annotations

from pathlib import Path

import pytest

from musicfusion.plumbing.config import (
    ConfigError,
    collect_settings,
    resolve_dataset,
    shard_count,
    validate_params,
)


def test_shipped_params_are_valid(params):
    validate_params(params)
    assert resolve_dataset(params).name == params["dataset"]


def test_presets_resolve_to_data_raw(params):
    spec = resolve_dataset(params, "tiny")
    assert spec.is_preset and spec.manifest == Path("data/raw/tiny/manifest.csv")
    assert spec.modalities == ("audio", "video", "text") and spec.tasks == tuple(params["tasks"])


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
    (lambda p: p.update(datasets={"bad name": {"manifest": "m.csv"}}), "datasets"),
    (lambda p: p.update(datasets={"mine": {"manifest": "m.csv", "tasks": ["gen re"]}}), "datasets/mine/tasks/0"),
])
def test_bad_params_are_refused_with_the_key_named(params_copy, mutate, fragment):
    mutate(params_copy)
    with pytest.raises(ConfigError, match=fragment.replace("/", ".")):
        validate_params(params_copy)








def test_collect_settings_hold_one_preset_and_nothing_that_cannot_change_its_data(params):
    settings = collect_settings(params, "tiny")
    assert settings["preset"] == params["collect"]["presets"]["tiny"]
    assert "presets" not in settings and "max_workers" not in settings
    assert settings["styles"] == params["collect"]["styles"]
    with pytest.raises(ConfigError, match="not a preset"):
        collect_settings(params, "my_songs")


@pytest.mark.parametrize("n_clips, per_shard, shards", [(360, 400, 1), (400, 400, 1), (401, 400, 2), (1600, 400, 4),
                                                        (0, 10, 1), (7, 1, 7)])
def test_shards_hold_at_most_clips_per_shard(n_clips, per_shard, shards):
    assert shard_count(n_clips, per_shard) == shards


def test_zero_clips_per_shard_is_refused():
    with pytest.raises(ConfigError, match="clips_per_shard"):
        shard_count(10, 0)


