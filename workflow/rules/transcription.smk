# Transcription (params.yaml `transcription`): a preset's test clips heard by the pitch CNN, turned
# into notes and scored against the notes they were rendered from (mir_eval); one MLflow run. A
# user dataset with audio and no scores (`score_from: audio`) takes its audio's transcription as
# its score modality, a shard at a time.


if DATASET.derived:

    rule derive_score:
        input:
            audio=LAYOUT.interim_shard(TRANSCRIBED_FROM, "{shard}"),
        output:
            LAYOUT.interim_shard("score", "{shard}"),
        log:
            f"logs/derive_score/{DATASET.name}/shard-{{shard}}.log",
        benchmark:
            f"results/benchmarks/derive_score/{DATASET.name}/shard-{{shard}}.tsv"
        params:
            settings=TRANSCRIPTION["notes"],
            sample_rate=config["preprocess"]["audio"]["sample_rate"],
            min_notes=config["preprocess"]["score"]["min_notes"],
        conda:
            "../envs/musicfusion.yaml"
        script:
            "../scripts/derive_score.py"


rule transcription:
    input:
        clips=f"{FEATURES}/clips.csv",
        audio=[LAYOUT.interim_shard("audio", shard) for shard in SHARDS],
        score=[LAYOUT.interim_shard("score", shard) for shard in SHARDS],
    output:
        table=report(f"{RESULTS}/transcription.csv", caption="../report/transcription.rst",
                     category="Transcription"),
        clips=f"{RESULTS}/transcription_clips.csv",
    log:
        f"logs/transcription/{DATASET.name}.log",
    benchmark:
        f"results/benchmarks/transcription/{DATASET.name}.tsv"
    params:
        settings=TRANSCRIPTION["notes"],
        split=TRANSCRIPTION["split"],
        by=TRANSCRIPTION["by"],
        sample_rate=config["preprocess"]["audio"]["sample_rate"],
        confidence=config["evaluate"]["confidence"],
    conda:
        "../envs/musicfusion.yaml"
    script:
        "../scripts/transcription.py"


rule track_transcription:
    input:
        table=f"{RESULTS}/transcription.csv",
        clips=f"{RESULTS}/transcription_clips.csv",
        fingerprint=FINGERPRINT,
    output:
        f"{RESULTS}/transcription_mlflow_runs.json",
    log:
        f"logs/track_transcription/{DATASET.name}.log",
    benchmark:
        f"results/benchmarks/track_transcription/{DATASET.name}.tsv"
    params:
        dataset=DATASET.name,
        preset=PRESET_LABEL,
        shaping=transcription_shaping_params(),
        manifest=str(DATASET.manifest),
        uri=TRACKING["uri"],
        experiment=TRACKING["experiment"],
    conda:
        "../envs/musicfusion.yaml"
    script:
        "../scripts/track_transcription.py"
