# Extract: one feature matrix per modality, rows aligned by clip id; the clip table beside them.


rule extract_shard:
    input:
        shard_media,
    output:
        temp(f"{PATTERN.features}/{{modality}}/shard-{{shard}}.npz"),
    log:
        "logs/extract_shard/{dataset}/{modality}/shard-{shard}.log",
    benchmark:
        "results/benchmarks/extract_shard/{dataset}/{modality}/shard-{shard}.tsv"
    params:
        extract=extract_params,
    wildcard_constraints:
        modality=feature_set_pattern(),
    conda:
        "../envs/musicfusion.yaml"
    script:
        "../scripts/extract_shard.py"


rule gather_features:
    input:
        [f"{PATTERN.features}/{{modality}}/shard-{shard}.npz" for shard in SHARDS],
    output:
        f"{PATTERN.features}/{{modality}}.npz",
    log:
        "logs/gather_features/{dataset}/{modality}.log",
    benchmark:
        "results/benchmarks/gather_features/{dataset}/{modality}.tsv"
    wildcard_constraints:
        modality=feature_set_pattern(),
    conda:
        "../envs/musicfusion.yaml"
    script:
        "../scripts/gather_features.py"


rule extract_control_shard:
    input:
        PATTERN.interim_shard("{modality}", "{shard}"),
    output:
        temp(f"{PATTERN.features}/control/{{modality}}/shard-{{shard}}.npz"),
    log:
        "logs/extract_control_shard/{dataset}/{modality}/shard-{shard}.log",
    benchmark:
        "results/benchmarks/extract_control_shard/{dataset}/{modality}/shard-{shard}.tsv"
    params:
        extract=control_params,
    conda:
        "../envs/musicfusion.yaml"
    script:
        "../scripts/extract_shard.py"


rule gather_controls:
    input:
        [f"{PATTERN.features}/control/{{modality}}/shard-{shard}.npz" for shard in SHARDS],
    output:
        f"{PATTERN.features}/control/{{modality}}.npz",
    log:
        "logs/gather_controls/{dataset}/{modality}.log",
    benchmark:
        "results/benchmarks/gather_controls/{dataset}/{modality}.tsv"
    conda:
        "../envs/musicfusion.yaml"
    script:
        "../scripts/gather_features.py"


rule extract_text:
    input:
        shards=interim_shards("text"),
        clips=f"{PATTERN.features}/clips.csv",
    output:
        features=f"{PATTERN.features}/text.npz",
        vectorizer=f"{PATTERN.features}/text_vectorizer.pkl",
    log:
        "logs/extract_text/{dataset}.log",
    benchmark:
        "results/benchmarks/extract_text/{dataset}.tsv"
    params:
        features=config["features"]["text"],
    conda:
        "../envs/musicfusion.yaml"
    script:
        "../scripts/extract_text.py"


rule clip_table:
    input:
        # Which clips survived preprocessing, per modality the dataset has.
        **{m: interim_shards(m) for m in DATASET.modalities},
        manifest=manifest_of,
    output:
        f"{PATTERN.features}/clips.csv",
    log:
        "logs/clip_table/{dataset}.log",
    benchmark:
        "results/benchmarks/clip_table/{dataset}.tsv"
    params:
        dataset=dataset_params,
        # A manifest without a split column is split in these fractions, stratified and grouped.
        split_fractions=config["collect"]["splits"],
        seed=config["seed"],
    conda:
        "../envs/musicfusion.yaml"
    script:
        "../scripts/clip_table.py"


rule describe_dataset:
    input:
        f"{FEATURES}/clips.csv",
    output:
        report(f"{RESULTS}/dataset.csv", caption="../report/dataset.rst", category="Data"),
    log:
        f"logs/describe_dataset/{DATASET.name}.log",
    benchmark:
        f"results/benchmarks/describe_dataset/{DATASET.name}.tsv"
    params:
        tasks=TASKS,
        # A derived modality and what it is made from: {"score": "audio"} for a transcribed score.
        derived={m: TRANSCRIBED_FROM for m in DATASET.derived},
    conda:
        "../envs/musicfusion.yaml"
    script:
        "../scripts/describe_dataset.py"


rule split_fold:
    input:
        f"{PATTERN.features}/clips.csv",
    output:
        f"{PATTERN.features}/fold-{{fold}}/clips.csv",
    log:
        "logs/split_fold/{dataset}/fold-{fold}.log",
    benchmark:
        "results/benchmarks/split_fold/{dataset}/fold-{fold}.tsv"
    params:
        folds=config["evaluate"]["folds"],
        seed=config["seed"],
        # Stratified by every task's label at once.
        tasks=TASKS,
    conda:
        "../envs/musicfusion.yaml"
    script:
        "../scripts/split_fold.py"


rule extract_text_fold:
    input:
        shards=interim_shards("text"),
        clips=f"{PATTERN.features}/fold-{{fold}}/clips.csv",
    output:
        features=f"{PATTERN.features}/fold-{{fold}}/text.npz",
    log:
        "logs/extract_text/{dataset}/fold-{fold}.log",
    benchmark:
        "results/benchmarks/extract_text/{dataset}/fold-{fold}.tsv"
    params:
        features=config["features"]["text"],
    conda:
        "../envs/musicfusion.yaml"
    script:
        "../scripts/extract_text.py"
