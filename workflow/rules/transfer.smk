# Transfer: map one modality onto another (params.yaml `transfer`), retrieve, recommend.
# One job per configured [source, target] pair fits every mapping method; one summary across pairs.


rule transfer:
    input:
        source=f"{FEATURES}/{{source}}.npz",
        target=f"{FEATURES}/{{target}}.npz",
        clips=f"{FEATURES}/clips.csv",
    output:
        metrics=f"{RESULTS}/transfer/{{source}}_to_{{target}}/metrics.json",
        ranks=f"{RESULTS}/transfer/{{source}}_to_{{target}}/ranks.csv",
        curve=report(f"{RESULTS}/transfer/{{source}}_to_{{target}}/recall_at_k.png",
                     caption="../report/transfer_pair.rst", category="Transfer",
                     subcategory="{source} to {target}"),
        model=LAYOUT.transfer_model("{source}_to_{target}"),
    log:
        f"logs/transfer/{DATASET.name}/{{source}}_to_{{target}}.log",
    benchmark:
        f"results/benchmarks/transfer/{DATASET.name}/{{source}}_to_{{target}}.tsv"
    params:
        transfer=transfer_fit_params(),
        seed=config["seed"],
        dataset=DATASET.name,
        # Class-level precision counts the labels of the dataset's first task.
        label=TASKS[0],
    conda:
        "../envs/musicfusion.yaml"
    script:
        "../scripts/transfer.py"


rule summarize_transfer:
    input:
        metrics=expand(f"{RESULTS}/transfer/{{pair}}/metrics.json", pair=TRANSFER_PAIRS),
        ranks=expand(f"{RESULTS}/transfer/{{pair}}/ranks.csv", pair=TRANSFER_PAIRS),
    output:
        csv=report(f"{RESULTS}/transfer.csv", caption="../report/transfer.rst", category="Transfer"),
        markdown=f"{RESULTS}/transfer.md",
        plot=report(f"{RESULTS}/recall_at_k.png", caption="../report/recall_at_k.rst", category="Transfer"),
        significance=report(f"{RESULTS}/transfer_significance.csv",
                            caption="../report/transfer_significance.rst", category="Transfer"),
    log:
        f"logs/summarize_transfer/{DATASET.name}.log",
    benchmark:
        f"results/benchmarks/summarize_transfer/{DATASET.name}.tsv"
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
        metrics=f"{RESULTS}/transfer/{{source}}_to_{{target}}/metrics.json",
        curve=f"{RESULTS}/transfer/{{source}}_to_{{target}}/recall_at_k.png",
        fingerprint=FINGERPRINT,
    output:
        f"{RESULTS}/transfer/{{source}}_to_{{target}}/mlflow_runs.json",
    log:
        f"logs/track_transfer/{DATASET.name}/{{source}}_to_{{target}}.log",
    benchmark:
        f"results/benchmarks/track_transfer/{DATASET.name}/{{source}}_to_{{target}}.tsv"
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
