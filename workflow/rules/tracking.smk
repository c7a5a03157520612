# Track: the MLflow store is created once before jobs start; one run per method and task, and
# the provenance of the results (commit, data and params hashes, package versions).


onstart:
    # A tracking server that is down costs a warning here, not the workflow: every other result is
    # still built, and the track jobs fail fast saying so (a rerun logs them once it is back).
    from musicfusion.tracking.store import init_store_or_warn, tracking_uri

    init_store_or_warn(tracking_uri(TRACKING["uri"]), TRACKING["experiment"])


rule dataset_fingerprint:
    input:
        manifest=manifest_of,
    output:
        PATTERN.fingerprint,
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
        summary=f"{RESULTS}/summary.csv",
    output:
        report(f"{RESULTS}/provenance.json", caption="../report/provenance.rst", category="Provenance"),
    log:
        f"logs/provenance/{DATASET.name}.log",
    benchmark:
        f"results/benchmarks/provenance/{DATASET.name}.tsv"
    params:
        config=config,
    conda:
        "../envs/musicfusion.yaml"
    script:
        "../scripts/provenance.py"


rule track:
    input:
        metrics=f"{RESULTS}/methods/{{method}}/metrics.json",
        model=f"{MODELS}/{{method}}/model.pkl",
        final_model=f"{MODELS}/{{method}}/final_model.pkl",
        trials=f"{MODELS}/{{method}}/trials.csv",
        confusion=expand(f"{RESULTS}/methods/{{{{method}}}}/confusion_{{task}}.png", task=TASKS),
        fingerprint=FINGERPRINT,
    output:
        f"{RESULTS}/methods/{{method}}/mlflow_runs.json",
    log:
        f"logs/track/{DATASET.name}/{{method}}.log",
    benchmark:
        f"results/benchmarks/track/{DATASET.name}/{{method}}.tsv"
    params:
        method=method_params,
        logged=fusion_shaping_params(),
        learners=method_learners,
        preset=PRESET_LABEL,
        manifest=str(DATASET.manifest),
        uri=TRACKING["uri"],
        experiment=TRACKING["experiment"],
    conda:
        "../envs/musicfusion.yaml"
    script:
        "../scripts/track.py"
