# Train: one job per registered method (params.yaml `methods`), all tasks at once: in every
# fold its learner settings are tuned on validation clips, then refitted and tested once.


rule train:
    input:
        clips=f"{FEATURES}/clips.csv",
        features=method_inputs,
    output:
        model=f"{MODELS}/{{method}}/model.pkl",
        fold_models=f"{MODELS}/{{method}}/fold_models.pkl",
        predictions=f"{MODELS}/{{method}}/predictions.csv",
        trials=f"{MODELS}/{{method}}/trials.csv",
    log:
        f"logs/train/{DATASET.name}/{{method}}.log",
    benchmark:
        f"results/benchmarks/train/{DATASET.name}/{{method}}.tsv"
    params:
        method=method_params,
        tasks=TASKS,
        seed=config["seed"],
        n_folds=N_FOLDS,
        selection_metric=config["evaluate"]["selection_metric"],
        learners=method_learners,
        tuning=config["tuning"],
    conda:
        "../envs/musicfusion.yaml"
    script:
        "../scripts/train.py"
