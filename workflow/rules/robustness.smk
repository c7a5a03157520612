# Robustness: every method's fold models re-scored with a modality absent or degraded
# (params.yaml `robustness`); degraded media are re-extracted per shard.


rule perturb_shard:
    input:
        PATTERN.interim_shard("{modality}", "{shard}"),
    output:
        temp(f"{PATTERN.perturbed}/{{modality}}/shard-{{shard}}.npz"),
    log:
        "logs/perturb_shard/{dataset}/{modality}/shard-{shard}.log",
    benchmark:
        "results/benchmarks/perturb_shard/{dataset}/{modality}/shard-{shard}.tsv"
    params:
        noise=config["robustness"]["noise"],
        seed=config["seed"],
        settings=perturb_settings,
    conda:
        "../envs/musicfusion.yaml"
    script:
        "../scripts/perturb_shard.py"


rule gather_perturbed:
    input:
        [f"{PATTERN.perturbed}/{{modality}}/shard-{shard}.npz" for shard in SHARDS],
    output:
        f"{PATTERN.perturbed}/{{modality}}.npz",
    log:
        "logs/gather_perturbed/{dataset}/{modality}.log",
    benchmark:
        "results/benchmarks/gather_perturbed/{dataset}/{modality}.tsv"
    conda:
        "../envs/musicfusion.yaml"
    script:
        "../scripts/gather_perturbed.py"


rule robustness:
    input:
        unpack(robustness_inputs),
        fold_models=f"{MODELS}/{{method}}/fold_models.pkl",
    output:
        f"{RESULTS}/methods/{{method}}/robustness_folds.csv",
    log:
        f"logs/robustness/{DATASET.name}/{{method}}.log",
    benchmark:
        f"results/benchmarks/robustness/{DATASET.name}/{{method}}.tsv"
    params:
        method=method_params,
        tasks=TASKS,
        modalities=list(DATASET.modalities),
        n_folds=N_FOLDS,
        seed=config["seed"],
        noise=config["robustness"]["noise"],
        absent_fractions=config["robustness"]["absent_fractions"],
        text_features=config["features"]["text"],
    conda:
        "../envs/musicfusion.yaml"
    script:
        "../scripts/robustness.py"


rule summarize_robustness:
    input:
        expand(f"{RESULTS}/methods/{{method}}/robustness_folds.csv", method=ROBUST_METHODS),
    output:
        csv=report(f"{RESULTS}/robustness.csv", caption="../report/robustness.rst", category="Robustness"),
        relative=report(f"{RESULTS}/robustness_relative.csv", caption="../report/robustness_relative.rst",
                        category="Robustness"),
        absent=report(f"{RESULTS}/robustness_absent.png", caption="../report/robustness_absent.rst",
                      category="Robustness"),
        noise=report(f"{RESULTS}/robustness_noise.png", caption="../report/robustness_noise.rst",
                     category="Robustness"),
        relative_plot=report(f"{RESULTS}/robustness_relative.png", caption="../report/robustness_relative.rst",
                             category="Robustness"),
    log:
        f"logs/summarize_robustness/{DATASET.name}.log",
    benchmark:
        f"results/benchmarks/summarize_robustness/{DATASET.name}.tsv"
    params:
        metric=config["evaluate"]["selection_metric"],
        confidence=config["evaluate"]["confidence"],
        noise=config["robustness"]["noise"],
    conda:
        "../envs/musicfusion.yaml"
    script:
        "../scripts/summarize_robustness.py"


rule track_robustness:
    input:
        csv=f"{RESULTS}/robustness.csv",
        relative=f"{RESULTS}/robustness_relative.csv",
        plots=[f"{RESULTS}/robustness_{name}.png" for name in ("absent", "noise", "relative")],
        fingerprint=FINGERPRINT,
    output:
        f"{RESULTS}/robustness_mlflow_runs.json",
    log:
        f"logs/track_robustness/{DATASET.name}.log",
    benchmark:
        f"results/benchmarks/track_robustness/{DATASET.name}.tsv"
    params:
        shaping=robustness_shaping_params(),
        preset=PRESET_LABEL,
        manifest=str(DATASET.manifest),
        uri=TRACKING["uri"],
        experiment=TRACKING["experiment"],
    conda:
        "../envs/musicfusion.yaml"
    script:
        "../scripts/track_robustness.py"
