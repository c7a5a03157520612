"""The workflow end to end on users' own datasets of the shapes they bring, built here.

- `calls`: audio only, clips of real lengths (0.6 s to 6 s, one too short), a custom task
  `genre`, no split column, a folder per class turned into a manifest by `musicfusion manifest`;
- `moods`: audio and text, text missing for some clips, a custom task `mood` with some clips
  unlabelled, a split column; the fusion methods declared over the dataset's modalities fuse
  audio+text (the networks are left out of this project: see LEFT_OUT_METHODS);
- `arpeggios`: audio only, no scores: its score is transcribed from the audio (`score_from: audio`),
  and it names the methods it runs.

Each runs with plain `snakemake --config dataset=NAME` after registering it in params.yaml,
and its results land in results/NAME/.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
import yaml

from support import copy_project, sine, snakemake

pytestmark = pytest.mark.workflow
BIN = Path(sys.executable).parent
SAMPLE_RATE = 16000
GENRES = {"low": 220.0, "mid": 440.0, "high": 880.0}
WORDS = {"calm": "quiet slow gentle night", "bright": "sun dance fast morning"}


def tone(frequency: float, seconds: float, rng: np.random.Generator) -> np.ndarray:
    """A slightly detuned, slightly noisy sine: no two recordings of a class alike."""
    clean = sine(seconds, SAMPLE_RATE, frequency * (1 + 0.02 * rng.standard_normal()), 0.3)
    return (clean + 0.01 * rng.standard_normal(len(clean))).astype(np.float32)


def run(project: Path, dataset: str, *args: str) -> subprocess.CompletedProcess:
    return snakemake(project, *args, dataset=dataset)


def register(project: Path, name: str, entry: dict) -> None:
    params_path = project / "params.yaml"
    params = yaml.safe_load(params_path.read_text())
    params["datasets"] = {**(params.get("datasets") or {}), name: entry}
    params["preprocess"]["on_bad_input"] = "skip"  # users' folders hold a bad file now and then
    params_path.write_text(yaml.safe_dump(params, sort_keys=False))


# The shapes of users' datasets checked here do not depend on repeating the folds: the project of
# these tests runs one repetition of the folds (the repeated protocol is checked on `tiny`).
REPETITIONS = 1
# Nor on the networks, which cost most of an audio+text run's time (5 of its 6.5 minutes); they
# are checked on `tiny`, and the fusion methods kept here show the adaptation to two modalities.
LEFT_OUT_METHODS = ("mlp_single_task", "mlp_multitask")


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    work = copy_project(tmp_path_factory.mktemp("project"))
    params = yaml.safe_load((work / "params.yaml").read_text())
    params["evaluate"]["repetitions"] = REPETITIONS
    params["methods"] = {name: entry for name, entry in params["methods"].items() if name not in LEFT_OUT_METHODS}
    (work / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    return work


@pytest.fixture(scope="module")
def calls(project, tmp_path_factory) -> Path:
    """A folder per genre of WAVs of different lengths, one too short; manifest by the command."""
    root = tmp_path_factory.mktemp("calls")
    rng = np.random.default_rng(0)
    for genre, frequency in GENRES.items():
        (root / genre).mkdir()
        for i in range(12):
            seconds = float(rng.uniform(0.6, 6.0))
            sf.write(root / genre / f"take{i:02d}.wav", tone(frequency, seconds, rng), SAMPLE_RATE)
    # One sample at 96 kHz: shorter than any audio feature set describes (a one-shot of 0.2 s is kept).
    sf.write(root / "low" / "blip.wav", np.zeros(1, np.float32), 96000)
    proc = subprocess.run([str(BIN / "musicfusion"), "manifest", str(root), "--name", "calls",
                           "--label-column", "genre"], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    entry = yaml.safe_load(proc.stdout[proc.stdout.index("datasets:"):])["datasets"]["calls"]
    assert entry["modalities"] == ["audio"] and entry["tasks"] == ["genre"]
    register(project, "calls", entry)
    log = run(project, "calls").stderr
    # One line per method or pair left out, naming what it needs.
    assert log.count("early_fusion (fuses the dataset's modalities and needs at least 2; the dataset has audio) "
                     "is left out") == 1
    assert log.count("video_only (needs video) is left out") == 1
    assert log.count("transfer video -> audio is left out") == 1
    return project


@pytest.fixture(scope="module")
def moods(project, tmp_path_factory) -> Path:
    """Audio and text, text missing for a quarter of the clips, some clips unlabelled."""
    root = tmp_path_factory.mktemp("moods")
    rng = np.random.default_rng(1)
    rows = []
    for i in range(40):
        mood = "calm" if i % 2 else "bright"
        clip = f"m{i:02d}"
        sf.write(root / f"{clip}.wav", tone(300.0 if mood == "calm" else 600.0, 2.0, rng), SAMPLE_RATE)
        has_text = i % 4 != 0
        if has_text:
            (root / f"{clip}.txt").write_text(f"{WORDS[mood]} {clip}\n", encoding="utf-8")
        rows.append({"clip_id": clip, "split": ["train", "train", "train", "validation", "test"][i % 5],
                     "mood": "" if i in (5, 6) else mood, "audio_path": f"{clip}.wav",
                     "text_path": f"{clip}.txt" if has_text else ""})
    pd.DataFrame(rows).to_csv(root / "manifest.csv", index=False)
    register(project, "moods", {"manifest": str(root / "manifest.csv"), "modalities": ["audio", "text"],
                                "tasks": ["mood"]})
    run(project, "moods")
    return project


# A major arpeggio (root, third, fifth, octave) of 0.4 s notes on each class's tone.
ARPEGGIO = (1.0, 1.25, 1.5, 2.0)


def arpeggio(frequency: float, rng: np.random.Generator) -> np.ndarray:
    notes = []
    for ratio in ARPEGGIO:
        t = np.arange(int(0.4 * SAMPLE_RATE)) / SAMPLE_RATE
        hz = frequency * ratio * (1 + 0.005 * rng.standard_normal())
        envelope = np.minimum(1.0, t / 0.01) * np.exp(-3 * t)  # a plucked note: sharp attack, decay
        notes.append(0.3 * envelope * sum(np.sin(2 * np.pi * hz * k * t) / k for k in (1, 2, 3)))
    signal = np.concatenate([*notes, np.zeros(SAMPLE_RATE // 5)])
    return (signal + 0.01 * rng.standard_normal(len(signal))).astype(np.float32)


@pytest.fixture(scope="module")
def arpeggios(project, tmp_path_factory) -> Path:
    """Recordings of arpeggios on three tones, no scores: the score is transcribed from the audio, and
    the dataset names the four methods it runs."""
    root = tmp_path_factory.mktemp("arpeggios")
    rng = np.random.default_rng(2)
    rows = []
    for genre, frequency in GENRES.items():
        for i in range(12):
            clip = f"{genre}{i:02d}"
            sf.write(root / f"{clip}.wav", arpeggio(frequency, rng), SAMPLE_RATE)
            rows.append({"clip_id": clip, "audio_path": f"{clip}.wav", "genre": genre})
    pd.DataFrame(rows).to_csv(root / "manifest.csv", index=False)
    register(project, "arpeggios", {"manifest": str(root / "manifest.csv"), "modalities": ["audio"],
                                    "tasks": ["genre"], "score_from": "audio",
                                    "methods": ["audio_only", "score_only", "score_control", "late_fusion"]})
    log = run(project, "arpeggios").stderr
    assert log.count("transfer audio -> score is left out") == 1  # it would map the audio onto itself
    assert log.count("audio_pitch_cnn (not among the dataset's methods) is left out") == 1
    return project


def test_audio_only_variable_length_dataset_runs_with_its_own_task(calls):
    summary = pd.read_csv(calls / "results/calls/summary.csv")
    # The others need video or text; the pitch CNN's feature set is the audio's too.
    assert set(summary["method"]) == {"audio_only", "audio_control", "audio_pitch_cnn", "audio_mfcc_pitch_cnn"}
    assert set(summary["task"]) == {"genre"}
    audio = summary.set_index("method").loc["audio_only"]
    assert audio["n_test_clips"] == 36 and audio["recall_macro"] > 0.9  # three tones, well apart
    bad = pd.read_csv(calls / "data/interim/calls/bad_clips.csv")
    assert bad["clip_id"].tolist() == ["low__blip"] and "too short" in bad["problem"].iloc[0]
    clips = pd.read_csv(calls / "data/processed/calls/features/clips.csv")
    assert set(clips["split"]) == {"train", "validation", "test"}  # split by the workflow itself
    assert not (calls / "results/calls/transfer.csv").exists()  # no pair of modalities to map


def test_audio_and_partial_text_dataset_uses_every_clip_a_method_can(moods):
    summary = pd.read_csv(moods / "results/moods/summary.csv").set_index("method")
    # The fusion methods declared over the dataset's modalities fuse the two it has.
    fusion = {"early_fusion", "early_fusion_dropout", "late_fusion", "stacking"}
    assert set(summary.index) == {"audio_only", "audio_control", "text_only", "text_control", "audio_pitch_cnn",
                                  "audio_mfcc_pitch_cnn"} | fusion
    assert set(summary.loc[sorted(fusion), "modalities"]) == {"audio+text"}
    assert summary.loc["late_fusion", "learner"] == "audio:logistic text:logistic"
    # 40 clips, 2 of them unlabelled; text is absent for 10 others: every method is scored on all
    # 38 labelled clips, the text baseline giving no prediction (an error) for the 10
    assert summary.loc["audio_only", "n_test_clips"] == 38
    assert summary.loc["text_only", "n_test_clips"] == 38
    natural = pd.read_csv(moods / "results/moods/robustness.csv")
    natural = natural[natural["perturbation"] == "natural_absence"].set_index("method")
    assert set(natural["modality"]) == {"text"}
    assert natural.loc["text_only", "coverage"] == 0.0 and natural.loc["audio_only", "coverage"] == 1.0
    assert natural.loc["text_only", "n_test"] == REPETITIONS * 10  # each clip lacking text tested once per repetition
    absent = pd.read_csv(moods / "data/interim/moods/absent.csv")
    assert len(absent) == 10 and set(absent["modality"]) == {"text"}
    assert pd.read_csv(moods / "data/interim/moods/bad_clips.csv").empty
    significance = pd.read_csv(moods / "results/moods/significance.csv")
    assert set(significance["comparison"]) == {"modality_vs_control", "fusion_vs_best_single"}
    # audio_mfcc_pitch_cnn joins the audio's two feature sets: a fusion method, compared as one.
    assert set(significance.loc[significance["comparison"] == "fusion_vs_best_single", "method"]) == fusion | {
        "audio_mfcc_pitch_cnn"}
    transfer = pd.read_csv(moods / "results/moods/transfer.csv")
    assert set(zip(transfer["source"], transfer["target"])) == {("text", "audio"), ("audio", "text")}
    assert "mood_precision@5" in transfer.columns


def test_a_user_dataset_has_its_own_reference_and_mlflow_runs(calls):
    run(calls, "calls", "update_reference")
    assert (calls / "reference/calls/summary.csv").is_file()
    assert "Reproduced" in run(calls, "calls", "reproduce").stderr
    import mlflow

    client = mlflow.MlflowClient(tracking_uri=f"sqlite:///{calls / 'mlflow.db'}")
    experiment = client.get_experiment_by_name("musicfusion")
    runs = client.search_runs([experiment.experiment_id], filter_string="tags.method = 'audio_only' and tags.kind = 'fusion'")
    # One run for its one task, carrying the dataset's name (beside any other dataset's runs).
    assert [d.dataset.name for r in runs for d in r.inputs.dataset_inputs].count("calls") == 1


def test_two_datasets_sit_side_by_side(calls, moods):
    assert (calls / "results/calls/summary.csv").is_file() and (moods / "results/moods/summary.csv").is_file()
    assert (calls / "models/calls/audio_only/model.pkl").is_file()
    assert (moods / "models/moods/text_only/model.pkl").is_file()


def test_an_audio_dataset_takes_its_transcription_as_its_score(arpeggios):
    summary = pd.read_csv(arpeggios / "results/arpeggios/summary.csv").set_index("method")
    assert set(summary.index) == {"audio_only", "score_only", "score_control", "late_fusion"}
    assert summary.loc["late_fusion", "modalities"] == "audio+score"
    # The classes are arpeggios an octave apart: the transcribed notes name them, better than the score's
    # shortcut control does (four notes in every clip, but their transcribed lengths differ by register).
    assert summary.loc["score_only", "recall_macro"] > 0.9
    assert summary.loc["score_control", "recall_macro"] < summary.loc["score_only", "recall_macro"]
    notes = np.load(arpeggios / "data/interim/arpeggios/score/shard-000.npz")
    by_clip = dict(zip(notes["clip_ids"], np.split(notes["notes"], np.cumsum(notes["lengths"])[:-1])))
    assert len(by_clip) == 36
    root = {"low": 57, "mid": 69, "high": 81}  # A3, A4, A5: the arpeggio A, C#, E, A above each
    for clip, found in by_clip.items():
        genre = clip[:-2]
        assert sorted(found[:, 0].astype(int)) == [root[genre] + step for step in (0, 4, 7, 12)], clip
        np.testing.assert_allclose(np.sort(found[:, 1]), [0.0, 0.8, 1.6, 2.4], atol=0.15)  # 0.4 s = 0.8 quarters
    described = pd.read_csv(arpeggios / "results/arpeggios/dataset.csv").set_index(["task", "label"])
    assert described.loc[("(derived from audio)", "score"), "total"] == 36
    # The manifest has no scores: nothing to score a transcription against.
    assert not (arpeggios / "results/arpeggios/transcription.csv").exists()
