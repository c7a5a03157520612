# Collect: build a preset dataset from the music21 corpus (user datasets bring their manifest).


rule collect:
    output:
        manifest=PATTERN.manifest,
        duplicates=f"{PATTERN.raw}/duplicates.csv",
        clips=directory(f"{PATTERN.raw}/clips"),
    log:
        "logs/collect/{dataset}.log",
    benchmark:
        "results/benchmarks/collect/{dataset}.tsv"
    params:
        collect=collect_params,
        seed=config["seed"],
    threads: config["collect"]["max_workers"]
    wildcard_constraints:
        dataset=preset_pattern(),
    conda:
        "../envs/musicfusion.yaml"
    script:
        "../scripts/collect.py"


rule version_raw_data:
    input:
        # The manifest is written after every clip, so it stands for the whole folder (a
        # directory's own time changes whenever DVC restores it).
        manifest=PATTERN.manifest,
    output:
        PATTERN.raw_version,
    log:
        "logs/version_raw_data/{dataset}.log",
    benchmark:
        "results/benchmarks/version_raw_data/{dataset}.tsv"
    params:
        python=PYTHON,
        raw=lambda wildcards: Layout(wildcards.dataset).raw,
    wildcard_constraints:
        dataset=preset_pattern(),
    conda:
        "../envs/musicfusion.yaml"
    shell:
        # DVC caches the folder (hardlinks keep the files' times, so Snakemake sees no change)
        # and pushes it to the default local remote so `dvc pull` works offline.
        "({params.python} -m dvc add --quiet {params.raw} && {params.python} -m dvc push --quiet {output}) > {log} 2>&1"
