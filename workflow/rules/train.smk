# Train: one job per registered method (params.yaml `methods`), all tasks at once.


rule train:
    input:
        clips=f"{FEATURES}/clips.csv",
        features=method_inputs,
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
        n_folds=N_FOLDS,
        selection_metric=config["evaluate"]["selection_metric"],
    conda:
        "../envs/musicfusion.yaml"
    script:
        "../scripts/train.py"
