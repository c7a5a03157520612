# Track: the MLflow store is created once before jobs start; one run per method and task, and
# the provenance of the results (commit, data and params hashes, package versions).


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
        "results/benchmarks/dataset_fingerprint/{dataset}.tsv"
    conda:
        "../envs/musicfusion.yaml"
    script:
        "../scripts/dataset_fingerprint.py"


rule provenance:
    input:
        fingerprint=FINGERPRINT,
        summary="results/summary.csv",
    output:
        report("results/provenance.json", caption="../report/provenance.rst", category="Provenance"),
    log:
        "logs/provenance.log",
    benchmark:
        "results/benchmarks/provenance.tsv"
    params:
        config=config,
    conda:
        "../envs/musicfusion.yaml"
    script:
        "../scripts/provenance.py"


rule track:
    input:
        metrics="results/methods/{method}/metrics.json",
        model="models/{method}/model.pkl",
        confusion=expand("results/methods/{{method}}/confusion_{task}.png", task=config["tasks"]),
        fingerprint=FINGERPRINT,
    output:
        "results/methods/{method}/mlflow_runs.json",
    log:
        "logs/track/{method}.log",
    benchmark:
        "results/benchmarks/track/{method}.tsv"
    params:
        method=method_params,
        logged=fusion_shaping_params(),
        preset=PRESET_LABEL,
        manifest=str(DATASET.manifest),
        uri=TRACKING["uri"],
        experiment=TRACKING["experiment"],
    conda:
        "../envs/musicfusion.yaml"
    script:
        "../scripts/track.py"
