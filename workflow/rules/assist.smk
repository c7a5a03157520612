# The evaluation of `musicfusion assist` (params.yaml `assist`): held-out clips as queries, one modality at a
# time and all of them; its table, reliability diagram and MLflow run.


rule assist_eval:
    input:
        unpack(assist_eval_inputs),
    output:
        table=report(f"{RESULTS}/assist.csv", caption="../report/assist.rst", category="Creation assistance"),
        figure=report(f"{RESULTS}/assist_reliability.png", caption="../report/assist.rst",
                      category="Creation assistance"),
        predictions=f"{RESULTS}/assist_predictions.csv",
    log:
        f"logs/assist_eval/{DATASET.name}.log",
    benchmark:
        f"results/benchmarks/assist_eval/{DATASET.name}.tsv"
    params:
        assist=ASSIST,
        methods=METHOD_PARAMS,
        fusion_methods=ASSIST_METHODS,
        modalities=list(DATASET.modalities),
        tasks=TASKS,
        n_folds=N_FOLDS,
        selection_metric=config["evaluate"]["selection_metric"],
        confidence=config["evaluate"]["confidence"],
        preprocess=config["preprocess"],
        features=config["features"],
        seed=config["seed"],
        sketches=ASSIST_SKETCHES,
        judge=ASSIST_JUDGE,
        operators=config["style_transfer"]["operator_sets"][ASSIST["operator_set"]],
        profile=config["style_transfer"]["profile"],
        render=collect_settings(config, DATASET.name) if DATASET.is_preset else {},
        clip_seconds=restyle_clip_seconds(),
    conda:
        "../envs/musicfusion.yaml"
    script:
        "../scripts/assist_eval.py"


rule track_assist:
    input:
        table=f"{RESULTS}/assist.csv",
        figure=f"{RESULTS}/assist_reliability.png",
        fingerprint=FINGERPRINT,
    output:
        f"{RESULTS}/assist_mlflow_runs.json",
    log:
        f"logs/track_assist/{DATASET.name}.log",
    benchmark:
        f"results/benchmarks/track_assist/{DATASET.name}.tsv"
    params:
        dataset=DATASET.name,
        preset=PRESET_LABEL,
        shaping={**fusion_shaping_params(), "assist": ASSIST, "methods": METHOD_PARAMS},
        manifest=str(DATASET.manifest),
        uri=TRACKING["uri"],
        experiment=TRACKING["experiment"],
    conda:
        "../envs/musicfusion.yaml"
    script:
        "../scripts/track_assist.py"
