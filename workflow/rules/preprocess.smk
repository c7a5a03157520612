# Preprocess: validate every file and bring each modality to one shape, a shard per job.


rule preprocess:
    input:
        manifest=manifest_of,
    output:
        audio="data/interim/{dataset}/audio/shard-{shard}.npz",
        video="data/interim/{dataset}/video/shard-{shard}.npz",
        text="data/interim/{dataset}/text/shard-{shard}.npz",
        bad_clips="data/interim/{dataset}/bad_clips/shard-{shard}.csv",
    log:
        "logs/preprocess/{dataset}/shard-{shard}.log",
    benchmark:
        "results/benchmarks/preprocess/{dataset}/shard-{shard}.tsv"
    params:
        preprocess=config["preprocess"],
        clip_seconds=clip_seconds_of,
    conda:
        "../envs/musicfusion.yaml"
    script:
        "../scripts/preprocess.py"


rule bad_clips_report:
    input:
        expand("data/interim/{{dataset}}/bad_clips/shard-{shard}.csv", shard=SHARDS),
    output:
        report("data/interim/{dataset}/bad_clips.csv", caption="../report/bad_clips.rst", category="Data"),
    log:
        "logs/bad_clips_report/{dataset}.log",
    benchmark:
        "results/benchmarks/bad_clips_report/{dataset}.tsv"
    conda:
        "../envs/musicfusion.yaml"
    script:
        "../scripts/bad_clips_report.py"
