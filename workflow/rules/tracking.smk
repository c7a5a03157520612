# Track: the MLflow store is created once before jobs start; one run per method and task.


onstart:
    from musicfusion.tracking import init_store, tracking_uri

    init_store(tracking_uri(TRACKING["uri"]), TRACKING["experiment"])


rule dataset_fingerprint:
    input:
        manifest=manifest_of,
    output:
        "data/processed/{dataset}/fingerprint.json",
    log:
        "logs/dataset_fingerprint/{dataset}.log",
    benchmark:
        "results/benchmarks/dataset_fingerprint/{dataset}.tsv",
    conda:
        "../envs/musicfusion.yaml"
    script:
        "../scripts/dataset_fingerprint.py"


rule provenance:
    input:
        fingerprint=f"data/processed/{DATASET.name}/fingerprint.json",
        summary="results/summary.csv",
    output:
        report("results/provenance.json", caption="../report/provenance.rst", category="Provenance"),
    log:
        "logs/provenance.log",
    benchmark:
        "results/benchmarks/provenance.tsv",
    params:
        config=config,
    conda:
        "../envs/musicfusion.yaml"
    script:
        "../scripts/provenance.py"


rule describe_dataset:
    input:
        f"data/processed/{DATASET.name}/features/clips.csv",
    output:
        report("results/dataset.csv", caption="../report/dataset.rst", category="Data"),
    log:
        "logs/describe_dataset.log",
    benchmark:
        "results/benchmarks/describe_dataset.tsv",
    conda:
        "../envs/musicfusion.yaml"
    script:
        "../scripts/describe_dataset.py"


rule track:
    input:
        metrics="results/methods/{method}/metrics.json",
        model="models/{method}/model.pkl",
        confusion=expand("results/methods/{{method}}/confusion_{task}.png", task=config["tasks"]),
        fingerprint=f"data/processed/{DATASET.name}/fingerprint.json",
    output:
        "results/methods/{method}/mlflow_runs.json",
    log:
        "logs/track/{method}.log",
    benchmark:
        "results/benchmarks/track/{method}.tsv",
    params:
        method=lambda wc: config["methods"][wc.method],
        # Everything that shapes this method's results (and nothing else, so that changing
        # another method or the transfer settings does not log this method again).
        logged={k: config[k] for k in ("dataset", "seed", "collect", "preprocess", "features", "tasks", "evaluate")},
        preset=DATASET.name if DATASET.is_preset else "user",
        uri=TRACKING["uri"],
        experiment=TRACKING["experiment"],
    conda:
        "../envs/musicfusion.yaml"
    script:
        "../scripts/track.py"
