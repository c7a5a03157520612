# Preprocess: validate every file and bring each modality to one shape, a shard per job.


rule preprocess:
    input:
        manifest=manifest_of,
    output:
        # One interim file per modality the dataset has.
        **{m: PATTERN.interim_shard(m, "{shard}") for m in DATASET.modalities},
        bad_clips=f"{PATTERN.interim}/bad_clips/shard-{{shard}}.csv",
        absent=f"{PATTERN.interim}/absent/shard-{{shard}}.csv",
    log:
        "logs/preprocess/{dataset}/shard-{shard}.log",
    benchmark:
        "results/benchmarks/preprocess/{dataset}/shard-{shard}.tsv"
    params:
        preprocess=config["preprocess"],
        n_shards=N_SHARDS,
        dataset=dataset_params,
    conda:
        "../envs/musicfusion.yaml"
    script:
        "../scripts/preprocess.py"


rule bad_clips_report:
    input:
        bad=[f"{PATTERN.interim}/bad_clips/shard-{shard}.csv" for shard in SHARDS],
        absent=[f"{PATTERN.interim}/absent/shard-{shard}.csv" for shard in SHARDS],
    output:
        bad=report(f"{PATTERN.interim}/bad_clips.csv", caption="../report/bad_clips.rst", category="Data"),
        absent=f"{PATTERN.interim}/absent.csv",
    log:
        "logs/bad_clips_report/{dataset}.log",
    benchmark:
        "results/benchmarks/bad_clips_report/{dataset}.tsv"
    conda:
        "../envs/musicfusion.yaml"
    script:
        "../scripts/bad_clips_report.py"
