# Preprocess: validate every file and bring each modality to one shape, a shard per job.
from musicfusion.data.preprocess import extractor_minimums


rule preprocess:
    input:
        manifest=manifest_of,
    output:
        # One interim file per modality the dataset's manifest gives (a derived one is made by its own rule).
        **{m: PATTERN.interim_shard(m, "{shard}") for m in DATASET.read_modalities},
        bad_clips=f"{PATTERN.interim}/bad_clips/shard-{{shard}}.csv",
        absent=f"{PATTERN.interim}/absent/shard-{{shard}}.csv",
    log:
        "logs/preprocess/{dataset}/shard-{shard}.log",
    benchmark:
        "results/benchmarks/preprocess/{dataset}/shard-{shard}.tsv"
    params:
        preprocess=config["preprocess"],
        # The shortest audio and video clip the run's feature sets describe (seconds): only these
        # values of `features` reach the job, so editing a feature setting does not rerun it.
        shortest=lambda wildcards: extractor_minimums(config["features"], config["preprocess"],
                                                      dataset_spec(wildcards).read_modalities),
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
