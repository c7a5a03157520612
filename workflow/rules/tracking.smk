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
    params:
        config=config,
    script:
        "../scripts/provenance.py"


rule describe_dataset:
    input:
        f"data/processed/{DATASET.name}/features/clips.csv",
    output:
        report("results/dataset.csv", caption="../report/dataset.rst", category="Data"),
    log:
        "logs/describe_dataset.log",
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
    params:
        method=lambda wc: config["methods"][wc.method],
        logged={k: config[k] for k in ("dataset", "seed", "preprocess", "features", "tasks")},
        preset=DATASET.name if DATASET.is_preset else "user",
        config=config,
        uri=TRACKING["uri"],
        experiment=TRACKING["experiment"],
    script:
        "../scripts/track.py"
