# Transfer: map one modality onto another (params.yaml `transfer`), retrieve, recommend.
# One job per configured [source, target] pair fits every mapping method; one summary across pairs.


rule transfer:
    input:
        source=f"{FEATURES}/{{source}}.npz",
        target=f"{FEATURES}/{{target}}.npz",
        clips=f"{FEATURES}/clips.csv",
    output:
        metrics="results/transfer/{source}_to_{target}/metrics.json",
        ranks="results/transfer/{source}_to_{target}/ranks.csv",
        curve=report("results/transfer/{source}_to_{target}/recall_at_k.png",
                     caption="../report/transfer_pair.rst", category="Transfer",
                     subcategory="{source} to {target}"),
        model="models/transfer/{source}_to_{target}.pkl",
    log:
        "logs/transfer/{source}_to_{target}.log",
    benchmark:
        "results/benchmarks/transfer/{source}_to_{target}.tsv"
    params:
        transfer=transfer_fit_params(),
        seed=config["seed"],
        dataset=DATASET.name,
    conda:
        "../envs/musicfusion.yaml"
    script:
        "../scripts/transfer.py"


rule summarize_transfer:
    input:
        metrics=expand("results/transfer/{pair}/metrics.json", pair=TRANSFER_PAIRS),
        ranks=expand("results/transfer/{pair}/ranks.csv", pair=TRANSFER_PAIRS),
    output:
        csv=report("results/transfer.csv", caption="../report/transfer.rst", category="Transfer"),
        markdown="results/transfer.md",
        plot=report("results/recall_at_k.png", caption="../report/recall_at_k.rst", category="Transfer"),
        significance=report("results/transfer_significance.csv",
                            caption="../report/transfer_significance.rst", category="Transfer"),
    log:
        "logs/summarize_transfer.log",
    benchmark:
        "results/benchmarks/summarize_transfer.tsv"
    params:
        bootstrap_samples=TRANSFER["bootstrap_samples"],
        # The same confidence level as the fusion comparisons.
        confidence=config["evaluate"]["confidence"],
        seed=config["seed"],
    conda:
        "../envs/musicfusion.yaml"
    script:
        "../scripts/summarize_transfer.py"


rule track_transfer:
    input:
        metrics="results/transfer/{source}_to_{target}/metrics.json",
        curve="results/transfer/{source}_to_{target}/recall_at_k.png",
        fingerprint=FINGERPRINT,
    output:
        "results/transfer/{source}_to_{target}/mlflow_runs.json",
    log:
        "logs/track_transfer/{source}_to_{target}.log",
    benchmark:
        "results/benchmarks/track_transfer/{source}_to_{target}.tsv"
    params:
        dataset=DATASET.name,
        preset=PRESET_LABEL,
        shaping=transfer_shaping_params(),
        manifest=str(DATASET.manifest),
        uri=TRACKING["uri"],
        experiment=TRACKING["experiment"],
    conda:
        "../envs/musicfusion.yaml"
    script:
        "../scripts/track_transfer.py"
