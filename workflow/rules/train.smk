# Train: one job per registered method (params.yaml `methods`), all tasks at once.


rule train:
    input:
        features=features_of(DATASET.name),
        clips=f"{FEATURES}/clips.csv",
        repeats=repeat_features_of(DATASET.name),
    output:
        model="models/{method}/model.pkl",
        predictions="models/{method}/predictions.csv",
    log:
        "logs/train/{method}.log",
    benchmark:
        "results/benchmarks/train/{method}.tsv"
    params:
        method=method_params,
        tasks=config["tasks"],
        seed=config["seed"],
        n_repeats=config["evaluate"]["n_repeats"],
        selection_metric=config["evaluate"]["selection_metric"],
    conda:
        "../envs/musicfusion.yaml"
    script:
        "../scripts/train.py"
