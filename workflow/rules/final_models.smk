# Final models: each method's configuration chosen on the dataset's own validation split, refitted
# on every labelled clip. Applications (`musicfusion assist`) use these; the fold models
# (train.smk) stay for evaluation.


rule final_model:
    input:
        clips=f"{FEATURES}/clips.csv",
        features=final_model_inputs,
    output:
        model=f"{MODELS}/{{method}}/final_model.pkl",
        validation=f"{MODELS}/{{method}}/final_validation.csv",
    log:
        f"logs/final_model/{DATASET.name}/{{method}}.log",
    benchmark:
        f"results/benchmarks/final_model/{DATASET.name}/{{method}}.tsv"
    params:
        method=method_params,
        tasks=TASKS,
        seed=config["seed"],
        selection_metric=config["evaluate"]["selection_metric"],
        learners=method_learners,
        tuning=config["tuning"],
    conda:
        "../envs/musicfusion.yaml"
    script:
        "../scripts/final_model.py"
