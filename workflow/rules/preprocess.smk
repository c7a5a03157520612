# Preprocess: validate every file and bring each modality to one shape, a shard per job.


rule preprocess:
    input:
        manifest=manifest_of,
    output:
        # One interim file per modality the dataset has.
        **{m: f"data/interim/{{dataset}}/{m}/shard-{{shard}}.npz" for m in DATASET.modalities},
        bad_clips="data/interim/{dataset}/bad_clips/shard-{shard}.csv",
        absent="data/interim/{dataset}/absent/shard-{shard}.csv",
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
        bad=expand("data/interim/{{dataset}}/bad_clips/shard-{shard}.csv", shard=SHARDS),
        absent=expand("data/interim/{{dataset}}/absent/shard-{shard}.csv", shard=SHARDS),
    output:
        bad=report("data/interim/{dataset}/bad_clips.csv", caption="../report/bad_clips.rst", category="Data"),
        absent="data/interim/{dataset}/absent.csv",
    log:
        "logs/bad_clips_report/{dataset}.log",
    benchmark:
        "results/benchmarks/bad_clips_report/{dataset}.tsv"
    conda:
        "../envs/musicfusion.yaml"
    script:
        "../scripts/bad_clips_report.py"
